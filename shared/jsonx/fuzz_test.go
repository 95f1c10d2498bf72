package jsonx

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
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

// refCheckObject is CheckObject as it was written on encoding/json's token
// decoder: the reference the hand-written checker must agree with.
func refCheckObject(body []byte) error {
	if !utf8.Valid(body) {
		return ErrInvalidUTF8
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		if len(trimmed) == 0 || !json.Valid(trimmed) {
			return ErrSyntax
		}
		return ErrNotObject
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := refWalk(dec, 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return ErrTrailingData
	}
	return nil
}

func refWalk(dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return ErrSyntax
	}
	d, ok := tok.(json.Delim)
	if !ok {
		if n, isNum := tok.(json.Number); isNum {
			if _, err := strconv.ParseFloat(string(n), 64); err != nil {
				return ErrNumberRange
			}
		}
		return nil
	}
	if depth+1 > MaxDepth {
		return ErrTooDeep
	}
	switch d {
	case '{':
		seen := map[string]struct{}{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return ErrSyntax
			}
			k, _ := kt.(string)
			if _, dup := seen[k]; dup {
				return ErrDuplicateKey
			}
			seen[k] = struct{}{}
			if err := refWalk(dec, depth+1); err != nil {
				return err
			}
		}
	case '[':
		for dec.More() {
			if err := refWalk(dec, depth+1); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return ErrSyntax
	}
	return nil
}

// class is the sentinel an error wraps.
func class(err error) error {
	for _, s := range []error{ErrInvalidUTF8, ErrSyntax, ErrNotObject, ErrDuplicateKey, ErrTooDeep, ErrTrailingData, ErrNumberRange} {
		if errors.Is(err, s) {
			return s
		}
	}
	return err
}

// agree checks that CheckObject accepts exactly what the reference accepts.
// Where both refuse, the reasons may differ only between syntax and another
// class (the token decoder reports some syntax errors later than a scan
// does): a refused body is refused either way.
func agree(t *testing.T, b []byte) {
	t.Helper()
	got, want := class(CheckObject(b)), class(refCheckObject(b))
	if (got == nil) != (want == nil) {
		t.Fatalf("%q: CheckObject %v, reference %v", b, got, want)
	}
	if got != want && got != ErrSyntax && want != ErrSyntax {
		t.Fatalf("%q: CheckObject %v, reference %v", b, got, want)
	}
	checkParse(t, b)
}

// FuzzCheckObjectAgrees: the one-pass checker and the token-decoder reference
// accept exactly the same bodies, and Parse agrees with both (checkParse).
func FuzzCheckObjectAgrees(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":"\u0061","\u0061":2}`, `{"a":[1,2.5e3,-0,{"b":null}],"c":true}`, `{"a":1e400}`, `{"a":"\ud800"}`, `{"a":"\ud800\udc00"}`, "{\"a\":\"\x01\"}", `{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":"\x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(agree)
}

// The same agreement on generated bodies: objects with repeated and escaped
// keys, numbers of every form, strings with escapes, nesting around the
// limit, and every prefix (truncation) of each.
func TestCheckObjectAgreesWithReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	gen := generator(rng)
	for n := 0; n < 3000; n++ {
		doc := gen(n)
		agree(t, []byte(doc))
		agree(t, []byte(doc[:rng.IntN(len(doc)+1)]))
		agree(t, []byte(" "+doc+" \n"+doc[:rng.IntN(3)]))
	}
}

// generator returns the generator of the differential tests' bodies: the
// n-th body (every tenth nested around the depth limit).
func generator(rng *rand.Rand) func(n int) string {
	atoms := []string{`1`, `-0`, `0.5`, `1e5`, `1E-5`, `1e400`, `-1e309`, `01`, `1.`, `.5`, `+1`, `"a"`, `"\u0061"`, `"\ud800"`, `"\ud83d\ude00"`,
		`"\x"`, "\"\x01\"", `"\/"`, `true`, `false`, `null`, `nul`, `[]`, `{}`, `[1,]`, `{"a"}`, strings.Repeat("9", 400)}
	keys := []string{`"a"`, `"b"`, `"\u0061"`, `"\u0062"`, `""`, `"a\u0000"`, `"\ud800"`, `"\ufffd"`}
	var gen func(depth int) string
	budget := 0
	gen = func(depth int) string {
		budget--
		if depth > MaxDepth+2 || budget < 0 || rng.IntN(3) == 0 {
			return atoms[rng.IntN(len(atoms))]
		}
		if rng.IntN(2) == 0 {
			parts := make([]string, rng.IntN(4))
			for i := range parts {
				parts[i] = gen(depth + 1)
			}
			return "[" + strings.Join(parts, ",") + "]"
		}
		parts := make([]string, rng.IntN(12))
		for i := range parts {
			parts[i] = keys[rng.IntN(len(keys))] + ":" + gen(depth+1)
		}
		return "{" + strings.Join(parts, " , ") + "}"
	}
	return func(n int) string {
		budget = 60
		if n%10 == 0 {
			budget = 3
			return strings.Repeat(`{"k":`, 30+rng.IntN(5)) + gen(0) + strings.Repeat("}", 30+rng.IntN(5))
		}
		return "{" + `"x":` + gen(1) + "}"
	}
}
