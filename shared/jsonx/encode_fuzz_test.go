package jsonx

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// The two string encoders against encoding/json: the HTML-safe form is exactly
// what json.Marshal writes; the minimal form reads back as the same string
// (invalid UTF-8 as U+FFFD) and escapes nothing but what JSON requires.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `q"b\`, "<a&b>", "\u2028\u2029", "\x00\x1f\t\n", "\xff\xfe", "é中𝟘", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendHTMLSafe(nil, []byte(s)); !bytes.Equal(got, want) {
			t.Fatalf("html-safe %q: %s, json.Marshal %s", s, got, want)
		}
		min := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(min, &back); err != nil {
			t.Fatalf("%q encoded as %s: %v", s, min, err)
		}
		if back != strings.ToValidUTF8(s, "\ufffd") && utf8.ValidString(s) {
			t.Fatalf("%q read back as %q", s, back)
		}
		if utf8.ValidString(s) && bytes.ContainsAny(min, "<>&") != strings.ContainsAny(s, "<>&") {
			t.Fatalf("%q: minimal form %s escapes HTML characters", s, min)
		}
	})
}
