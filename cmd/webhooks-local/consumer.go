package main

// -consumer: the example consumer (examples/consumer) under the emulator,
// fed by a local SQS event source mapping on every provider queue.

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"webhooks/internal/localrun"
)

// startConsumer starts the example consumer from bin/consumer/bootstrap, with
// the CONSUMER_* variables of this environment (see examples/consumer).
func startConsumer(ctx context.Context, s *localrun.Stack, bin string, batch int, idempotency bool,
	logf func(string, ...any), logFile func(name string) io.Writer) (*localrun.Consumer, error) {
	if batch < 1 || batch > localrun.DefaultBatchSize {
		return nil, fmt.Errorf("-consumer-batch %d: want 1 to %d", batch, localrun.DefaultBatchSize)
	}
	binary := filepath.Join(bin, localrun.ConsumerName, "bootstrap")
	if _, err := os.Stat(binary); err != nil {
		return nil, fmt.Errorf("no binary at %s (make run-bin builds it from examples/%s)", binary, localrun.ConsumerName)
	}
	// The stack's environment for the example (infra/stack consumer.go): its replays setting
	// and, with idempotency, its own table of handled event ids; CONSUMER_* variables of
	// this environment override them.
	table := ""
	if idempotency {
		table = s.ConsumerTable()
	}
	env := localrun.ConsumerEnv(table)
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "CONSUMER_") {
			env[k] = v
		}
	}
	return s.StartConsumer(ctx, localrun.ConsumerOptions{
		Binary:           binary,
		Env:              env,
		BatchSize:        int32(batch),
		IdempotencyTable: table,
		Output:           logFile(localrun.ConsumerName),
		Print:            func(line string) { logf("%s", line) },
		Logf:             logf,
	})
}

func printConsumerBanner(w io.Writer, c *localrun.Consumer, logDir string) {
	fmt.Fprintf(w, "\nExample consumer (examples/consumer) under the emulator (pid %v), an event source mapping on each queue:\n", c.Function.EmulatorPids())
	seen := map[string]bool{}
	for _, p := range c.Pollers {
		if !seen[p.ARN()] {
			seen[p.ARN()] = true
			fmt.Fprintf(w, "  %s\n", p.ARN())
		}
	}
	fmt.Fprintf(w, "batch size %d, ReportBatchItemFailures: what the consumer reports failed stays on its queue until its visibility timeout,\n", c.BatchSize())
	fmt.Fprintln(w, "and moves to the dead-letter queue after 5 receives. One line per record: consumed or failed, event type, event id,")
	fmt.Fprintf(w, "message group, SQS message id, receive count. The consumer's own log: %s/%s.log (or run with -v)\n", logDir, localrun.ConsumerName)
}

// waitConsumed waits until the consumer has received every message on the
// queues: none is visible, and every one in flight is one it failed (left to
// its visibility timeout), up to limit. It prints the counts.
func waitConsumed(ctx context.Context, w io.Writer, s *localrun.Stack, c *localrun.Consumer, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for {
		visible, inFlight := 0, 0
		for _, name := range s.Running() {
			a, err := s.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(s.Providers[name].QueueURL),
				AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
			if err != nil {
				fmt.Fprintf(w, "  %s: %v\n", name, err)
				return false
			}
			var n, m int
			fmt.Sscan(a.Attributes["ApproximateNumberOfMessages"], &n)
			fmt.Sscan(a.Attributes["ApproximateNumberOfMessagesNotVisible"], &m)
			visible, inFlight = visible+n, inFlight+m
		}
		consumed, failed := c.Counts()
		if visible == 0 && inFlight == failed {
			fmt.Fprintf(w, "\nThe example consumer consumed %d message(s) and failed %d (their lines above); a failed one is received again after\n", consumed, failed)
			fmt.Fprintln(w, "its queue's visibility timeout (30 s) and moves to the dead-letter queue after 5 receives.")
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			fmt.Fprintf(w, "\nThe example consumer has not received every message after %s: %d visible, %d in flight\n", limit, visible, inFlight)
			return false
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}
