package main

// The example consumer's real bootstrap, built for this machine, under the
// official Lambda emulator, fed the messages the real receivers put on their
// queues (every accepted sample of events/ through each provider's handler
// against moto, then the queues drained): batches mixing them with invalid
// records get exactly the batch item failures the guarantee says; the log
// has one "handled" line per handled record and no data value; with
// CONSUMER_IDEMPOTENCY_TABLE a second delivery is skipped and replays follow
// CONSUMER_REPLAYS; an invalid environment fails the function's init with a
// clear message.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"webhooks/consumer"
	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
	"webhooks/internal/devkit/kits"
	"webhooks/internal/localrun"
	"webhooks/schemas"
	"webhooks/shared/lambdamain"
)

const eventsDir = "../../events"

// queued is one message a receiver queued, as the event source mapping
// hands it to the function.
type queued struct {
	rec   events.SQSMessage
	typ   string
	group string
}

// receiverMessages sends every sample the contract expects accepted through
// each provider's real handler against moto and returns what the queues hold,
// in queue order.
func receiverMessages(t *testing.T) []queued {
	t.Helper()
	ctx := context.Background()
	var out []queued
	for _, kit := range kits.All {
		stack := awstest.NewStack(t, kit.Name, awstest.DevSecret(t, eventsDir, kit.Name, nil))
		h, err := kit.Handler(ctx, stack.Env, lambdamain.NewLogger(io.Discard), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range awstest.Samples(t, eventsDir, kit.Name, 1) {
			if s.ExpectAccepted() {
				if res := awstest.Invoke(t, h, s.Event); res.StatusCode != 200 {
					t.Fatalf("%s/%s: %d %s", kit.Name, s.Name, res.StatusCode, res.Body)
				}
			}
		}
		for _, m := range stack.Messages(t) {
			attrs := map[string]events.SQSMessageAttribute{}
			for k, v := range m.Attributes {
				attrs[k] = events.SQSMessageAttribute{DataType: "String", StringValue: &v}
			}
			out = append(out, queued{
				rec: events.SQSMessage{
					MessageId: m.MessageID, Body: m.Body, MessageAttributes: attrs, EventSource: "aws:sqs",
					Attributes: map[string]string{"MessageGroupId": m.GroupID, "MessageDeduplicationId": m.DeduplicationID, "ApproximateReceiveCount": "1"},
				},
				typ: m.Attributes["type"], group: m.GroupID,
			})
		}
	}
	return out
}

// checkReceiverMessages: every message of a documented type meets its schema
// and decodes; one of an undocumented OSL Pay type is refused as unknown.
func checkReceiverMessages(t *testing.T, msgs []queued) (known int) {
	t.Helper()
	compiled, err := schemas.Compile()
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, m := range msgs {
		_, err := consumer.Decode(m.rec)
		s, ok := compiled[m.typ]
		if !ok {
			if !errors.Is(err, consumer.ErrUnknownType) {
				t.Errorf("a message of the undocumented type %q: %v, want ErrUnknownType", m.typ, err)
			}
			continue
		}
		known++
		types[m.typ]++
		if err != nil {
			t.Errorf("Decode refuses a message the receivers sent: %v\n%s", err, m.rec.Body)
		}
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(m.rec.Body))
		if err == nil {
			err = s.Validate(inst)
		}
		if err != nil {
			t.Errorf("a message the receivers sent does not meet schemas/%s.json: %v", m.typ, err)
		}
	}
	if len(types) < 12 {
		t.Errorf("messages of only %d types: %v", len(types), types)
	}
	t.Logf("%d messages from the receivers (%d of documented types, %d types), all decode and meet their schemas", len(msgs), known, len(types))
	return known
}

// secretValues are values of the messages that must never reach a log: the
// decrypted goods, emails, card numbers (masked), free text.
func secretValues(t *testing.T, msgs []queued) []string {
	t.Helper()
	var out []string
	var leaves func(v any)
	leaves = func(v any) {
		switch v := v.(type) {
		case string:
			// A time is not a secret (a reply's createAt is the event's time).
			if _, err := time.Parse(time.RFC3339, v); len(v) >= 4 && err != nil {
				out = append(out, v)
			}
		case map[string]any:
			for _, c := range v {
				leaves(c)
			}
		case []any:
			for _, c := range v {
				leaves(c)
			}
		}
	}
	kinds := map[string]bool{}
	for _, m := range msgs {
		var ce struct {
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal([]byte(m.rec.Body), &ce); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"virtualCollections", "email", "cardNumber", "requestDescription", "newReply", "cryptoAddress", "address", "failReason", "reason"} {
			if v, ok := ce.Data[k]; ok {
				kinds[k] = true
				leaves(v)
			}
		}
	}
	for _, k := range []string{"virtualCollections", "email", "cardNumber"} {
		if !kinds[k] {
			t.Errorf("no message holds %s: the log check would prove nothing", k)
		}
	}
	return out
}

// fn is the example function running under the emulator.
type fn struct {
	*localrun.Function
	out *awskit.SyncBuffer
}

func startFunction(t *testing.T, bootstrap, emulator string, env map[string]string) *fn {
	t.Helper()
	out := &awskit.SyncBuffer{}
	f, err := localrun.StartFunction(context.Background(), localrun.FunctionConfig{
		Name: "consumer-example", Binary: bootstrap, Env: env, Emulator: emulator, Output: out, Timeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Stop)
	return &fn{Function: f, out: out}
}

// logLine is one JSON line the function wrote.
type logLine map[string]any

// invoke sends a batch and returns the batch item failures and the function's
// JSON log lines of this invocation (between its START and REPORT lines).
func (f *fn) invoke(t *testing.T, recs []events.SQSMessage) ([]string, []logLine) {
	t.Helper()
	payload, err := json.Marshal(events.SQSEvent{Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	body, rep, err := f.InvokeReport(context.Background(), payload)
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, f.out.String())
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("response %s: %v", body, err)
	}
	failures := []string{}
	for _, b := range resp.BatchItemFailures {
		failures = append(failures, b.ItemIdentifier)
	}
	// Every line the function wrote before it answered is in the output once
	// the emulator's REPORT line is.
	start, report := "START RequestId: "+rep.RequestID, "REPORT RequestId: "+rep.RequestID
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(f.out.String(), report) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q line in the output:\n%s", report, f.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	all := f.out.String()
	seg := all[strings.Index(all, start):strings.Index(all, report)]
	var lines []logLine
	for _, l := range strings.Split(seg, "\n") {
		var ll logLine
		if strings.HasPrefix(l, "{") && json.Unmarshal([]byte(l), &ll) == nil {
			lines = append(lines, ll)
		}
	}
	return failures, lines
}

func handledLines(lines []logLine) []logLine {
	var out []logLine
	for _, l := range lines {
		if l["msg"] == "handled" {
			out = append(out, l)
		}
	}
	return out
}

// record kinds of the mixed batches.
const (
	fromReceiver = iota
	notJSON
	unknownType
	attrMismatch
	missingData
)

type batchRecord struct {
	q    queued
	kind int
}

func (b batchRecord) valid() bool {
	return b.kind == fromReceiver && consumer.ProviderOf(b.q.typ) != ""
}

// want is the guarantee: per group, the records before the first failure are
// handled, the rest reported, in batch order.
func want(batch []batchRecord) (failures []string, handled []batchRecord) {
	failed := map[string]bool{}
	for _, b := range batch {
		switch {
		case failed[b.q.group]:
			failures = append(failures, b.q.rec.MessageId)
		case b.valid():
			handled = append(handled, b)
		default:
			failures = append(failures, b.q.rec.MessageId)
			failed[b.q.group] = true
		}
	}
	if failures == nil {
		failures = []string{}
	}
	return failures, handled
}

// mixed interleaves the receivers' messages, in queue order, with invalid
// records in their groups, and cuts them into batches of at most 10 (the
// event source mapping's limit for a FIFO queue).
func mixed(r *rand.Rand, msgs []queued) [][]batchRecord {
	var all []batchRecord
	n := 0
	for _, m := range msgs {
		all = append(all, batchRecord{q: m})
		if r.IntN(4) != 0 {
			continue
		}
		n++
		bad := m
		bad.rec.MessageId = fmt.Sprintf("invalid-%d", n)
		bad.rec.Attributes = map[string]string{"MessageGroupId": m.group, "ApproximateReceiveCount": "2"}
		kind := notJSON + r.IntN(4)
		switch kind {
		case notJSON:
			bad.rec.Body = m.rec.Body[:len(m.rec.Body)/2]
		case unknownType:
			bad.rec.Body = strings.Replace(m.rec.Body, `"type":"`, `"type":"x.`, 1)
			bad.rec.MessageAttributes = nil
		case attrMismatch:
			other := consumer.TypeTikiStock
			if m.typ == other {
				other = consumer.TypeTikiOrder
			}
			bad.rec.MessageAttributes = map[string]events.SQSMessageAttribute{"type": {DataType: "String", StringValue: &other}}
		case missingData:
			bad.rec.Body = m.rec.Body[:strings.Index(m.rec.Body, `,"data":`)] + "}"
		}
		// Before or after the message it copies, so it may hold that group's next records.
		if r.IntN(2) == 0 {
			all = slices.Insert(all, len(all)-1, batchRecord{q: bad, kind: kind})
		} else {
			all = append(all, batchRecord{q: bad, kind: kind})
		}
	}
	var out [][]batchRecord
	for len(all) > 0 {
		k := min(len(all), 1+r.IntN(10))
		out = append(out, all[:k])
		all = all[k:]
	}
	return out
}

func records(batch []batchRecord) []events.SQSMessage {
	out := make([]events.SQSMessage, len(batch))
	for i, b := range batch {
		out[i] = b.rec()
	}
	return out
}

func (b batchRecord) rec() events.SQSMessage { return b.q.rec }

func buildBootstrap(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", out, "./examples/consumer")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

func awsEnv(t *testing.T) map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL": awstest.Endpoint(t), "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
	}
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// withReplay is a copy of a message sent again by a replay.
func withReplay(q queued, replayID, messageID string) queued {
	var ce map[string]json.RawMessage
	_ = json.Unmarshal([]byte(q.rec.Body), &ce)
	ce["replayid"], _ = json.Marshal(replayID)
	b, _ := json.Marshal(ce)
	q.rec.Body = string(b)
	q.rec.MessageId = messageID
	return q
}

func TestExampleUnderEmulator(t *testing.T) {
	emulator, skip, err := localrun.EmulatorForTests()
	if err != nil {
		t.Fatal(err)
	}
	if skip != "" {
		t.Skip(skip)
	}
	aws := awsEnv(t) // skips without moto_server
	msgs := receiverMessages(t)
	if checkReceiverMessages(t, msgs) < 20 {
		t.Fatalf("too few messages from the receivers")
	}
	secrets := secretValues(t, msgs)
	bootstrap := buildBootstrap(t)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))

	for _, groups := range []string{"1", "4"} {
		t.Run("mixed batches/CONSUMER_GROUPS="+groups, func(t *testing.T) {
			f := startFunction(t, bootstrap, emulator, with(aws, EnvGroups, groups))
			nBatches, nRecords, nHandled, nFailures := 0, 0, 0, 0
			for round := range 3 {
				for i, batch := range mixed(r, msgs) {
					wantFailures, wantHandled := want(batch)
					failures, lines := f.invoke(t, records(batch))
					if !slices.Equal(failures, wantFailures) {
						t.Fatalf("round %d batch %d: batchItemFailures %v, want %v", round, i, failures, wantFailures)
					}
					checkHandledLines(t, handledLines(lines), wantHandled)
					nBatches++
					nRecords += len(batch)
					nHandled += len(wantHandled)
					nFailures += len(failures)
				}
			}
			out := f.out.String()
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Fatalf("the log holds a data value %q", s)
				}
			}
			if !strings.Contains(out, `"msg":"invalid message"`) {
				t.Fatal("no invalid message was logged")
			}
			t.Logf("%d batches, %d records: %d handled, %d reported; the log holds none of %d data values", nBatches, nRecords, nHandled, nFailures, len(secrets))
		})
	}

	var valid []queued
	seenGroup := map[string]bool{}
	for _, m := range msgs {
		if consumer.ProviderOf(m.typ) != "" && !seenGroup[m.group] {
			seenGroup[m.group] = true
			valid = append(valid, m)
		}
	}
	if len(valid) < 8 {
		t.Fatalf("only %d groups", len(valid))
	}
	asBatch := func(qs ...queued) []batchRecord {
		var out []batchRecord
		for _, q := range qs {
			out = append(out, batchRecord{q: q})
		}
		return out
	}
	// expect invokes and checks that exactly the records handled[i] are handled.
	expect := func(t *testing.T, f *fn, batch []batchRecord, handled ...queued) {
		t.Helper()
		failures, lines := f.invoke(t, records(batch))
		if len(failures) != 0 {
			t.Fatalf("failures %v", failures)
		}
		checkHandledLines(t, handledLines(lines), asBatch(handled...))
	}

	t.Run("idempotency/deduplicate", func(t *testing.T) {
		_, table := newIdempotencyTable(t)
		f := startFunction(t, bootstrap, emulator, with(aws, EnvIdempotencyTable, table))
		first := valid[:5]
		expect(t, f, asBatch(first...), first...)
		expect(t, f, asBatch(first...)) // the same messages again: skipped
		redelivered := first[0]
		redelivered.rec.MessageId = "redelivery-1" // a delivery after SQS's de-duplication window
		expect(t, f, asBatch(redelivered))
		// A replay of a handled event is skipped; of one never handled, handled.
		expect(t, f, asBatch(withReplay(first[1], "rp-1", "replay-1")))
		fresh := withReplay(valid[5], "rp-1", "replay-2")
		expect(t, f, asBatch(fresh), fresh)
		expect(t, f, asBatch(valid[5])) // then the original is the duplicate
	})
	t.Run("idempotency/reprocess", func(t *testing.T) {
		_, table := newIdempotencyTable(t)
		f := startFunction(t, bootstrap, emulator, with(aws, EnvIdempotencyTable, table, EnvReplays, "reprocess"))
		m := valid[0]
		r1, r1again, r2 := withReplay(m, "rp-1", "replay-1"), withReplay(m, "rp-1", "replay-1b"), withReplay(m, "rp-2", "replay-2")
		expect(t, f, asBatch(m), m)
		expect(t, f, asBatch(r1, m), r1)
		expect(t, f, asBatch(r1again, r2), r2)
	})
	t.Run("idempotency/ignore", func(t *testing.T) {
		_, table := newIdempotencyTable(t)
		f := startFunction(t, bootstrap, emulator, with(aws, EnvIdempotencyTable, table, EnvReplays, "ignore"))
		m := valid[0]
		expect(t, f, asBatch(withReplay(m, "rp-1", "replay-1")))
		expect(t, f, asBatch(m, withReplay(m, "rp-2", "replay-2")), m)
		expect(t, f, asBatch(m))
	})
	t.Run("invalid environment", func(t *testing.T) {
		for _, c := range []struct{ k, v, want string }{
			{EnvGroups, "zero", `CONSUMER_GROUPS="zero": want a whole number from 1 to 10`},
			{EnvReplays, "sometimes", `CONSUMER_REPLAYS: consumer: replay policy "sometimes": want deduplicate, reprocess or ignore`},
			{EnvIdempotencyTTL, "10m", `CONSUMER_IDEMPOTENCY_TTL="10m": want a Go duration of at least 1h`},
		} {
			f := startFunction(t, bootstrap, emulator, with(aws, c.k, c.v))
			payload, _ := json.Marshal(events.SQSEvent{Records: records(asBatch(valid[0]))})
			_, err := f.Invoke(context.Background(), payload)
			if !errors.Is(err, localrun.ErrInitFailed) {
				t.Errorf("%s=%s: invoke: %v, want the init to fail", c.k, c.v, err)
			}
			found := false
			deadline := time.Now().Add(60 * time.Second) // generous: the line comes through the emulator's pipe
			for !found && time.Now().Before(deadline) {
				for _, l := range strings.Split(f.out.String(), "\n") {
					var ll logLine
					if json.Unmarshal([]byte(l), &ll) == nil && ll["msg"] == "startup failed" && ll["level"] == "ERROR" && ll["error"] == c.want {
						found = true
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
			if !found {
				t.Errorf("%s=%s: no startup failure saying %q in\n%s", c.k, c.v, c.want, f.out.String())
			}
			if strings.Contains(f.out.String(), `"msg":"handled"`) {
				t.Errorf("%s=%s: a record was handled", c.k, c.v)
			}
			f.Stop()
		}
	})
}

// checkHandledLines: one "handled" line per handled record, in order within
// each group, with the event's id, type, subject and group, and nothing of
// its data but the status.
func checkHandledLines(t *testing.T, lines []logLine, handled []batchRecord) {
	t.Helper()
	if len(lines) != len(handled) {
		t.Fatalf("%d handled lines, want %d: %v", len(lines), len(handled), lines)
	}
	byGroup := map[string][]string{}
	for _, b := range handled {
		m, err := consumer.Decode(b.q.rec)
		if err != nil {
			t.Fatal(err)
		}
		byGroup[consumer.LogSafe(m.GroupID)] = append(byGroup[consumer.LogSafe(m.GroupID)], m.Event.ID+"|"+m.Event.Type+"|"+consumer.LogSafe(m.Event.Subject)+"|"+m.Event.ReplayID)
	}
	got := map[string][]string{}
	allowed := []string{"time", "level", "msg", "id", "type", "subject", "group", "eventTime", "status", "replayid", "receiveCount"}
	for _, l := range lines {
		for k := range l {
			if !slices.Contains(allowed, k) {
				t.Fatalf("handled line with %q: %v", k, l)
			}
		}
		rid, _ := l["replayid"].(string)
		g, _ := l["group"].(string)
		got[g] = append(got[g], fmt.Sprint(l["id"])+"|"+fmt.Sprint(l["type"])+"|"+fmt.Sprint(l["subject"])+"|"+rid)
	}
	for g, ids := range byGroup {
		if !slices.Equal(got[g], ids) {
			t.Fatalf("group %s: handled lines %v, want %v", g, got[g], ids)
		}
	}
}
