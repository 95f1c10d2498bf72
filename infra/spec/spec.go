// Package spec holds every resource setting the stack deploys and the local
// run reproduces: queue and dead-letter queue attributes, the table's keys and
// index, each function's sizing and environment, the scheduled redrive runs
// and the example consumer's event source mapping. infra/stack builds the CDK
// resources from these values, and the local run (internal/localrun, through
// internal/awskit) creates its resources and runs its functions from the same
// values, so nothing is typed twice; infra/stack's parity test compares the
// synthesised template with what the local run creates, attribute by attribute.
//
// No CDK here: the local run and the tests import this package without paying
// for the CDK's build.
package spec

import (
	"fmt"
	"strconv"
	"time"

	"webhooks/shared/contract"
)

// QueueSettings are the attributes of one FIFO queue, as SQS names them.
type QueueSettings struct {
	// VisibilityTimeout: a consumer sees a message again after this long without deleting it.
	VisibilityTimeout time.Duration
	// Retention: how long SQS keeps an unconsumed message.
	Retention time.Duration
	// MaxMessageBytes is MaximumMessageSize.
	MaxMessageBytes int
	// DeduplicationScope and FifoThroughputLimit: high-throughput FIFO, per message group.
	DeduplicationScope  string
	FifoThroughputLimit string
	// ContentBasedDeduplication: false, the functions set MessageDeduplicationId.
	ContentBasedDeduplication bool
}

// The queue settings.
var (
	// Queue is each provider's queue. A week of retention gives consumers room for a long
	// outage (the table keeps each event for WEBHOOKS_EVENT_TTL in any case); 60 s of
	// visibility is six times the example consumer's timeout, as AWS advises for an event
	// source mapping. The largest message SQS takes (1 MiB), set explicitly so that a queue
	// created before SQS raised its default (256 KiB) is raised too: an event enveloped for
	// the queue may be larger than the body it came in (goods decrypted for the queue), and a
	// message the queue refuses is quarantined instead of queued. De-duplication and
	// throughput per message group (one entity), so one busy order never slows the others.
	Queue = QueueSettings{
		VisibilityTimeout:   60 * time.Second,
		Retention:           7 * 24 * time.Hour,
		MaxMessageBytes:     1 << 20,
		DeduplicationScope:  "messageGroup",
		FifoThroughputLimit: "perMessageGroupId",
	}
	// DeadLetterQueue is the queue's twin (a message moved there keeps its size and group)
	// that keeps what consumers failed for the most SQS allows (14 days).
	DeadLetterQueue = func() QueueSettings {
		q := Queue
		q.Retention = 14 * 24 * time.Hour
		return q
	}()
)

// MaxReceiveCount: a message a consumer fails to process this many times goes to
// the dead-letter queue.
const MaxReceiveCount = 5

// Attributes are the CreateQueue attributes of q (without a redrive policy):
// what SQS's GetQueueAttributes returns for them.
func (q QueueSettings) Attributes() map[string]string {
	return map[string]string{
		"FifoQueue":                 "true",
		"VisibilityTimeout":         strconv.Itoa(int(q.VisibilityTimeout / time.Second)),
		"MessageRetentionPeriod":    strconv.Itoa(int(q.Retention / time.Second)),
		"MaximumMessageSize":        strconv.Itoa(q.MaxMessageBytes),
		"DeduplicationScope":        q.DeduplicationScope,
		"FifoThroughputLimit":       q.FifoThroughputLimit,
		"ContentBasedDeduplication": strconv.FormatBool(q.ContentBasedDeduplication),
	}
}

// RedrivePolicy is a queue's RedrivePolicy attribute naming its dead-letter queue.
func RedrivePolicy(deadLetterARN string) string {
	return fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%d}`, deadLetterARN, MaxReceiveCount)
}

// The event table (DESIGN.md, "Table"): string keys pk and sk, TTL on
// expires_at, and a sparse index of quarantined items (keys quarantine_pk and
// received_at, every attribute projected), billed on demand.
var Table = TableSettings{
	PartitionKey: contract.TablePartitionKey,
	SortKey:      contract.TableSortKey,
	TTLAttribute: contract.TableTTLAttribute,
	Indexes: []IndexSettings{{
		Name:         contract.QuarantineIndex,
		PartitionKey: contract.QuarantineIndexKey,
		SortKey:      contract.QuarantineIndexRange,
		Projection:   "ALL",
	}},
	OnDemand: true,
}

// IdempotencyTable is the example consumer's table of handled event ids: a
// string partition key pk, TTL on expires_at, on demand.
var IdempotencyTable = TableSettings{
	PartitionKey: contract.TablePartitionKey,
	TTLAttribute: contract.TableTTLAttribute,
	OnDemand:     true,
}

// TableSettings describe a DynamoDB table; every key attribute is a string.
type TableSettings struct {
	PartitionKey, SortKey string // SortKey "" for none
	TTLAttribute          string
	Indexes               []IndexSettings
	OnDemand              bool // PAY_PER_REQUEST
}

// IndexSettings describe a global secondary index.
type IndexSettings struct {
	Name                  string
	PartitionKey, SortKey string
	Projection            string // "ALL", "KEYS_ONLY"
}

// Function sizing of each webhook receiver.
const (
	// 256 MB: Lambda allocates CPU in proportion to memory, and a request does CPU work
	// (HMAC/RSA verification, AES decryption, JSON) plus three or four AWS calls; 256 MB
	// roughly halves cold start and p99 against 128 MB for a Go binary, at a cost that is still
	// negligible at webhook volumes. The resident set of the binary is well under 64 MB.
	FunctionMemoryMB = 256
	// 60 s, for the operator commands: a replay or a sweep scans the table, and a redrive sends
	// what it finds. A webhook does not depend on it: it bounds itself to 8 s
	// (pipeline.RequestBudget), well under the HTTP API's 30 s integration limit, so the
	// provider gets the function's own 5xx answer and retries instead of a gateway timeout.
	FunctionTimeout = 60 * time.Second
)

// The stage and what it names.
const (
	DefaultStage = "dev"
	// DefaultEventTTL is WEBHOOKS_EVENT_TTL as the stack sets it: contract.DefaultEventTTL.
	DefaultEventTTL = "720h"
)

// MetricsNamespace is the EMF namespace the functions of a stage emit in, and
// the one its alarms and dashboard read.
func MetricsNamespace(stage string) string { return contract.MetricsNamespace + "/" + stage }

// FunctionEnvironment is a receiver's environment: the contract's names, with
// the stage's table, queue and secret.
func FunctionEnvironment(table, queueURL, secretID, eventTTL, metricsNamespace string) map[string]string {
	return map[string]string{
		contract.EnvTable:            table,
		contract.EnvQueueURL:         queueURL,
		contract.EnvSecretID:         secretID,
		contract.EnvEventTTL:         eventTTL,
		contract.EnvMetricsNamespace: metricsNamespace,
	}
}

// The default scheduled runs of every receiver (schedule.go): every 5 minutes
// the unsent markers, every day the sweep.
const (
	DefaultRedriveSchedule       = "rate(5 minutes)"
	DefaultRedriveOlderThan      = "5m"
	DefaultRedriveSweepSchedule  = "rate(1 day)"
	DefaultRedriveSweepOlderThan = "15m"
)

// The example consumer (examples/consumer) and its event source mappings.
const (
	// ConsumerTimeout: the queues' visibility timeout must be at least the function's
	// timeout (Lambda refuses the event source mapping otherwise), and AWS advises six times
	// it, so that a batch retried after throttling or a slow invocation is not received again
	// while still being handled: 60 s / 6 = 10 s, ample for at most 10 records.
	ConsumerTimeout = 10 * time.Second
	// 128 MB: the example decodes JSON and logs; a handler doing real work may want more.
	ConsumerMemoryMB = 128
	// The mappings: one record per batch (a poison message's group stays out of the
	// dead-letter queue, docs/CONSUMERS.md), two concurrent invocations per queue (the
	// least Lambda's ScalingConfig takes), ReportBatchItemFailures.
	DefaultConsumerBatchSize      = 1
	DefaultConsumerMaxConcurrency = 2
	// The example's idempotency is on by default: a table of handled event ids.
	DefaultConsumerIdempotency = true
	DefaultConsumerReplays     = "deduplicate"
)

// The example consumer's environment names (examples/consumer/main.go reads them).
const (
	EnvConsumerIdempotencyTable = "CONSUMER_IDEMPOTENCY_TABLE"
	EnvConsumerReplays          = "CONSUMER_REPLAYS"
)

// LiveAlias is the alias every webhook function is served through: the API's
// routes, the redrive schedules and operators invoke it; a deploy shifts it
// (infra/stack deploy.go).
const LiveAlias = "live"
