package queue

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestGroupID(t *testing.T) {
	for in, keep := range map[string]bool{
		"347171821":              true,
		"sgn/1377286379376":      true,
		"a!b#c~":                 true,
		strings.Repeat("x", 128): true,
		strings.Repeat("x", 129): false,
		"":                       false,
		"has space":              false,
		"ünïcode":                false,
		"tab\t":                  false,
	} {
		got := GroupID(in)
		if keep && got != in {
			t.Errorf("GroupID(%q) = %q, want unchanged", in, got)
		}
		if !keep && (got == in || !validGroupID(got) || GroupID(in) != got) {
			t.Errorf("GroupID(%q) = %q, want a stable valid digest", in, got)
		}
	}
	if GroupID("a b") == GroupID("a  b") {
		t.Error("distinct entities share a digest")
	}
}

func TestCloudEventShape(t *testing.T) {
	ce := NewCloudEvent("tiki", "id1", "tiki.order.status_changed", "", time.Date(2022, 10, 26, 7, 22, 5, 0, time.UTC), json.RawMessage(`{"a":1}`))
	b, _ := json.Marshal(ce)
	want := `{"specversion":"1.0","id":"id1","source":"webhooks/tiki","type":"tiki.order.status_changed","subject":"id1","time":"2022-10-26T07:22:05Z","datacontenttype":"application/json","data":{"a":1}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}
