package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// A payload is an event or a command by its top-level fields, never by the
// bytes it contains: a webhook body that mentions "reprocess" stays a webhook.
func TestPayloadKind(t *testing.T) {
	cases := []struct {
		payload string
		want    payloadKindT
		err     string
	}{
		{`{"version":"2.0","routeKey":"POST /x","requestContext":{},"body":"{\"reprocess\":{\"eventId\":\"a\"}}"}`, kindHTTP, ""},
		{`{"body":"x"}`, kindHTTP, ""},
		{`{"reprocess":{"eventId":"a"}}`, kindCommand, ""},
		{`{"reprocess":{"eventId":"a"},"headers":{}}`, kindHTTP, ""},
		{`{"redrive":{"olderThan":"5m"}}`, kindCommand, ""},
		{`{"replay":{}}`, kindCommand, ""},
		{`{"purge":{}}`, 0, `unknown command "purge" (commands: reprocess, redrive, replay)`},
		{`{}`, 0, "neither"},
		{`{"a":1,"b":2}`, 0, "neither"},
		{`[1]`, 0, "not a JSON object"},
	}
	for _, c := range cases {
		got, err := payloadKind([]byte(c.payload))
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want one containing %q", c.payload, err, c.err)
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("%s: %v %v, want %v", c.payload, got, err, c.want)
		}
	}
}

// Commands are decoded strictly: a misspelt field is an error, not ignored.
func TestParseCommandIsStrict(t *testing.T) {
	if _, err := ParseCommand([]byte(`{"reprocess":{"event_id":"a"}}`)); err == nil {
		t.Error("unknown field event_id accepted")
	}
	cmd, err := ParseCommand([]byte(`{"reprocess":{"eventId":"a"}}`))
	if err != nil || cmd.Reprocess == nil || cmd.Reprocess.EventID != "a" {
		t.Errorf("%+v %v", cmd, err)
	}
}

// A webhook is bounded by RequestBudget whatever the function's timeout, and
// keeps the marker's time before the function's own deadline.
func TestRequestContextBounds(t *testing.T) {
	for _, c := range []struct {
		name     string
		deadline time.Duration // 0: none
		want     time.Duration
	}{
		{"no deadline", 0, RequestBudget},
		{"long function timeout", 15 * time.Minute, RequestBudget},
		{"10 s function timeout", 10 * time.Second, 10*time.Second - markerTimeout},
		{"short", 5 * time.Second, 5*time.Second - markerTimeout},
	} {
		parent := context.Background()
		if c.deadline > 0 {
			var cancel context.CancelFunc
			parent, cancel = context.WithTimeout(parent, c.deadline)
			defer cancel()
		}
		ctx, cancel := requestContext(parent)
		dl, ok := ctx.Deadline()
		cancel()
		if got := time.Until(dl); !ok || got > c.want || got < c.want-time.Second {
			t.Errorf("%s: bounded to %v, want %v", c.name, got, c.want)
		}
	}
}

// commandFields are the exact field names of each command, written out here
// (not derived from the types) so that the oracle below is independent.
var commandFields = map[string]map[string]bool{
	"reprocess": {"eventId": true},
	"redrive":   {"olderThan": true, "sweep": true},
	"replay":    {"from": true, "to": true, "types": true, "subjects": true, "dryRun": true, "replayId": true},
}

// keysOf returns the keys of a JSON object in order (nil when raw is not one).
func keysOf(raw []byte) ([]string, map[string]json.RawMessage) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil
	}
	var keys []string
	vals := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil
		}
		k, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil
		}
		keys = append(keys, k)
		vals[k] = v
	}
	return keys, vals
}

// Whatever the payload, a command ParseCommand accepts names each field
// exactly once and exactly as spelt: no repeated key decides a value behind
// the operator's back, no "DRYRUN" is taken for "dryRun".
func FuzzParseCommand(f *testing.F) {
	for _, seed := range []string{
		`{"redrive":{"olderThan":"5m"}}`, `{"redrive":{"olderThan":"1h","olderThan":"0s"}}`, `{"redrive":{"OlderThan":"1h"}}`,
		`{"replay":{"from":"2026-01-01T00:00:00Z","to":"2026-01-02T00:00:00Z","DRYRUN":true,"dryRun":false}}`,
		`{"reprocess":{"eventId":"a"}}`, `{"Reprocess":{"eventId":"a"}}`, `{"replay":{"types":["a","b"],"subjects":["x"]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		if _, err := ParseCommand(payload); err != nil {
			return
		}
		top, vals := keysOf(payload)
		seen := map[string]bool{}
		for _, k := range top {
			fields, ok := commandFields[k]
			if !ok || seen[k] {
				t.Fatalf("accepted %q: top-level key %q", payload, k)
			}
			seen[k] = true
			if string(bytes.TrimSpace(vals[k])) == "null" {
				continue
			}
			inner, _ := keysOf(vals[k])
			got := map[string]bool{}
			for _, f := range inner {
				if !fields[f] || got[f] {
					t.Fatalf("accepted %q: field %q of %s", payload, f, k)
				}
				got[f] = true
			}
		}
	})
}
