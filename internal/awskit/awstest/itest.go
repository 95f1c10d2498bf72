// Package awstest is awskit's test kit for a real AWS API: the helpers that
// take a testing.TB. Its Main starts moto_server on a free loopback port for
// a test binary; NewStack creates the contract's resources (table, FIFO
// queues, secrets) and Handler runs provider handlers against them the way
// Lambda runs them: configuration from the contract's environment, events
// passed as the JSON Lambda would send. Only tests import it; the tools that
// run (the local run, webhookctl, the soak, perfreport) use awskit, which
// does not link the testing package.
package awstest

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"webhooks/internal/awskit"
	"webhooks/internal/devkit"
	"webhooks/shared/contract"
	"webhooks/shared/eventstore"
	"webhooks/shared/lambdamain"
	"webhooks/shared/pipeline"
)

var (
	server     *awskit.Server
	skipReason string
)

// Main is a test binary's TestMain: it starts moto_server on a free loopback
// port, points the AWS SDK's standard configuration at it, runs the tests and
// stops the server. Without moto_server, integration tests skip with a reason
// (CI=true: the run fails instead).
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if !testing.Short() || os.Getenv("CI") == "true" {
		s, reason, err := awskit.MotoForTests()
		if err != nil {
			fmt.Fprintln(os.Stderr, "itest:", err)
			return 1
		}
		server, skipReason = s, reason
	} else {
		skipReason = "integration tests skipped in -short mode"
	}
	if server != nil {
		defer server.Stop()
		for k, v := range server.Env() {
			os.Setenv(k, v)
		}
	}
	return m.Run()
}

// Stack is one test's fresh table, queue and secret.
type Stack struct {
	AWS      *awskit.Env
	Table    string
	Queue    awskit.Queue
	SecretID string
	Env      lambdamain.Env
	Logs     *awskit.SyncBuffer
}

// NewStack creates fresh resources for one test, with secret as the secret's
// AWSCURRENT value (none when empty). It skips the test without moto_server.
func NewStack(t testing.TB, provider, secret string) *Stack {
	t.Helper()
	if server == nil {
		t.Skip(skipReason)
	}
	ctx := context.Background()
	env, err := awskit.NewEnv(ctx, server.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	name := awskit.Unique(strings.ReplaceAll(t.Name(), "/", "-"))
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	name = strings.TrimLeft(name, "-_")
	s := &Stack{AWS: env, Table: name, SecretID: provider + "/" + name, Logs: &awskit.SyncBuffer{}}
	if err := env.CreateTable(ctx, s.Table); err != nil {
		t.Fatal(err)
	}
	if s.Queue, err = env.CreateQueue(ctx, name); err != nil {
		t.Fatal(err)
	}
	if secret != "" {
		if _, err := env.PutSecret(ctx, s.SecretID, secret); err != nil {
			t.Fatal(err)
		}
	}
	s.Env, err = lambdamain.LoadEnv(func(k string) string {
		return map[string]string{
			contract.EnvTable: s.Table, contract.EnvQueueURL: s.Queue.URL, contract.EnvSecretID: s.SecretID,
			contract.EnvEventTTL: "720h",
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Handler builds the provider's handler exactly as its Lambda main does.
func Handler[C any](t testing.TB, s *Stack, p pipeline.Provider[C]) *pipeline.Handler[C] {
	t.Helper()
	log := lambdamain.NewLogger(s.Logs)
	h, err := lambdamain.NewHandler(context.Background(), p, s.Env, log, s.Logs)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Invoke sends ev through lambda's own handler wrapper, as the runtime would.
func Invoke(t testing.TB, h lambda.Handler, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	out, err := lambda.NewHandler(h).Invoke(context.Background(), raw)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	var res events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	return res
}

// Messages drains the stack's queue.
func (s *Stack) Messages(t testing.TB) []awskit.Message {
	t.Helper()
	msgs, err := s.AWS.Drain(context.Background(), s.Queue.URL)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// Items returns every item of the stack's table.
func (s *Stack) Items(t testing.TB) []map[string]ddb.AttributeValue {
	t.Helper()
	items, err := s.AWS.Items(context.Background(), s.Table)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// EventItems returns the table's event items (not replay guards, markers or
// cursors), by event id, each as EventView shows it.
func (s *Stack) EventItems(t testing.TB) map[string]map[string]ddb.AttributeValue {
	t.Helper()
	out := map[string]map[string]ddb.AttributeValue{}
	for _, it := range s.Items(t) {
		if id, view, ok := EventView(it); ok {
			out[id] = view
		}
	}
	return out
}

// CloudEvent decodes a message body.
func CloudEvent(t testing.TB, body string) map[string]any {
	t.Helper()
	var ce map[string]any
	if err := json.Unmarshal([]byte(body), &ce); err != nil {
		t.Fatalf("message body is not JSON: %v", err)
	}
	return ce
}

// ErrorCode extracts the stable error code of a {"success":false,"error":{...}} body.
func ErrorCode(t testing.TB, body string) string {
	t.Helper()
	var b struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatalf("error body is not JSON: %s", body)
	}
	return b.Error.Code
}

// Endpoint returns the test binary's moto_server endpoint, skipping the test
// when there is none.
func Endpoint(t testing.TB) string {
	t.Helper()
	if server == nil {
		t.Skip(skipReason)
	}
	return server.Endpoint
}

// DevSecret returns a provider's development secret from eventsDir's
// dev-secrets.json, and decodes it into into when into is not nil.
func DevSecret(t testing.TB, eventsDir, provider string, into any) string {
	t.Helper()
	dev, err := devkit.LoadDevSecrets(eventsDir)
	if err != nil {
		t.Fatal(err)
	}
	raw, ok := dev[provider]
	if !ok {
		t.Fatalf("dev-secrets.json has no %s secret", provider)
	}
	if into != nil {
		if err := json.Unmarshal(raw, into); err != nil {
			t.Fatalf("dev secret %s: %v", provider, err)
		}
	}
	return string(raw)
}

// Samples loads a provider's sample events, failing when there are fewer than min.
func Samples(t testing.TB, eventsDir, provider string, min int) []devkit.Sample {
	t.Helper()
	list, err := devkit.Load(eventsDir, provider)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) < min {
		t.Fatalf("only %d %s samples, want at least %d", len(list), provider, min)
	}
	return list
}

// SamplesByName is Samples keyed by sample name.
func SamplesByName(t testing.TB, eventsDir, provider string, min int) map[string]events.APIGatewayV2HTTPRequest {
	t.Helper()
	out := map[string]events.APIGatewayV2HTTPRequest{}
	for _, s := range Samples(t, eventsDir, provider, min) {
		out[s.Name] = s.Event
	}
	return out
}

// Decoded checks a provider's Decode result against what the pipeline relies
// on (fuzz targets): an error must be a *pipeline.Error, an event must pass
// Validate. It reports whether an event was decoded.
func Decoded(t testing.TB, ev *pipeline.Event, err error) bool {
	t.Helper()
	if err != nil {
		var pe *pipeline.Error
		if !errors.As(err, &pe) || pe.Status < 400 || pe.Status >= 500 {
			t.Fatalf("decode error is not a 4xx *pipeline.Error: %v", err)
		}
		return false
	}
	if err := ev.Validate(); err != nil {
		t.Fatalf("%v: %+v", err, ev)
	}
	return true
}

// MotoOrSkip starts a server for one test and stops it when the test ends.
// Without moto_server the test is skipped with the reason (on CI, where a
// missing tool must fail the run, it fails: awskit.MotoForTests).
func MotoOrSkip(t testing.TB) *awskit.Server {
	t.Helper()
	return MotoOrSkipWith(t, awskit.MotoOptions{})
}

// MotoOrSkipWith is MotoOrSkip with options (IAMEnforced, for example).
func MotoOrSkipWith(t testing.TB, opt awskit.MotoOptions) *awskit.Server {
	t.Helper()
	s, skip, err := awskit.MotoForTestsWith(opt)
	if err != nil {
		t.Fatalf("moto_server: %v", err)
	}
	if skip != "" {
		t.Skipf("needs moto_server: %s", skip)
	}
	t.Cleanup(s.Stop)
	return s
}

// EventView reads a stored event item as eventstore.Decode does (the one
// reading of the layout, either layout) and shows it under the names the
// tests ask for: status, reason, data, subject, type, message_id,
// data_sha256, verified_by and queued_at, and the index key quarantine_pk, the TTL
// expires_at and the flags deprecated and data_dropped as stored. ok is false for an item that is not an event.
func EventView(raw map[string]ddb.AttributeValue) (id string, view map[string]ddb.AttributeValue, ok bool) {
	it, err := eventstore.Decode(raw)
	if err != nil {
		return "", nil, false
	}
	view = map[string]ddb.AttributeValue{}
	for name, v := range map[string]string{"status": string(it.Status), "reason": it.Reason, "data": string(it.Data),
		"subject": it.Subject, "type": it.Type, "message_id": it.MessageID, "data_sha256": it.DataSHA256, "verified_by": it.VerifiedBy} {
		if v != "" {
			view[name] = &ddb.AttributeValueMemberS{Value: v}
		}
	}
	if !it.QueuedAt.IsZero() {
		view["queued_at"] = &ddb.AttributeValueMemberS{Value: eventstore.FormatTime(it.QueuedAt)}
	}
	for _, name := range []string{"quarantine_pk", "expires_at", "deprecated", "data_dropped"} {
		if v, ok := raw[name]; ok {
			view[name] = v
		}
	}
	return it.EventID, view, true
}
