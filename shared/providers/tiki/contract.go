package tiki

import "webhooks/shared/contract"

// Contract is Tiki's part of the public contract.
var Contract = contract.Provider{
	Name:       Name,
	Title:      "Tiki",
	Routes:     []string{contract.RoutePrefix + Name + "/{kind}"},
	URLHint:    "{kind} is order, stock or aftersale; register one URL per kind",
	EventTypes: []string{TypeOrder, TypeStock, TypeAftersale},
}
