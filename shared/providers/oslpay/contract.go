package oslpay

import "webhooks/shared/contract"

// Contract is OSL Pay's part of the public contract. Unknown notification
// types pass as "oslpay.<type>" besides the types listed here.
var Contract = contract.Provider{
	Name:       Name,
	Title:      "OslPay",
	Routes:     []string{contract.RoutePrefix + Name},
	URLHint:    "no placeholder",
	EventTypes: []string{TypeOrderStatus, TypeKYCStatus, TypeDefiAccountBind, TypeDefiAccountAuth},
}
