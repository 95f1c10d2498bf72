package apigift

import "webhooks/shared/contract"

// Contract is APIGift's part of the public contract.
var Contract = contract.Provider{
	Name:    Name,
	Title:   "ApiGift",
	Routes:  []string{contract.RoutePrefix + Name + "/{token}", contract.RoutePrefix + Name + "/{token}/{event}"},
	URLHint: "{token} is the secret's urlToken; /{event} (an event slug) may be appended",
	EventTypes: []string{TypeSellReviewRequestCreated, TypeSupportTicketUpdated, TypeOrderInvoiceStatus,
		TypeProductStatus, TypeInventoryItemDelivered, TypeInventoryItemRefunded, TypeDepositStatus},
}
