package spec

import (
	"encoding/json"
	"testing"
	"time"

	"webhooks/shared/contract"
)

// The stack's TTL is the contract's default, in the form the environment carries.
func TestDefaultEventTTLIsTheContracts(t *testing.T) {
	d, err := time.ParseDuration(DefaultEventTTL)
	if err != nil || d != contract.DefaultEventTTL || d < contract.MinEventTTL {
		t.Errorf("DefaultEventTTL %q = %v (%v), want %v", DefaultEventTTL, d, err, contract.DefaultEventTTL)
	}
}

// The example consumer's timeout fits six times in the queues' visibility
// (Lambda refuses a mapping whose function outlives the visibility; AWS
// advises six times), and its idempotency lease is shorter than the visibility.
func TestConsumerFitsTheQueue(t *testing.T) {
	if ConsumerTimeout*6 > Queue.VisibilityTimeout {
		t.Errorf("consumer timeout %s × 6 > visibility %s", ConsumerTimeout, Queue.VisibilityTimeout)
	}
}

// A redrive policy names its dead-letter queue and the receive count, as SQS
// returns it.
func TestRedrivePolicy(t *testing.T) {
	var p struct {
		Target string `json:"deadLetterTargetArn"`
		Count  int    `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(RedrivePolicy("arn:aws:sqs:us-east-1:1:q-dlq.fifo")), &p); err != nil || p.Target != "arn:aws:sqs:us-east-1:1:q-dlq.fifo" || p.Count != MaxReceiveCount {
		t.Errorf("%+v %v", p, err)
	}
	a := Queue.Attributes()
	if a["VisibilityTimeout"] != "60" || a["MessageRetentionPeriod"] != "604800" || a["FifoQueue"] != "true" || a["DeduplicationScope"] != "messageGroup" {
		t.Errorf("%v", a)
	}
}

// The default runs are the stack's documented ones.
func TestDefaultRuns(t *testing.T) {
	for run, want := range map[*RedriveRun]string{
		&DefaultRedrive:      `{"redrive":{"olderThan":"5m"}}`,
		&DefaultRedriveSweep: `{"redrive":{"olderThan":"15m","sweep":true}}`,
	} {
		b, _ := json.Marshal(run.Command())
		if string(b) != want || run.Schedule.Interval <= 0 {
			t.Errorf("%s every %s, want %s", b, run.Schedule.Interval, want)
		}
	}
}
