package jsonx

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

func randomString(rng *rand.Rand) string {
	alphabet := []rune{'a', 'Z', '0', ' ', '<', '>', '&', '"', '\\', '/', '\n', '\t', '\b', '\f', '\r', 0, 0x01, 0x1F, 0x7F,
		0x2028, 0x2029, 0xFFFE, 0xFFFF, 0xFFFD, 0xE000, 0x1F600, 'é', '中'}
	rs := make([]rune, rng.IntN(30))
	for i := range rs {
		rs[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(rs)
}

// AppendString's output decodes to the same string, escapes nothing JSON does
// not require, and is never longer than encoding/json's.
func TestAppendStringRoundTripsWithLeastEscaping(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for i := 0; i < 5000; i++ {
		s := randomString(rng)
		out := AppendString([]byte("x"), s)[1:]
		var back string
		if err := json.Unmarshal(out, &back); err != nil || back != s {
			t.Fatalf("%q → %s → %q (%v)", s, out, back, err)
		}
		std, _ := json.Marshal(s)
		if len(out) > len(std) {
			t.Fatalf("%q: %d bytes, encoding/json %d", s, len(out), len(std))
		}
		for _, esc := range []string{`\u003c`, `\u003e`, `\u0026`, `\u2028`, `\u2029`} {
			if strings.Contains(string(out), esc) {
				t.Fatalf("%q: needless escape %s in %s", s, esc, out)
			}
		}
	}
	if got := string(AppendString(nil, "a\xffb")); got != "\"a\ufffdb\"" {
		t.Errorf("invalid UTF-8: %q", got)
	}
}

// SQSSafe leaves a JSON text meaning the same, with only characters SQS takes.
func TestSQSSafe(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for i := 0; i < 5000; i++ {
		s := randomString(rng)
		doc := AppendString(nil, s)
		safe := SQSSafe(doc)
		var back string
		if err := json.Unmarshal(safe, &back); err != nil || back != s {
			t.Fatalf("%q → %s (%v)", s, safe, err)
		}
		for _, r := range string(safe) {
			if !SQSAllowed(r) {
				t.Fatalf("%q: %U left in %s", s, r, safe)
			}
		}
		n := strings.Count(s, "\uFFFE") + strings.Count(s, "\uFFFF")
		if len(safe) != len(doc)+3*n {
			t.Fatalf("%q: %d → %d bytes", s, len(doc), len(safe))
		}
		if n == 0 && &safe[0] != &doc[0] {
			t.Fatalf("copied a document that needed no change")
		}
	}
	for _, r := range []rune{0x0, 0x8, 0xB, 0xC, 0xE, 0x1F, 0xFFFE, 0xFFFF, 0xD800} {
		if SQSAllowed(r) {
			t.Errorf("%U allowed", r)
		}
	}
	for _, r := range []rune{0x9, 0xA, 0xD, 0x20, 0xD7FF, 0xE000, 0xFFFD, 0x10000, utf8.MaxRune} {
		if !SQSAllowed(r) {
			t.Errorf("%U refused", r)
		}
	}
}
