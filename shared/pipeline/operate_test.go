package pipeline_test

// The operator commands that send stored events — redrive and replay —
// through the handler's Invoke as Lambda calls it: scenarios
// (backend_test.go), each run in memory and, in TestScenariosOnAWS, against
// a real AWS API (moto_server).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
	"webhooks/shared/eventstore"
	"webhooks/shared/pipeline"
)

// command invokes the handler with a JSON payload, as `aws lambda invoke` does.
func command(t *testing.T, ctx context.Context, h *pipeline.Handler[testSecret], payload string, into any) error {
	t.Helper()
	out, err := h.Invoke(ctx, []byte(payload))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		t.Fatalf("%s: reply %s: %v", payload, out, err)
	}
	return nil
}

type redriveReply struct {
	Found, Sent, Failed, Quarantined, Remaining int
	SweepIncomplete                             bool
}

func redrive(t *testing.T, h *pipeline.Handler[testSecret], payload string) redriveReply {
	t.Helper()
	var r redriveReply
	if err := command(t, t.Context(), h, payload, &r); err != nil {
		t.Fatalf("%s: %v", payload, err)
	}
	return r
}

func markers(t *testing.T, stack *testStack) int {
	t.Helper()
	n := 0
	for _, it := range stack.Items(t) {
		if strings.HasSuffix(awskit.Str(it, "pk"), "#unsent") {
			n++
		}
	}
	return n
}

// An SQS outage longer than the provider's retries: every event stored during
// it is found by the redrive (oldest first), sent once and marked queued,
// whatever the provider does; the happy path leaves no marker.
func TestRedriveAfterQueueOutage(t *testing.T) { redriveAfterQueueOutage(t, inMemory) }

var redriveAfterQueueOutage = register("RedriveAfterQueueOutage", func(t *testing.T, on backend) {
	stack := newStack(t, on, `{"token":"t1"}`)
	h := newHandler(t, stack)
	if res := awstest.Invoke(t, h, event(`{"id":"before"}`, map[string]string{"x-token": "t1"}, "203.0.113.1")); res.StatusCode != 200 {
		t.Fatalf("healthy: %d", res.StatusCode)
	}
	if n := markers(t, stack); n != 0 {
		t.Fatalf("a healthy webhook left %d markers", n)
	}
	stack.deleteQueue(t)
	var ids []string
	for i := range 3 {
		res := awstest.Invoke(t, h, event(fmt.Sprintf(`{"id":"out%d"}`, i), map[string]string{"x-token": "t1"}, "203.0.113.1"))
		if res.StatusCode != 503 {
			t.Fatalf("send to a missing queue: %d %s", res.StatusCode, res.Body)
		}
		ids = append(ids, res.Headers["X-Webhook-Event-Id"])
		stack.sleep(2 * time.Millisecond) // distinct receipt times: the order is checked
	}
	if n := markers(t, stack); n != 3 {
		t.Fatalf("%d markers after 3 failed sends", n)
	}
	// Too young for the cutoff: nothing found.
	if r := redrive(t, h, `{"redrive":{"olderThan":"1h"}}`); r != (redriveReply{}) {
		t.Fatalf("olderThan 1h: %+v", r)
	}
	// The queue is still gone: found, failed, still marked; the metric says so.
	if r := redrive(t, h, `{"redrive":{"olderThan":"0s"}}`); r.Found != 3 || r.Sent != 0 || r.Failed != 3 {
		t.Fatalf("queue still missing: %+v", r)
	}
	if !strings.Contains(stack.Logs.String(), `"RedriveFailed":3`) {
		t.Errorf("no RedriveFailed metric in the logs")
	}
	recreateQueue(t, stack)
	if r := redrive(t, h, `{"redrive":{"olderThan":"0s"}}`); r.Found != 3 || r.Sent != 3 || r.Failed != 0 {
		t.Fatalf("queue back: %+v", r)
	}
	msgs := stack.Messages(t)
	if len(msgs) != 3 {
		t.Fatalf("%d messages, want 3", len(msgs))
	}
	for i, m := range msgs {
		if m.Event.ID != ids[i] || m.DeduplicationID != ids[i] || m.GroupID != fmt.Sprintf("out%d", i) {
			t.Errorf("message %d: id %s dedup %s group %s, want %s (oldest first)", i, m.Event.ID, m.DeduplicationID, m.GroupID, ids[i])
		}
	}
	items := stack.EventItems(t)
	for _, id := range ids {
		if awskit.Str(items[id], "status") != "queued" || awskit.Str(items[id], "message_id") == "" {
			t.Errorf("%s: %v", id, items[id])
		}
	}
	if n := markers(t, stack); n != 0 {
		t.Errorf("%d markers left once queued", n)
	}
	if r := redrive(t, h, `{"redrive":{"olderThan":"0s","sweep":true}}`); r != (redriveReply{}) {
		t.Errorf("second run: %+v", r)
	}
	if n := len(stack.Messages(t)); n != 0 {
		t.Errorf("second run sent %d", n)
	}
})

// A provider that retries after the redrive sent its event gets a duplicate
// answer and nothing is sent twice; a retry that sends first clears the marker.
func TestRetryAfterRedriveAndRedriveAfterRetry(t *testing.T) {
	retryAfterRedriveAndRedriveAfterRetry(t, inMemory)
}

var retryAfterRedriveAndRedriveAfterRetry = register("RetryAfterRedriveAndRedriveAfterRetry", func(t *testing.T, on backend) {
	stack := newStack(t, on, `{"token":"t1"}`)
	h := newHandler(t, stack)
	stack.deleteQueue(t)
	a := event(`{"id":"a"}`, map[string]string{"x-token": "t1"}, "203.0.113.1")
	b := event(`{"id":"b"}`, map[string]string{"x-token": "t1"}, "203.0.113.1")
	if res := awstest.Invoke(t, h, a); res.StatusCode != 503 {
		t.Fatal(res.StatusCode)
	}
	if res := awstest.Invoke(t, h, b); res.StatusCode != 503 {
		t.Fatal(res.StatusCode)
	}
	recreateQueue(t, stack)
	if res := awstest.Invoke(t, h, b); res.StatusCode != 200 || res.Headers["X-Webhook-Outcome"] != "accepted" {
		t.Fatalf("retry of b: %d %v", res.StatusCode, res.Headers)
	}
	if n := markers(t, stack); n != 1 {
		t.Fatalf("%d markers after b's retry succeeded, want only a's", n)
	}
	if r := redrive(t, h, `{"redrive":{"olderThan":"0s"}}`); r.Found != 1 || r.Sent != 1 {
		t.Fatalf("redrive: %+v", r)
	}
	if res := awstest.Invoke(t, h, a); res.StatusCode != 200 || res.Headers["X-Webhook-Outcome"] != "duplicate" {
		t.Fatalf("retry of a after redrive: %d %v", res.StatusCode, res.Headers)
	}
	if n := len(stack.Messages(t)); n != 2 {
		t.Errorf("%d messages, want 2", n)
	}
})

// A function killed between storing an event and sending it leaves no marker:
// only the sweep (a filtered Scan) finds it. A quarantined event is never
// redriven (reprocess is its path).
func TestRedriveSweepFindsWhatNoMarkerNames(t *testing.T) {
	redriveSweepFindsWhatNoMarkerNames(t, inMemory)
}

var redriveSweepFindsWhatNoMarkerNames = register("RedriveSweepFindsWhatNoMarkerNames", func(t *testing.T, on backend) {
	ctx := t.Context()
	stack := newStack(t, on, `{"token":"t1","key":"wrong"}`)
	h := newHandler(t, stack)
	store := stack.store(nil)
	now := stack.now()
	data := json.RawMessage(`{"id":"killed"}`)
	it := &eventstore.Item{Provider: "testprov", EventID: pipeline.EventID("testprov", "killed"), Type: "testprov.thing", Subject: "killed",
		Time: now, Data: data, DataSHA256: eventstore.Digest(data), Status: eventstore.StatusStored, ReceivedAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour)}
	if existing, err := store.Create(ctx, it); err != nil || existing != nil {
		t.Fatal(existing, err)
	}
	if res := awstest.Invoke(t, h, event(`{"id":"q","sealed":"x"}`, map[string]string{"x-token": "t1"}, "203.0.113.1")); res.Headers["X-Webhook-Outcome"] != "quarantined" {
		t.Fatalf("not quarantined: %v", res.Headers)
	}
	if r := redrive(t, h, `{"redrive":{"olderThan":"0s"}}`); r != (redriveReply{}) {
		t.Fatalf("markers only: %+v", r)
	}
	if r := redrive(t, h, `{"redrive":{"olderThan":"5m","sweep":true}}`); r != (redriveReply{}) {
		t.Fatalf("sweep, event younger than the cutoff: %+v", r)
	}
	if r := redrive(t, h, `{"redrive":{"olderThan":"30s","sweep":true}}`); r.Found != 1 || r.Sent != 1 {
		t.Fatalf("sweep: %+v", r)
	}
	msgs := stack.Messages(t)
	if len(msgs) != 1 || msgs[0].Event.ID != it.EventID {
		t.Fatalf("messages %v", msgs)
	}
})

// Redrive of an event that cannot be processed now quarantines it (not a
// failure for ever); the reply says so.
func TestRedriveQuarantinesWhatCannotBeProcessed(t *testing.T) {
	redriveQuarantinesWhatCannotBeProcessed(t, inMemory)
}

var redriveQuarantinesWhatCannotBeProcessed = register("RedriveQuarantinesWhatCannotBeProcessed", func(t *testing.T, on backend) {
	stack := newStack(t, on, `{"token":"t1","key":"good"}`)
	h := newHandler(t, stack)
	stack.deleteQueue(t)
	res := awstest.Invoke(t, h, event(`{"id":"s","sealed":"x"}`, map[string]string{"x-token": "t1"}, "203.0.113.1"))
	if res.StatusCode != 503 {
		t.Fatalf("%d", res.StatusCode)
	}
	recreateQueue(t, stack)
	stack.putSecret(t, `{"token":"t1","key":"rotated-away","previousVersionGraceHours":0}`)
	h2 := newHandler(t, stack)
	if r := redrive(t, h2, `{"redrive":{"olderThan":"0s"}}`); r.Found != 1 || r.Quarantined != 1 || r.Sent != 0 || r.Failed != 0 {
		t.Fatalf("%+v", r)
	}
	if st := awskit.Str(stack.EventItems(t)[res.Headers["X-Webhook-Event-Id"]], "status"); st != "quarantined" {
		t.Errorf("status %s", st)
	}
	if n := markers(t, stack); n != 0 {
		t.Errorf("%d markers left", n)
	}
})

type replayReply struct {
	Matched  int
	Sent     int
	ReplayID string
	Failed   int
	Resume   *pipeline.ReplayCommand
}

func replay(t *testing.T, ctx context.Context, h *pipeline.Handler[testSecret], cmd pipeline.ReplayCommand) replayReply {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"replay": cmd})
	var r replayReply
	if err := command(t, ctx, h, string(b), &r); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return r
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Replay sends again the queued events received in [from, to), oldest first,
// with their original id, subject, group and data (decrypted again), the
// replayid extension and a de-duplication id of the replay's own; filters,
// dry runs and quarantined events; a second replay is not deduplicated away.
func TestReplayWindow(t *testing.T) { replayWindow(t, inMemory) }

var replayWindow = register("ReplayWindow", func(t *testing.T, on backend) {
	stack := newStack(t, on, `{"token":"t1","key":"good"}`)
	h := newHandler(t, stack)
	send := func(body string) string {
		res := awstest.Invoke(t, h, event(body, map[string]string{"x-token": "t1"}, "203.0.113.1"))
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", body, res.StatusCode)
		}
		stack.sleep(3 * time.Millisecond)
		return res.Headers["X-Webhook-Event-Id"]
	}
	send(`{"id":"early"}`)
	stack.sleep(20 * time.Millisecond)
	from := stack.now().Truncate(time.Millisecond) // receipt times are stored to the millisecond
	a := send(`{"id":"a","sealed":"s1"}`)
	b := send(`{"id":"b"}`)
	c := send(`{"id":"c"}`)
	// A quarantined event inside the window is never replayed (reprocess is its path).
	stack.putSecret(t, `{"token":"t1","key":"bad","previousVersionGraceHours":0}`)
	if res := awstest.Invoke(t, newHandler(t, stack), event(`{"id":"q","sealed":"x"}`, map[string]string{"x-token": "t1"}, "203.0.113.1")); res.Headers["X-Webhook-Outcome"] != "quarantined" {
		t.Fatalf("not quarantined: %v", res.Headers)
	}
	stack.putSecret(t, `{"token":"t1","key":"good"}`)
	to := stack.now()
	stack.sleep(20 * time.Millisecond)
	send(`{"id":"late"}`)
	originals := stack.Messages(t)
	if len(originals) != 5 { // the quarantined one is not among them
		t.Fatalf("%d originals", len(originals))
	}
	orig := map[string]awskit.Message{}
	for _, m := range originals {
		orig[m.Event.ID] = m
	}
	dry := replay(t, t.Context(), h, pipeline.ReplayCommand{From: rfc(from), To: rfc(to), DryRun: true})
	if dry.Matched != 3 || dry.Sent != 0 || len(stack.Messages(t)) != 0 {
		t.Fatalf("dry run: %+v", dry)
	}
	r := replay(t, t.Context(), h, pipeline.ReplayCommand{From: rfc(from), To: rfc(to)})
	if r.Matched != 3 || r.Sent != 3 || r.ReplayID == "" || r.Resume != nil || r.Failed != 0 {
		t.Fatalf("replay: %+v", r)
	}
	msgs := stack.Messages(t)
	want := []string{a, b, c}
	if len(msgs) != 3 {
		t.Fatalf("%d replayed messages", len(msgs))
	}
	for i, m := range msgs {
		o := orig[want[i]]
		var ce map[string]any
		if err := json.Unmarshal([]byte(m.Body), &ce); err != nil {
			t.Fatal(err)
		}
		if m.Event.ID != want[i] || m.GroupID != o.GroupID || m.Event.Subject != o.Event.Subject || string(m.Event.Data) != string(o.Event.Data) || m.Event.Time != o.Event.Time {
			t.Errorf("replayed %d differs from its original:\n%s\n%s", i, m.Body, o.Body)
		}
		if ce["replayid"] != r.ReplayID {
			t.Errorf("replayid %v, want %s", ce["replayid"], r.ReplayID)
		}
		// The official SDK reads it as a valid CloudEvent with the extension.
		var sdk cloudevents.Event
		if err := json.Unmarshal([]byte(m.Body), &sdk); err != nil || sdk.Validate() != nil || sdk.Extensions()["replayid"] != r.ReplayID {
			t.Errorf("replayed message as the CloudEvents SDK reads it: %v, %v", err, sdk.Extensions())
		}
		if m.DeduplicationID == o.DeduplicationID || !strings.Contains(m.DeduplicationID, r.ReplayID) {
			t.Errorf("dedup id %s (original %s)", m.DeduplicationID, o.DeduplicationID)
		}
	}
	if !strings.Contains(string(msgs[0].Event.Data), "PLAINTEXT-s1") {
		t.Errorf("sealed field not opened again: %s", msgs[0].Event.Data)
	}
	// Filters: subjects, and a type no event has.
	if r := replay(t, t.Context(), h, pipeline.ReplayCommand{From: rfc(from), To: rfc(to), Subjects: []string{"a", "c", "zz"}}); r.Matched != 2 || r.Sent != 2 {
		t.Errorf("subjects a, c: %+v", r)
	}
	if r := replay(t, t.Context(), h, pipeline.ReplayCommand{From: rfc(from), To: rfc(to), Types: []string{"testprov.other"}}); r.Matched != 0 {
		t.Errorf("other type: %+v", r)
	}
	if r := replay(t, t.Context(), h, pipeline.ReplayCommand{From: rfc(from), To: rfc(to), Types: []string{"testprov.thing"}, Subjects: []string{"b"}}); r.Matched != 1 || r.Sent != 1 {
		t.Errorf("type and subject b: %+v", r)
	}
	if n := len(stack.Messages(t)); n != 3 {
		t.Errorf("filtered replays sent %d, want 3", n)
	}
	// The same window again: a new replay, not dropped as a duplicate.
	if r2 := replay(t, t.Context(), h, pipeline.ReplayCommand{From: rfc(from), To: rfc(to)}); r2.Sent != 3 || r2.ReplayID == r.ReplayID {
		t.Errorf("second replay: %+v", r2)
	}
	if n := len(stack.Messages(t)); n != 3 {
		t.Errorf("second replay delivered %d", n)
	}
})

// A replay that cannot finish (here: SQS fails; likewise when the function's
// time runs out) answers a resume command that starts at the first event not
// sent, with the same replay id; run, it delivers every event once, and
// copies sent twice within SQS's de-duplication window are dropped by SQS.
func TestReplayResumes(t *testing.T) { replayResumes(t, inMemory) }

var replayResumes = register("ReplayResumes", func(t *testing.T, on backend) {
	ctx := t.Context()
	stack := newStack(t, on, `{"token":"t1"}`)
	h := newHandler(t, stack)
	from := stack.now().Truncate(time.Millisecond) // receipt times are stored to the millisecond
	var ids []string
	for i := range 4 {
		res := awstest.Invoke(t, h, event(fmt.Sprintf(`{"id":"r%d"}`, i), map[string]string{"x-token": "t1"}, "203.0.113.1"))
		if res.StatusCode != 200 {
			t.Fatal(res.StatusCode)
		}
		ids = append(ids, res.Headers["X-Webhook-Event-Id"])
		stack.sleep(2 * time.Millisecond)
	}
	to := stack.now()
	stack.Messages(t)
	// No time left for the scan: an error that says so, nothing sent.
	short, cancel := context.WithDeadline(ctx, time.Now().Add(time.Second))
	defer cancel()
	if _, err := h.Invoke(short, []byte(fmt.Sprintf(`{"replay":{"from":%q,"to":%q}}`, rfc(from), rfc(to)))); err == nil || !strings.Contains(err.Error(), "did not finish") {
		t.Fatalf("scan with no time left: %v", err)
	}
	stack.deleteQueue(t)
	r := replay(t, ctx, h, pipeline.ReplayCommand{From: rfc(from), To: rfc(to), Subjects: []string{"r0", "r1", "r2", "r3"}})
	if r.Matched != 4 || r.Sent != 0 || r.Resume == nil {
		t.Fatalf("SQS failing: %+v", r)
	}
	if r.Resume.ReplayID != r.ReplayID || r.Resume.To != rfc(to) || len(r.Resume.Subjects) != 4 {
		t.Fatalf("resume %+v", r.Resume)
	}
	if rf, err := time.Parse(time.RFC3339Nano, r.Resume.From); err != nil || rf.Before(from.Truncate(time.Millisecond)) {
		t.Fatalf("resume from %s (window from %s): %v", r.Resume.From, rfc(from), err)
	}
	recreateQueue(t, stack)
	r2 := replay(t, ctx, h, *r.Resume)
	if r2.Sent != 4 || r2.ReplayID != r.ReplayID || r2.Resume != nil {
		t.Fatalf("resumed: %+v", r2)
	}
	// Resumed again (as if the reply had been lost): SQS drops the copies.
	if r3 := replay(t, ctx, h, *r.Resume); r3.Sent != 4 {
		t.Fatalf("resumed twice: %+v", r3)
	}
	msgs := stack.Messages(t)
	if len(msgs) != 4 {
		t.Fatalf("%d delivered, want each of 4 once", len(msgs))
	}
	for i, m := range msgs {
		if m.Event.ID != ids[i] {
			t.Errorf("message %d is %s, want %s (oldest first)", i, m.Event.ID, ids[i])
		}
	}
})

// Invalid commands are function errors with a readable message; nothing runs.
func TestInvalidOperatorCommands(t *testing.T) { invalidOperatorCommands(t, inMemory) }

var invalidOperatorCommands = register("InvalidOperatorCommands", func(t *testing.T, on backend) {
	stack := newStack(t, on, `{"token":"t1"}`)
	h := newHandler(t, stack)
	for payload, want := range map[string]string{
		`{"redrive":{}}`:                               "olderThan is required",
		`{"redrive":{"olderThan":"soon"}}`:             "not a non-negative Go duration",
		`{"redrive":{"olderThan":"-5m"}}`:              "not a non-negative Go duration",
		`{"redrive":{"olderThan":"5m","force":true}}`:  "unknown field",
		`{"redrive":"5m"}`:                             "command",
		`{"replay":{}}`:                                "from and to are required",
		`{"replay":{"from":"yesterday","to":"today"}}`: "not an RFC 3339 time",
		`{"replay":{"from":"2026-01-02T00:00:00Z","to":"2026-01-01T00:00:00Z"}}`:                                       "is not before",
		`{"replay":{"from":"2026-01-01T00:00:00Z","to":"2026-01-02T00:00:00Z","types":["tiki.order.status_changed"]}}`: "is not a testprov event type",
		`{"replay":{"from":"2026-01-01T00:00:00Z","to":"2026-01-02T00:00:00Z","subjects":[""]}}`:                       "subject is empty",
		`{"replay":{"from":"2026-01-01T00:00:00Z","to":"2026-01-02T00:00:00Z","replayId":"no spaces"}}`:                "replayId",
		`{"replay":{"from":"2026-01-01T00:00:00Z","to":"2026-01-02T00:00:00Z","dry":true}}`:                            "unknown field",
		`{"redrive":{"olderThan":"5m"},"replay":{}}`:                                                                   "neither",
		`{"purge":{}}`: "unknown command",
		`{"redrive":{"olderThan":"1h","olderThan":"0s"}}`:                                      "repeats a key",
		`{"redrive":{"OlderThan":"1h"}}`:                                                       `unknown field "OlderThan"`,
		`{"replay":{"from":"2026-01-01T00:00:00Z","to":"2026-01-02T00:00:00Z","DRYRUN":true}}`: `unknown field "DRYRUN"`,
		`[]`: "not a JSON object",
	} {
		out, err := h.Invoke(t.Context(), []byte(payload))
		var invalid *pipeline.InvalidCommandError
		if err == nil || !strings.Contains(err.Error(), want) || !errors.As(err, &invalid) {
			t.Errorf("%s: %s, %v (%T); want an InvalidCommandError saying %q", payload, out, err, err, want)
		}
	}
	// A valid command that fails while running is not an invalid one.
	_, err := h.Invoke(t.Context(), []byte(`{"reprocess":{"eventId":"nope"}}`))
	var invalid *pipeline.InvalidCommandError
	if err == nil || errors.As(err, &invalid) || !strings.Contains(err.Error(), "not found") {
		t.Errorf("reprocess of an unknown event: %v (%T)", err, err)
	}
})

// lostReply is a fault that applies the store's event writes but answers
// them with an error, as when a reply is lost on the way back.
func lostReply(c eventstore.Call) eventstore.Failure {
	if c.Op == "PutItem" && c.SK == "event" {
		return eventstore.Failure{Err: errors.New("connection reset after the write was applied"), Applied: true}
	}
	return eventstore.Failure{}
}

// A store DynamoDB applied but whose reply was lost is answered 503 and
// leaves a marker: if the provider gives up, the redrive sends the event.
func TestStoreWhoseReplyWasLostIsRedriven(t *testing.T) {
	storeWhoseReplyWasLostIsRedriven(t, inMemory)
}

var storeWhoseReplyWasLostIsRedriven = register("StoreWhoseReplyWasLostIsRedriven", func(t *testing.T, on backend) {
	stack := newStack(t, on, `{"token":"t1"}`)
	lossy := stack.handlerWith(t, handlerConfig{storeFault: lostReply})
	res := awstest.Invoke(t, lossy, event(`{"id":"lost"}`, map[string]string{"x-token": "t1"}, "203.0.113.1"))
	if res.StatusCode != 503 {
		t.Fatalf("%d %s", res.StatusCode, res.Body)
	}
	if n := markers(t, stack); n != 1 {
		t.Fatalf("%d markers", n)
	}
	if r := redrive(t, newHandler(t, stack), `{"redrive":{"olderThan":"0s"}}`); r.Found != 1 || r.Sent != 1 {
		t.Fatalf("%+v", r)
	}
	if msgs := stack.Messages(t); len(msgs) != 1 || msgs[0].Event.Subject != "lost" {
		t.Fatalf("messages %v", msgs)
	}
	if n := markers(t, stack); n != 0 {
		t.Errorf("%d markers left", n)
	}
})

// failingScan is a fault that fails the store's Scan, as DynamoDB does when
// it is unavailable.
func failingScan(c eventstore.Call) eventstore.Failure {
	if c.Op == "Scan" {
		return eventstore.Failure{Err: errors.New("scan: service unavailable")}
	}
	return eventstore.Failure{}
}

// A sweep that fails does not hold back the events the markers name: they
// are sent, and the reply says the sweep is incomplete.
func TestFailedSweepStillSendsWhatMarkersName(t *testing.T) {
	failedSweepStillSendsWhatMarkersName(t, inMemory)
}

var failedSweepStillSendsWhatMarkersName = register("FailedSweepStillSendsWhatMarkersName", func(t *testing.T, on backend) {
	stack := newStack(t, on, `{"token":"t1"}`)
	stack.deleteQueue(t)
	if res := awstest.Invoke(t, newHandler(t, stack), event(`{"id":"m"}`, map[string]string{"x-token": "t1"}, "203.0.113.1")); res.StatusCode != 503 {
		t.Fatal(res.StatusCode)
	}
	recreateQueue(t, stack)
	h := stack.handlerWith(t, handlerConfig{storeFault: failingScan})
	if r := redrive(t, h, `{"redrive":{"olderThan":"0s","sweep":true}}`); r.Found != 1 || r.Sent != 1 || !r.SweepIncomplete {
		t.Fatalf("%+v", r)
	}
})

// An event gets its TTL only once it is queued: stored during an SQS outage it
// has none (DynamoDB can never expire it before it is sent), nor has its
// marker; the redrive's send starts it. A marker whose event is gone anyway
// (deleted by hand, a restore) is reported — found, missing, the
// RedriveMissing metric, an error naming the event — never a silent "found
// 0"; a marker whose own store got no answer and was not applied is cleared
// quietly (that webhook was answered 503: nothing was stored).
func TestStrandedEventNeverExpiresAndAMissingOneIsReported(t *testing.T) {
	strandedEventNeverExpiresAndAMissingOneIsReported(t, inMemory)
}

var strandedEventNeverExpiresAndAMissingOneIsReported = register("StrandedEventNeverExpiresAndAMissingOneIsReported", func(t *testing.T, on backend) {
	ctx := t.Context()
	stack := newStack(t, on, `{"token":"t1"}`)
	h := newHandler(t, stack)
	stack.deleteQueue(t)
	var ids []string
	for _, id := range []string{"kept", "deleted"} {
		res := awstest.Invoke(t, h, event(`{"id":"`+id+`"}`, map[string]string{"x-token": "t1"}, "203.0.113.1"))
		if res.StatusCode != 503 {
			t.Fatalf("%s: %d %s", id, res.StatusCode, res.Body)
		}
		ids = append(ids, res.Headers["X-Webhook-Event-Id"])
	}
	for _, it := range stack.Items(t) {
		if _, ok := it["expires_at"]; ok && awskit.Str(it, "sk") != "replay" {
			t.Errorf("%s/%s has a TTL before its event is queued", awskit.Str(it, "pk"), awskit.Str(it, "sk"))
		}
	}
	stack.deleteItem(t, "testprov#"+ids[1], "event")
	// A marker left by a store that got no answer, for an event never written.
	if err := stack.store(nil).MarkUnsent(ctx, "testprov", "never-written", stack.now().Add(-time.Minute), true); err != nil {
		t.Fatal(err)
	}
	recreateQueue(t, stack)
	var r struct {
		Found, Sent, Failed, Missing int
	}
	before := stack.now()
	if err := command(t, ctx, h, `{"redrive":{"olderThan":"0s"}}`, &r); err != nil {
		t.Fatal(err)
	}
	if r.Found != 2 || r.Sent != 1 || r.Failed != 0 || r.Missing != 1 {
		t.Fatalf("redrive %+v, want found 2, sent 1, missing 1", r)
	}
	logs := stack.Logs.String()
	if !strings.Contains(logs, `"RedriveMissing":1`) || !strings.Contains(logs, ids[1]) || strings.Contains(logs, "never-written") {
		t.Errorf("the missing event is not reported as it should be:\n%s", logs)
	}
	exp, ok := numberAttr(stack.EventItems(t)[ids[0]], "expires_at")
	if want := before.Add(pipeline.DefaultEventTTL).Unix(); !ok || exp < want-5 || exp > want+60 {
		t.Errorf("redriven event's TTL %d, want about %d (queue time + TTL)", exp, want)
	}
	if n := markers(t, stack); n != 0 {
		t.Errorf("%d markers left", n)
	}
})

// A replay window may reach the end of time — 9999-12-31T23:59:59Z, its last
// millisecond, or an offset that puts it in year 10000 in UTC — and then
// matches every event after its start; a window starting after the end of
// time, and a type that is not one of the provider's, are invalid commands.
func TestReplayWindowEdges(t *testing.T) { replayWindowEdges(t, inMemory) }

var replayWindowEdges = register("ReplayWindowEdges", func(t *testing.T, on backend) {
	stack := newStack(t, on, `{"token":"t1"}`)
	h := newHandler(t, stack)
	for _, id := range []string{"x", "y"} {
		if res := awstest.Invoke(t, h, event(`{"id":"`+id+`"}`, map[string]string{"x-token": "t1"}, "203.0.113.1")); res.StatusCode != 200 {
			t.Fatalf("%s: %d", id, res.StatusCode)
		}
	}
	for _, to := range []string{"9999-12-31T23:59:59Z", "9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.5+00:00", "9999-12-31T23:59:59-01:00", "9999-12-31T22:00:00-05:00"} {
		if r := replay(t, t.Context(), h, pipeline.ReplayCommand{From: "2000-01-01T00:00:00Z", To: to, DryRun: true}); r.Matched != 2 {
			t.Errorf("to %s: matched %d, want 2", to, r.Matched)
		}
	}
	if r := replay(t, t.Context(), h, pipeline.ReplayCommand{From: "0000-01-01T00:00:00+01:00", To: "9999-12-31T23:59:59Z", DryRun: true}); r.Matched != 2 {
		t.Errorf("from before year 0 in UTC: matched %d, want 2", r.Matched)
	}
	if r := replay(t, t.Context(), h, pipeline.ReplayCommand{From: "9999-12-31T23:59:58Z", To: "9999-12-31T23:59:59Z", DryRun: true}); r.Matched != 0 {
		t.Errorf("a window in the last seconds of time: matched %d, want 0", r.Matched)
	}
	for _, payload := range []string{
		`{"replay":{"from":"2000-01-01T00:00:00Z","to":"9999-12-31T23:59:59Z","types":["testprov.x"]}}`,
		`{"replay":{"from":"2000-01-01T00:00:00Z","to":"9999-12-31T23:59:59Z","types":["testprov.thing","tiki.order.status_changed"]}}`,
		`{"replay":{"from":"2000-01-01T00:00:00Z","to":"9999-12-31T23:59:59Z","types":["testprov."]}}`,
		`{"replay":{"from":"9999-12-31T23:59:59-01:00","to":"9999-12-31T23:59:59-02:00"}}`,
	} {
		_, err := h.Invoke(t.Context(), []byte(payload))
		var invalid *pipeline.InvalidCommandError
		if !errors.As(err, &invalid) {
			t.Errorf("%s: %v, want an invalid command", payload, err)
		}
	}
	if n := len(stack.Messages(t)); n != 2 {
		t.Errorf("%d messages: dry runs and invalid commands sent something", n)
	}
})
