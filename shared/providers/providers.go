// Package providers is the provider table: every provider the product
// receives webhooks from, in report order, each described by its own folder
// (shared/providers/<p>: its contract and pipeline; shared/providers/<p>/<p>dev:
// its samples, signing and tooling). The CDK stack, the local run and the
// tools read this table; a function imports only its own provider.
//
// Adding a provider is one import and one entry here (docs/ADDING_A_PROVIDER.md).
package providers

import (
	"webhooks/internal/devkit"
	"webhooks/shared/contract"
	"webhooks/shared/providers/alchemypay/alchemypaydev"
	"webhooks/shared/providers/apigift/apigiftdev"
	"webhooks/shared/providers/oslpay/oslpaydev"
	"webhooks/shared/providers/tiki/tikidev"
)

// All lists every provider's kit, in report order.
var All = []devkit.Kit{
	tikidev.Kit,
	apigiftdev.Kit,
	alchemypaydev.Kit,
	oslpaydev.Kit,
}

// Contracts lists every provider's part of the contract, in report order.
func Contracts() []contract.Provider {
	out := make([]contract.Provider, len(All))
	for i, k := range All {
		out[i] = k.Provider
	}
	return out
}

// Names lists the provider names, in report order.
func Names() []string { return devkit.Names(All) }

// Get returns a provider's kit, or an error naming the known providers.
func Get(name string) (devkit.Kit, error) { return devkit.Find(All, name) }
