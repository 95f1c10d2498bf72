// Package kits is the tooling's provider table: every provider's kit (its
// samples, signing and in-process handler, internal/devkit/<p>dev), in the
// order of the shipped table (shared/providers), which a test checks. The
// local run, the operator tools, the load and soak tests and the reports read
// it; nothing deployed does.
//
// Adding a provider is one entry here and one in shared/providers
// (docs/ADDING_A_PROVIDER.md).
package kits

import (
	"webhooks/internal/devkit"
	"webhooks/internal/devkit/alchemypaydev"
	"webhooks/internal/devkit/apigiftdev"
	"webhooks/internal/devkit/oslpaydev"
	"webhooks/internal/devkit/tikidev"
)

// All lists every provider's kit, in report order.
var All = []devkit.Kit{
	tikidev.Kit,
	apigiftdev.Kit,
	alchemypaydev.Kit,
	oslpaydev.Kit,
}

// Names lists the provider names, in report order.
func Names() []string { return devkit.Names(All) }

// Get returns a provider's kit, or an error naming the known providers.
func Get(name string) (devkit.Kit, error) { return devkit.Find(All, name) }
