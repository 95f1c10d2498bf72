package jsonx

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// CheckObject never panics, and whatever it accepts encoding/json parses as an
// object with valid UTF-8.
func FuzzCheckObject(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":{"b":[1,2,{"c":null}]}}`, `{"a":1,"a":2}`, `[1]`, `{"a":"\u00ff"}`, "{\"a\":\"\xff\"}", `{"a":1}{}`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if CheckObject(b) != nil {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("accepted %q but encoding/json says %v", b, err)
		}
		if !utf8.Valid(b) {
			t.Fatalf("accepted invalid UTF-8 %q", b)
		}
	})
}
