package alchemypay

import "webhooks/shared/contract"

// Contract is Alchemy Pay's part of the public contract.
var Contract = contract.Provider{
	Name:       Name,
	Title:      "AlchemyPay",
	Routes:     []string{contract.RoutePrefix + Name + "/{" + TokenParam + "}"},
	URLHint:    "{token} is the secret's urlToken",
	EventTypes: []string{TypeCardOrder},
}
