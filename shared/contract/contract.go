// Package contract holds the names of the public contract (docs/CONTRACT.md)
// that more than one part of the product must spell the same way: routes,
// the function environment, metric names and outcomes, table keys and index
// names, queue message attributes and response headers. The functions, the
// CDK stack and the local tooling all import it, so a renamed name fails to
// compile instead of drifting. It depends on nothing but the standard library.
//
// Each provider describes itself with a Provider value in its own package;
// shared/providers lists them; internal/devkit/kits lists their tooling.
package contract

import (
	"strings"
	"time"
)

// Routes: every webhook route is POST /webhooks/<provider>[/...].
const (
	RouteMethod = "POST"
	RoutePrefix = "/webhooks/"
)

// Function environment.
const (
	EnvTable            = "WEBHOOKS_TABLE"             // DynamoDB table name (required)
	EnvQueueURL         = "WEBHOOKS_QUEUE_URL"         // the provider's FIFO queue URL (required)
	EnvSecretID         = "WEBHOOKS_SECRET_ID"         // Secrets Manager secret id or ARN (required)
	EnvEventTTL         = "WEBHOOKS_EVENT_TTL"         // Go duration, default DefaultEventTTL, at least MinEventTTL
	EnvMetricsNamespace = "WEBHOOKS_METRICS_NAMESPACE" // EMF namespace (optional, default MetricsNamespace)
)

// Operator commands: the top-level field of a direct invocation's payload.
const (
	CommandReprocess = "reprocess"
	CommandRedrive   = "redrive"
	CommandReplay    = "replay"
)

// Function error types: the "errorType" of Lambda's function-error reply
// {"errorMessage", "errorType"} to an operator command that was refused or
// failed. Stable: scripts and tools may match on them.
const (
	ErrorInvalidCommand = "InvalidCommand"     // not one valid command (not JSON, unknown command or field, bad value): nothing was done
	ErrorEventNotFound  = "EventNotFound"      // reprocess: the provider has no such event (never received, or expired)
	ErrorAlreadyQueued  = "AlreadyQueued"      // reprocess: the event is on the queue already: nothing to do
	ErrorDataNotKept    = "DataNotKept"        // reprocess: the quarantined event's data was too large to keep: it cannot be re-processed
	ErrorConfiguration  = "ConfigurationError" // the provider's secret is missing or invalid: fix it, then run the command again
	ErrorCommandFailed  = "CommandFailed"      // AWS failed or the function's time ran out: run it again (the function's log says why)
)

// FunctionErrorTypes lists them all.
var FunctionErrorTypes = []string{ErrorInvalidCommand, ErrorEventNotFound, ErrorAlreadyQueued, ErrorDataNotKept, ErrorConfiguration, ErrorCommandFailed}

// Stack outputs the operator tools read (CloudFormation DescribeStacks): the
// table's, and each provider's prefixed with its Title.
const (
	OutputTable              = "TableName"
	OutputFunctionName       = "FunctionName"       // <Title>FunctionName
	OutputQueueURL           = "QueueUrl"           // <Title>QueueUrl
	OutputDeadLetterQueueURL = "DeadLetterQueueUrl" // <Title>DeadLetterQueueUrl
)

// Event lifetime: how long stored events, and so de-duplication, last.
const (
	DefaultEventTTL = 720 * time.Hour
	MinEventTTL     = 48 * time.Hour // providers retry for up to 25 hours
)

// Secret fields every provider's secret may carry.
const (
	SecretPreviousVersionGraceHours = "previousVersionGraceHours"
	DefaultPreviousVersionGrace     = 48 * time.Hour
	MinURLTokenLength               = 24
)

// Metrics (CloudWatch Embedded Metric Format, written to stdout).
const (
	MetricsNamespace            = "Webhooks"              // default namespace
	MetricWebhooks              = "Webhooks"              // Count, by [provider, outcome] and [provider]
	MetricLatency               = "Latency"               // Milliseconds, same dimensions
	MetricPreviousSecretVersion = "PreviousSecretVersion" // Count, by [provider]: verified by AWSPREVIOUS
	// One redrive run, by [provider]: events found stored but not queued, sent
	// (and marked queued), and not sent (still stranded: the alarm's metric).
	MetricRedriveFound  = "RedriveFound"
	MetricRedriveSent   = "RedriveSent"
	MetricRedriveFailed = "RedriveFailed"
	// MetricRedriveMissing counts unsent markers whose event is gone from the
	// table (stored, never queued, deleted): an alarm.
	MetricRedriveMissing = "RedriveMissing"
	DimensionProvider    = "provider"
	DimensionOutcome     = "outcome"
)

// Outcome of one webhook: the outcome metric dimension and the
// X-Webhook-Outcome response header.
type Outcome string

// Outcomes.
const (
	Accepted    Outcome = "accepted"
	Duplicate   Outcome = "duplicate"
	Rejected    Outcome = "rejected"
	Quarantined Outcome = "quarantined"
	Failed      Outcome = "failed"
)

// Outcomes lists every outcome, in a stable order.
var Outcomes = []Outcome{Accepted, Duplicate, Rejected, Quarantined, Failed}

// Response headers of every webhook answer. No 4xx carries an event header.
const (
	HeaderOutcome   = "X-Webhook-Outcome"
	HeaderEventID   = "X-Webhook-Event-Id"
	HeaderEventType = "X-Webhook-Event-Type"
)

// Table: keys, TTL attribute and the sparse index of quarantined events.
const (
	TablePartitionKey    = "pk"
	TableSortKey         = "sk"
	TableTTLAttribute    = "expires_at"
	QuarantineIndex      = "by-quarantine"
	QuarantineIndexKey   = "quarantine_pk" // the index's partition key: the provider
	QuarantineIndexRange = "received_at"   // the index's sort key (projection: all)
	AttrReceivedAt       = "received_at"   // when an event was received (RFC 3339, ms)
)

// Queue messages: a CloudEvents 1.0 structured JSON event with these message
// attributes; MessageGroupId is the subject, MessageDeduplicationId the id.
const (
	CloudEventSpecVersion = "1.0"
	CloudEventSource      = "webhooks/" // + provider
	MessageAttrProvider   = "provider"
	MessageAttrType       = "type"
	// CloudEventReplayID is the CloudEvents extension attribute a replayed
	// message carries (the replay's id); an original message has none.
	CloudEventReplayID = "replayid"
)

// Provider is one webhook provider's part of the contract.
type Provider struct {
	// Name is the route segment, CloudEvents source suffix, metric dimension,
	// function folder (functions/<name>) and sample folder (events/<name>).
	Name string
	// Title is the CamelCase name of its cloud resources ("AcmePay").
	Title string
	// Routes are its HTTP API route paths (all POST).
	Routes []string
	// URLHint explains the path parameters of its webhook URL to an operator.
	URLHint string
	// EventTypes are the CloudEvents types it sends (besides any it derives).
	EventTypes []string
}

// Source is the CloudEvents source of the provider's events.
func (p Provider) Source() string { return CloudEventSource + p.Name }

// RouteKeys are the API Gateway route keys ("POST /webhooks/...").
func (p Provider) RouteKeys() []string {
	out := make([]string, len(p.Routes))
	for i, r := range p.Routes {
		out[i] = RouteMethod + " " + r
	}
	return out
}

// Path builds a concrete path of route (one of p.Routes) from params.
func Path(route string, params map[string]string) string {
	segs := strings.Split(route, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			segs[i] = params[s[1:len(s)-1]]
		}
	}
	return strings.Join(segs, "/")
}
