// Command consumer is an example consumer of the webhook queues: a Lambda
// function for an SQS event source mapping with ReportBatchItemFailures,
// built on package webhooks/consumer. It logs one JSON line per event it
// handles (id, type, subject, group, replay, and the event's status; never
// its data, which can hold personal data and decrypted goods).
//
// Environment (all optional):
//
//	CONSUMER_IDEMPOTENCY_TABLE  DynamoDB table (partition key "pk", TTL on
//	                            "expires_at"): handle each event id once
//	CONSUMER_IDEMPOTENCY_TTL    how long a handled id is remembered (Go duration, default 720h)
//	CONSUMER_IDEMPOTENCY_LEASE  how long a claim keeps other deliveries out (default 50s: more
//	                            than the function's timeout, less than the queue's visibility timeout)
//	CONSUMER_REPLAYS            deduplicate (default), reprocess or ignore
//	CONSUMER_GROUPS             message groups handled at once per batch (default 1)
//
// A record that is not a valid CloudEvent of a known type fails, and so does
// every later record of its message group in the batch; other groups go on.
// See docs/CONSUMERS.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"webhooks/consumer"

	"webhooks/infra/spec"
)

// Environment variables.
const (
	EnvIdempotencyTable = spec.EnvConsumerIdempotencyTable
	EnvIdempotencyTTL   = "CONSUMER_IDEMPOTENCY_TTL"
	EnvIdempotencyLease = "CONSUMER_IDEMPOTENCY_LEASE"
	EnvReplays          = spec.EnvConsumerReplays
	EnvGroups           = "CONSUMER_GROUPS"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	h, err := newHandler(context.Background(), os.Getenv, logger)
	if err != nil {
		logger.Error("startup failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.HandleBatch)
}

// newHandler builds the handler from the environment.
func newHandler(ctx context.Context, getenv func(string) string, logger *slog.Logger) (*consumer.Handler, error) {
	var problems []string
	replays, err := consumer.ParseReplayPolicy(strings.TrimSpace(getenv(EnvReplays)))
	if err != nil {
		problems = append(problems, fmt.Sprintf("%s: %v", EnvReplays, err))
	}
	groups := 1
	if v := strings.TrimSpace(getenv(EnvGroups)); v != "" {
		if groups, err = strconv.Atoi(v); err != nil || groups < 1 || groups > 10 {
			problems = append(problems, fmt.Sprintf("%s=%q: want a whole number from 1 to 10", EnvGroups, v))
		}
	}
	ttl := consumer.DefaultTTL
	if v := strings.TrimSpace(getenv(EnvIdempotencyTTL)); v != "" {
		if ttl, err = time.ParseDuration(v); err != nil || ttl < time.Hour {
			problems = append(problems, fmt.Sprintf("%s=%q: want a Go duration of at least 1h", EnvIdempotencyTTL, v))
		}
	}
	lease := consumer.DefaultLease
	if v := strings.TrimSpace(getenv(EnvIdempotencyLease)); v != "" {
		if lease, err = time.ParseDuration(v); err != nil || lease < time.Second || lease > 12*time.Hour {
			problems = append(problems, fmt.Sprintf("%s=%q: want a Go duration from 1s to 12h", EnvIdempotencyLease, v))
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	h := &consumer.Handler{Handle: handle(logger), Replays: replays, Groups: groups, Logger: logger}
	if table := strings.TrimSpace(getenv(EnvIdempotencyTable)); table != "" {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("AWS configuration: %w", err)
		}
		h.Idempotency = &consumer.Idempotency{
			Store: &consumer.DynamoDBStore{Client: dynamodb.NewFromConfig(cfg), Table: table, Prefix: "event#"},
			TTL:   ttl,
			Lease: lease,
		}
	}
	return h, nil
}

// handle is what this example does with an event: it logs it. Replace it
// with the team's own work; return an error to have the event retried.
func handle(logger *slog.Logger) consumer.HandlerFunc {
	return func(ctx context.Context, m *consumer.Message) error {
		attrs := []any{
			// Subjects and groups are provider ids kept as sent: LogSafe
			// masks a card number one could hold.
			"id", m.Event.ID, "type", m.Event.Type, "subject", consumer.LogSafe(m.Event.Subject),
			"group", consumer.LogSafe(m.GroupID), "eventTime", m.Event.Time, "status", m.Summary(),
		}
		if m.Event.IsReplay() {
			attrs = append(attrs, "replayid", m.Event.ReplayID)
		}
		if m.ReceiveCount > 1 {
			attrs = append(attrs, "receiveCount", m.ReceiveCount)
		}
		logger.InfoContext(ctx, "handled", attrs...)
		return nil
	}
}
