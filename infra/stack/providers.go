package stack

import (
	"webhooks/shared/contract"
	"webhooks/shared/providers"
)

// Provider is one webhook receiver's part of the contract: its name (as used
// in routes, the asset directory and the `provider` metric dimension), the
// CamelCase name used for construct ids, logical ids and outputs, and its HTTP
// API routes (all POST).
type Provider = contract.Provider

// Providers is the provider table (shared/providers), in report order.
var Providers = providers.Contracts()

// ProviderNames lists the provider names in route-table order.
func ProviderNames() []string { return providers.Names() }

// Outcomes are the values of the `outcome` dimension of the functions' EMF metrics.
var Outcomes = func() []string {
	out := make([]string, len(contract.Outcomes))
	for i, o := range contract.Outcomes {
		out[i] = string(o)
	}
	return out
}()

// Function environment variables (the contract's function configuration).
const (
	EnvTable            = contract.EnvTable
	EnvQueueURL         = contract.EnvQueueURL
	EnvSecretID         = contract.EnvSecretID
	EnvEventTTL         = contract.EnvEventTTL
	EnvMetricsNamespace = contract.EnvMetricsNamespace
)

// EMF metric names the functions emit.
const (
	MetricWebhooks = contract.MetricWebhooks
	MetricLatency  = contract.MetricLatency
)

// SecretPlaceholder is the initial value of every provider secret. The functions treat it as a
// configuration error (5xx), so providers keep retrying until the operator sets the real value
// with `aws secretsmanager put-secret-value`. Keep it constant: a changed value would make
// CloudFormation overwrite the operator's secret on the next deploy.
const SecretPlaceholder = `{"placeholder": "set with aws secretsmanager put-secret-value"}`
