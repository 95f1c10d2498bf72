package queue_test

// Where the in-memory queue follows SQS's documentation rather than moto,
// which the conformance cases cannot check: moto de-duplicates only against
// the messages it still holds, measures the de-duplication window on the
// wall clock, checks no characters and counts a body's characters, not its
// bytes and attributes.

import (
	"strings"
	"testing"
	"time"

	"webhooks/shared/queue"
)

// The de-duplication window is 5 minutes from the first accepted copy,
// whether or not that copy was consumed since (SQS: "any messages sent
// with the same message deduplication ID are accepted successfully but
// aren't delivered during the 5-minute deduplication interval").
func TestMemoryDeduplicationWindow(t *testing.T) {
	q := queue.NewMemory()
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	q.SetClock(func() time.Time { return now })
	send := func() {
		t.Helper()
		if id, err := q.Send(t.Context(), message("e1", "g", `1`)); err != nil || id == "" {
			t.Fatalf("%q %v", id, err)
		}
	}
	send()
	if msgs := q.Drain(); len(msgs) != 1 || !msgs[0].SentAt.Equal(now) {
		t.Fatalf("first copy: %+v", msgs)
	}
	now = now.Add(queue.DeduplicationWindow - time.Millisecond)
	send()
	if msgs := q.Drain(); len(msgs) != 0 {
		t.Errorf("a copy within the window, the first consumed: delivered %d", len(msgs))
	}
	now = now.Add(time.Millisecond)
	send()
	if msgs := q.Drain(); len(msgs) != 1 {
		t.Errorf("a copy 5 minutes after the first: delivered %d, want 1", len(msgs))
	}
}

// SQS refuses a body with a character outside #x9 | #xA | #xD | #x20 to
// #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF (InvalidMessageContents:
// refused), and group or de-duplication ids outside 1 to 128 printable
// ASCII characters (a request the queue cannot take: unavailable).
func TestMemoryRefusesWhatSQSRefuses(t *testing.T) {
	q := queue.NewMemory()
	for _, c := range []struct {
		name string
		msg  queue.Message
		want string
	}{
		{"control character", queue.Message{ID: "a", GroupID: "g", Provider: "p", Type: "t", Body: []byte("{\"x\":\"\x01\"}")}, "refused/InvalidMessageContents"},
		{"not UTF-8", queue.Message{ID: "b", GroupID: "g", Provider: "p", Type: "t", Body: []byte("{\"x\":\"\xff\"}")}, "refused/InvalidMessageContents"},
		{"U+FFFE", queue.Message{ID: "c", GroupID: "g", Provider: "p", Type: "t", Body: []byte("\"\uFFFE\"")}, "refused/InvalidMessageContents"},
		{"no group", queue.Message{ID: "d", Provider: "p", Type: "t", Body: []byte(`1`)}, "unavailable/MissingParameter"},
		{"group with a space", queue.Message{ID: "e", GroupID: "a b", Provider: "p", Type: "t", Body: []byte(`1`)}, "unavailable/InvalidParameterValue"},
		{"de-duplication id too long", queue.Message{ID: strings.Repeat("f", 129), GroupID: "g", Provider: "p", Type: "t", Body: []byte(`1`)}, "unavailable/InvalidParameterValue"},
		{"every character SQS takes", queue.Message{ID: "g", GroupID: "g", Provider: "p", Type: "t", Body: []byte("\"\t\n\r ~\u00e9\ud7ff\ue000\ufffd\U0001F600\U0010FFFF\"")}, "ok"},
	} {
		if _, err := q.Send(t.Context(), c.msg); kind(err) != c.want {
			t.Errorf("%s: %s, want %s", c.name, kind(err), c.want)
		}
	}
	if msgs := q.Drain(); len(msgs) != 1 || msgs[0].DeduplicationID != "g" {
		t.Errorf("delivered %+v", msgs)
	}
}

// The size SQS counts is the body's bytes and the attributes'.
func TestMemorySizeCountsBytesAndAttributes(t *testing.T) {
	q := queue.NewMemory()
	q.SetMaxMessageSize(1024)
	m := queue.Message{ID: "a", GroupID: "g", Provider: "p", Type: "t"}
	m.Body = []byte(`"` + strings.Repeat("é", (1024-m.Size()-2)/2) + `"`)
	if _, err := q.Send(t.Context(), m); err != nil || m.Size() > 1024 {
		t.Fatalf("%d bytes: %v", m.Size(), err)
	}
	m.ID, m.Provider = "b", "pp"
	if _, err := q.Send(t.Context(), m); kind(err) != "refused/InvalidParameterValue" {
		t.Errorf("%d bytes with its attributes: %v", m.Size(), err)
	}
}
