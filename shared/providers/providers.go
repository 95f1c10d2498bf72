// Package providers is the provider table: every provider the product
// receives webhooks from, in report order, each described by its part of the
// contract in its own folder (shared/providers/<p>). The CDK stack reads this
// table; the tooling's table of kits (internal/devkit/kits) follows its order;
// a function imports only its own provider.
//
// Adding a provider is one import and one entry here, and its kit's entry in
// internal/devkit/kits (docs/ADDING_A_PROVIDER.md).
package providers

import (
	"slices"

	"webhooks/shared/contract"
	"webhooks/shared/providers/alchemypay"
	"webhooks/shared/providers/apigift"
	"webhooks/shared/providers/oslpay"
	"webhooks/shared/providers/tiki"
)

// all lists every provider's part of the contract, in report order.
var all = []contract.Provider{
	tiki.Contract,
	apigift.Contract,
	alchemypay.Contract,
	oslpay.Contract,
}

// Contracts lists every provider's part of the contract, in report order.
func Contracts() []contract.Provider { return slices.Clone(all) }

// Names lists the provider names, in report order.
func Names() []string {
	out := make([]string, len(all))
	for i, p := range all {
		out[i] = p.Name
	}
	return out
}
