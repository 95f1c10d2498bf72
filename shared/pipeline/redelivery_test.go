package pipeline_test

import (
	"encoding/json"
	"testing"

	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
)

// A redelivery carries the event's key but may differ elsewhere (another
// amount, a sealed field re-encrypted): once an event is stored, every copy of
// it on the queue — the redelivery's send, the redrive's, a replay's — carries
// the stored data, byte for byte (enriched from the stored form), never the
// redelivery's body.
func TestRedeliverySendsWhatWasStored(t *testing.T) { redeliverySendsWhatWasStored(t, inMemory) }

var redeliverySendsWhatWasStored = register("RedeliverySendsWhatWasStored", func(t *testing.T, on backend) {
	ctx := t.Context()
	stack := newStack(t, on, `{"token":"t1","key":"good"}`)
	h := newHandler(t, stack)
	hdr := map[string]string{"x-token": "t1"}
	stack.deleteQueue(t)
	first := awstest.Invoke(t, h, event(`{"id":"a","amount":"100.00","sealed":"s1"}`, hdr, "203.0.113.1"))
	if first.StatusCode != 503 {
		t.Fatalf("send to a missing queue: %d %s", first.StatusCode, first.Body)
	}
	id := first.Headers["X-Webhook-Event-Id"]
	recreateQueue(t, stack)
	again := awstest.Invoke(t, h, event(`{"id":"a","amount":"999.00","sealed":"s2"}`, hdr, "203.0.113.1"))
	if again.StatusCode != 200 || again.Headers["X-Webhook-Event-Id"] != id {
		t.Fatalf("redelivery: %d %v %s", again.StatusCode, again.Headers, again.Body)
	}
	stored := awskit.Str(stack.EventItems(t)[id], "data")
	if stored != `{"id":"a","amount":"100.00","sealed":"s1"}` {
		t.Fatalf("stored data %s", stored)
	}
	want := `{"amount":"100.00","id":"a","opened":"PLAINTEXT-s1"}`
	msgs := stack.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	if got := compactData(t, msgs[0].Event.Data); msgs[0].Event.ID != id || got != want {
		t.Fatalf("queued %s %s, want the stored data %s", msgs[0].Event.ID, got, want)
	}
	var r replayReply
	if err := command(t, ctx, h, `{"replay":{"from":"2000-01-01T00:00:00Z","to":"9999-01-01T00:00:00Z"}}`, &r); err != nil || r.Sent != 1 {
		t.Fatalf("replay: %+v %v", r, err)
	}
	msgs = stack.Messages(t)
	if len(msgs) != 1 || compactData(t, msgs[0].Event.Data) != want {
		t.Fatalf("replayed %v, want the stored data %s", msgs, want)
	}
})

// compactData re-encodes JSON with sorted keys, for comparison.
func compactData(t *testing.T, raw []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}
