package stack

// Provider describes one webhook receiver: its name (as used in routes, the asset directory
// and the `provider` metric dimension), the CamelCase name used for construct ids, logical ids
// and outputs, and its HTTP API routes (all POST).
type Provider struct {
	Name   string
	Title  string
	Routes []string
	// URLPlaceholders documents the path parameters left as placeholders in the WebhookUrl output.
	URLPlaceholders string
}

// Providers is the contract's route table (DESIGN.md, "Routes").
var Providers = []Provider{
	{
		Name:            "tiki",
		Title:           "Tiki",
		Routes:          []string{"/webhooks/tiki/{kind}"},
		URLPlaceholders: "{kind} is order, stock or aftersale; register one URL per kind",
	},
	{
		Name:            "apigift",
		Title:           "ApiGift",
		Routes:          []string{"/webhooks/apigift/{token}", "/webhooks/apigift/{token}/{event}"},
		URLPlaceholders: "{token} is the secret's urlToken; /{event} (an event slug) may be appended",
	},
	{
		Name:            "alchemypay",
		Title:           "AlchemyPay",
		Routes:          []string{"/webhooks/alchemypay/{token}"},
		URLPlaceholders: "{token} is the secret's urlToken",
	},
	{
		Name:            "oslpay",
		Title:           "OslPay",
		Routes:          []string{"/webhooks/oslpay"},
		URLPlaceholders: "no placeholder",
	},
}

// ProviderNames lists the provider names in route-table order.
func ProviderNames() []string {
	out := make([]string, len(Providers))
	for i, p := range Providers {
		out[i] = p.Name
	}
	return out
}

// Outcomes are the values of the `outcome` dimension of the functions' EMF metrics.
var Outcomes = []string{"accepted", "duplicate", "rejected", "quarantined", "failed"}

// Function environment variables (DESIGN.md, "Function configuration").
const (
	EnvTable            = "WEBHOOKS_TABLE"
	EnvQueueURL         = "WEBHOOKS_QUEUE_URL"
	EnvSecretID         = "WEBHOOKS_SECRET_ID"
	EnvEventTTL         = "WEBHOOKS_EVENT_TTL"
	EnvMetricsNamespace = "WEBHOOKS_METRICS_NAMESPACE"
)

// EMF metric names the functions emit.
const (
	MetricWebhooks = "Webhooks"
	MetricLatency  = "Latency"
)

// SecretPlaceholder is the initial value of every provider secret. The functions treat it as a
// configuration error (5xx), so providers keep retrying until the operator sets the real value
// with `aws secretsmanager put-secret-value`. Keep it constant: a changed value would make
// CloudFormation overwrite the operator's secret on the next deploy.
const SecretPlaceholder = `{"placeholder": "set with aws secretsmanager put-secret-value"}`
