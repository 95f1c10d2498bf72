package capacity

import (
	"fmt"
	"strings"
)

// The limits, each with its value, its source and whether that source was
// read (Documented) or the value is assumed, what moves it and what warns
// first. The stack's own values (the stage throttle) are the stack's
// constants; a test reads them from infra/stack so the two cannot drift.

// Kind says what a limit counts, and so how a load's demand on it is computed.
type Kind int

const (
	KindRequests    Kind = iota + 1 // HTTP requests per second, the whole API
	KindConcurrency                 // concurrent executions, every function together
	KindScaling                     // new execution environments per scaling window, per function
	KindTableWrites                 // DynamoDB write units per second, the table
	KindPartition                   // write units per second (with reads) on one partition: a hot entity's states
	KindQueueSends                  // SendMessage per second, one provider's queue
	KindGroupSends                  // messages per second in one message group: one entity
	KindSecretCalls                 // GetSecretValue per second, the account
	KindKMS                         // KMS symmetric requests per second, the account
)

// Limit is one limit of AWS or of the stack.
type Limit struct {
	ID        string
	Component string
	Name      string
	Kind      Kind
	Value     float64
	Unit      string
	// Source is the page (or the stack's file) the value comes from;
	// Documented says it was read there, else the value is assumed.
	Source     string
	Documented bool
	Knob       string // what moves the limit
	// Alarms are the stack's alarms that warn of it, the first first; a test of infra/stack
	// finds each in the synthesised template.
	Alarms []Warning
	// ScalingPerWindow is Lambda's scaling rate (new environments per
	// window and function), for the limits whose demand depends on how fast
	// instances start (secret reads).
	ScalingPerWindow float64
}

// Warning is an alarm of the stack (infra/stack/monitoring.go, docs/DEPLOY.md section 8)
// and what it says of a limit.
type Warning struct {
	ID   string // the alarm's id, "<Provider>" standing for each provider's title
	Note string
}

// AlarmText is the limit's alarms as the report writes them: "ID (note), then ID (note)".
func (l Limit) AlarmText() string {
	parts := make([]string, len(l.Alarms))
	for i, w := range l.Alarms {
		parts[i] = w.ID + " (" + w.Note + ")"
	}
	return strings.Join(parts, ", then ")
}

// The stack's stage throttle (infra/stack/config.go DefaultRateLimit and
// DefaultBurstLimit); TestStageThrottleIsTheStacks reads them from there.
const (
	StageRateLimit  = 1000
	StageBurstLimit = 2000
)

// LambdaScalingPerWindow is Lambda's concurrency scaling rate: new execution
// environments per function per ScalingWindow.
const LambdaScalingPerWindow = 1000

// Pages the limits come from.
const (
	srcHTTPAPIThrottle = "https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html and the account quota raise, https://aws.amazon.com/about-aws/whats-new/2017/06/amazon-api-gateway-increases-account-level-throttle-limits-to-10000-requests-per-second-rps/"
	srcStage           = "infra/stack/config.go (DefaultRateLimit, DefaultBurstLimit; context apiRateLimit, apiBurstLimit)"
	srcLambdaConc      = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html"
	srcLambdaScaling   = "https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html"
	srcDDBOnDemand     = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html (initial throughput and scaling; table quota); https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/pre-warming-on-demand-capacity-mode.html"
	srcDDBPartition    = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html; a linear combination of reads and writes: https://repost.aws/knowledge-center/on-demand-table-throttling-dynamodb"
	srcSQSQuotas       = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html (high throughput for FIFO queues)"
	srcSecrets         = "https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html; https://aws.amazon.com/about-aws/whats-new/2025/03/aws-secrets-manager-increases-api-requests-seconds"
	srcKMS             = "https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html (Cryptographic operations (symmetric) request rate, shared; higher in some Regions)"
)

// The stack's alarm thresholds that the warnings name (infra/stack/monitoring.go
// APINearThrottlePercent, TableThrottledThreshold); infra/stack's
// TestCapacityWarningsQuoteTheAlarms holds them to the stack's.
const (
	NearThrottlePercent     = 80
	TableThrottledThreshold = 1
)

// What warns of each limit, the first first.
var (
	warn5xx       = Warning{"Api5xx", "the function answers 503 once the SDK's retries are spent, so the provider retries; the deployment alarms (failed outcome, per provider, each minute) see it first but page no one"}
	warnThrottles = []Warning{
		{"<Provider>FunctionThrottles", "one throttle in a period"},
		{"Api5xx", "API Gateway answers a throttled invocation with a 5xx"},
	}
	warnNearThrottle = []Warning{{"ApiNearThrottle", fmt.Sprintf("a minute at %d%% of the stage's rate, while every request is still served; past the limit API Gateway answers 429 before any function runs, and the providers retry", NearThrottlePercent)}}
	warnAccount      = []Warning{{"ApiNearThrottle", "for this API's own requests, when the stage's rate is raised near the account's; the account's other APIs share the limit unseen, and past it API Gateway answers 429, which the providers retry"}}
	warnTable        = []Warning{
		{"TableThrottled", fmt.Sprintf("%d throttled read or write in a period, which the SDK retried", TableThrottledThreshold)},
		{"Api5xx", "once the SDK's retries are spent: a 503 the provider retries"},
	}
	warnGroup = []Warning{warn5xx, {"<Provider>RedriveStranded", "if the redrive cannot send it either"}}
)

// Limits is every limit of the model.
var Limits = []Limit{
	{ID: "stage-throttle", Component: "API Gateway", Name: "the stage's throttle (rate; burst beside it)", Kind: KindRequests,
		Value: StageRateLimit, Unit: "requests/s", Source: srcStage, Documented: true,
		Knob: "context apiRateLimit and apiBurstLimit (cdk deploy -c ...)", Alarms: warnNearThrottle},
	{ID: "account-throttle", Component: "API Gateway", Name: "account throttle per Region, every API (burst beside it)", Kind: KindRequests,
		Value: 10000, Unit: "requests/s", Source: srcHTTPAPIThrottle, Documented: true,
		Knob: "a quota increase (AWS Support)", Alarms: warnAccount},
	{ID: "lambda-concurrency", Component: "Lambda", Name: "concurrent executions per Region, every function of the account", Kind: KindConcurrency,
		Value: 1000, Unit: "executions", Source: srcLambdaConc, Documented: true,
		Knob: "a quota increase; reserved concurrency per function (a floor and a cap) when other workloads share the pool", Alarms: warnThrottles},
	{ID: "lambda-scaling", Component: "Lambda", Name: "scaling rate: new execution environments per function per scaling window", Kind: KindScaling,
		Value: LambdaScalingPerWindow, Unit: "environments", Source: srcLambdaScaling, Documented: true,
		Knob: "provisioned concurrency before the sale (none today), or a ramp", Alarms: warnThrottles},
	{ID: "ddb-initial", Component: "DynamoDB", Name: "a new on-demand table's throughput (then twice its previous peak, within thirty minutes)", Kind: KindTableWrites,
		Value: 4000, Unit: "WRU/s", Source: srcDDBOnDemand, Documented: true,
		Knob: "pre-warm the table (warm throughput) before the sale, or drive the peak once a day ahead", Alarms: warnTable},
	{ID: "ddb-table", Component: "DynamoDB", Name: "table-level throughput quota of an on-demand table", Kind: KindTableWrites,
		Value: 40000, Unit: "WRU/s", Source: srcDDBOnDemand, Documented: true,
		Knob: "a quota increase (Service Quotas)", Alarms: warnTable},
	{ID: "ddb-partition", Component: "DynamoDB", Name: "one partition: a hot entity's states (Query, conditional put, queued mark)", Kind: KindPartition,
		Value: 1000, Unit: "WRU/s (with RRU)", Source: srcDDBPartition, Documented: true,
		Knob: "none in the stack: the design keeps an entity's states in one partition; the SDK's retries absorb short spikes", Alarms: warnTable},
	{ID: "sqs-queue", Component: "SQS FIFO", Name: "high-throughput mode, per queue and API action, without batching", Kind: KindQueueSends,
		Value: 70000, Unit: "SendMessage/s", Source: srcSQSQuotas, Documented: false,
		Knob: "a quota increase; the largest Regions have the highest default", Alarms: []Warning{warn5xx}},
	{ID: "sqs-group", Component: "SQS FIFO", Name: "one message group (one entity), high-throughput mode", Kind: KindGroupSends,
		Value: 300, Unit: "messages/s", Source: srcSQSQuotas, Documented: false,
		Knob: "none: fixed per group; the failed send leaves an unsent marker and the scheduled redrive sends it", Alarms: warnGroup},
	{ID: "secrets", Component: "Secrets Manager", Name: "GetSecretValue per Region (each instance reads once as it starts, then once per cache period)", Kind: KindSecretCalls,
		Value: 10000, Unit: "requests/s", Source: srcSecrets, Documented: true, ScalingPerWindow: LambdaScalingPerWindow,
		Knob: "the per-instance cache (secrets.DefaultTTL); provisioned concurrency spreads the reads", Alarms: []Warning{warn5xx}},
	{ID: "kms", Component: "KMS", Name: "symmetric cryptographic requests per Region, shared (a Decrypt per secret read with the stack's key)", Kind: KindKMS,
		Value: 10000, Unit: "requests/s", Source: srcKMS, Documented: true, ScalingPerWindow: LambdaScalingPerWindow,
		Knob: "a quota increase; the secret cache; SQS and DynamoDB reuse their data keys", Alarms: []Warning{warn5xx}},
}
