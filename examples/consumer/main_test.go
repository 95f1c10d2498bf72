package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"webhooks/consumer"
	"webhooks/internal/awskit/awstest"
)

func TestMain(m *testing.M) { awstest.Main(m) }

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// The environment: defaults, every valid value, and a clear message naming
// each invalid one.
func TestNewHandlerEnvironment(t *testing.T) {
	ctx := context.Background()
	h, err := newHandler(ctx, env(nil), quiet())
	if err != nil {
		t.Fatal(err)
	}
	if h.Groups != 1 || h.Replays != consumer.ReplayDeduplicate || h.Idempotency != nil || h.Handle == nil {
		t.Fatalf("defaults: %+v", h)
	}
	h, err = newHandler(ctx, env(map[string]string{EnvGroups: " 10 ", EnvReplays: "ignore", EnvIdempotencyTTL: "1h",
		EnvIdempotencyTable: "idem", "AWS_REGION": "us-east-1"}), quiet())
	if err != nil {
		t.Fatal(err)
	}
	if h.Groups != 10 || h.Replays != consumer.ReplayIgnore || h.Idempotency == nil || h.Idempotency.TTL.Hours() != 1 {
		t.Fatalf("set: %+v", h)
	}
	if s, ok := h.Idempotency.Store.(*consumer.DynamoDBStore); !ok || s.Table != "idem" {
		t.Fatalf("store %+v", h.Idempotency.Store)
	}
	for _, c := range []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{EnvGroups: "0"}, []string{`CONSUMER_GROUPS="0": want a whole number from 1 to 10`}},
		{map[string]string{EnvGroups: "11"}, []string{`CONSUMER_GROUPS="11"`}},
		{map[string]string{EnvGroups: "two"}, []string{`CONSUMER_GROUPS="two"`}},
		{map[string]string{EnvReplays: "skip"}, []string{`CONSUMER_REPLAYS: consumer: replay policy "skip": want deduplicate, reprocess or ignore`}},
		{map[string]string{EnvIdempotencyTTL: "30m"}, []string{`CONSUMER_IDEMPOTENCY_TTL="30m": want a Go duration of at least 1h`}},
		{map[string]string{EnvIdempotencyTTL: "a week"}, []string{`CONSUMER_IDEMPOTENCY_TTL="a week"`}},
		{map[string]string{EnvGroups: "-1", EnvReplays: "x", EnvIdempotencyTTL: "1"}, []string{"CONSUMER_GROUPS", "CONSUMER_REPLAYS", "CONSUMER_IDEMPOTENCY_TTL"}},
	} {
		_, err := newHandler(ctx, env(c.env), quiet())
		if err == nil {
			t.Errorf("%v: accepted", c.env)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %q does not say %q", c.env, err, w)
			}
		}
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
