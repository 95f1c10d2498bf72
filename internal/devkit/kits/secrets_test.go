package kits_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"webhooks/internal/devkit"
	"webhooks/shared/providers/alchemypay"
	"webhooks/shared/providers/apigift"
	"webhooks/shared/providers/oslpay"
	"webhooks/shared/providers/tiki"
	"webhooks/shared/secrets"
)

// secretParser is one provider's ParseSecret and the fields its secret may
// hold (the contract's, besides secrets.GraceField).
type secretParser struct {
	name   string
	parse  func([]byte) error
	fields []string
}

func secretParsers() []secretParser {
	return []secretParser{
		{tiki.Name, func(b []byte) error { _, err := tiki.New().ParseSecret(b); return err }, tiki.SecretFields},
		{apigift.Name, func(b []byte) error { _, err := apigift.New().ParseSecret(b); return err }, apigift.SecretFields},
		{alchemypay.Name, func(b []byte) error { _, err := alchemypay.New().ParseSecret(b); return err }, alchemypay.SecretFields},
		{oslpay.Name, func(b []byte) error { _, err := oslpay.New().ParseSecret(b); return err }, oslpay.SecretFields},
	}
}

// misspell returns a name that is not name but an operator could type for
// it: another case, a letter dropped, added or swapped, a plural or a
// singular.
func misspell(rng *rand.Rand, name string) string {
	for {
		r := []rune(name)
		var out string
		switch rng.IntN(7) {
		case 0: // another case, letter by letter
			for i := range r {
				if rng.IntN(2) == 0 {
					if unicode.IsUpper(r[i]) {
						r[i] = unicode.ToLower(r[i])
					} else {
						r[i] = unicode.ToUpper(r[i])
					}
				}
			}
			out = string(r)
		case 1:
			out = strings.ToUpper(name[:1]) + name[1:]
		case 2: // a letter dropped
			i := rng.IntN(len(r))
			out = string(r[:i]) + string(r[i+1:])
		case 3: // a letter added
			i := rng.IntN(len(r) + 1)
			out = string(r[:i]) + string(rune('a'+rng.IntN(26))) + string(r[i:])
		case 4: // two letters swapped
			if len(r) > 1 {
				i := rng.IntN(len(r) - 1)
				r[i], r[i+1] = r[i+1], r[i]
			}
			out = string(r)
		case 5: // plural or singular
			if strings.HasSuffix(name, "s") {
				out = strings.TrimSuffix(name, "s")
			} else {
				out = name + "s"
			}
		default: // snake case
			var b strings.Builder
			for _, c := range name {
				if unicode.IsUpper(c) {
					b.WriteByte('_')
				}
				b.WriteRune(unicode.ToLower(c))
			}
			out = b.String()
		}
		if out != name && out != "" {
			return out
		}
	}
}

// A secret version whose fields are not exactly the contract's fails closed:
// for every provider, each defined field (and the grace field) misspelt in
// generated ways, added beside the valid secret or replacing its field, and
// fields the contract does not define, are a configuration error whose text
// holds no value of the secret. The exact development secrets, with the grace
// field spelt right, parse.
func TestSecretFieldsFailClosed(t *testing.T) {
	dev, err := devkit.LoadDevSecrets(filepath.Join(repoRoot(t), "events"))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(19, 5))
	const marker = "SECRET-VALUE-MARKER-4111111111111111"
	cases := 0
	for _, p := range secretParsers() {
		var valid map[string]json.RawMessage
		if err := json.Unmarshal(dev[p.name], &valid); err != nil {
			t.Fatal(err)
		}
		encode := func(m map[string]json.RawMessage) []byte {
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		withGrace := map[string]json.RawMessage{secrets.GraceField: json.RawMessage("0")}
		for k, v := range valid {
			withGrace[k] = v
		}
		for _, ok := range [][]byte{dev[p.name], encode(withGrace)} {
			if err := p.parse(ok); err != nil {
				t.Fatalf("%s: the valid secret %s: %v", p.name, ok, err)
			}
		}
		names := append(append([]string(nil), p.fields...), secrets.GraceField)
		for range 300 {
			field := names[rng.IntN(len(names))]
			bad := misspell(rng, field)
			if strings.EqualFold(bad, secrets.PlaceholderField) {
				continue
			}
			m := map[string]json.RawMessage{}
			for k, v := range withGrace {
				m[k] = v
			}
			if rng.IntN(2) == 0 { // renamed
				m[bad] = m[field]
				delete(m, field)
			} else { // added beside
				m[bad] = json.RawMessage(`"` + marker + `"`)
			}
			if _, clash := valid[bad]; clash {
				continue
			}
			cases++
			err := p.parse(encode(m))
			if err == nil {
				t.Errorf("%s: %q (for %q) accepted: %s", p.name, bad, field, encode(m))
				continue
			}
			if msg := err.Error(); strings.Contains(msg, marker) || strings.Contains(msg, "411111") {
				t.Errorf("%s: the error holds a value: %v", p.name, err)
			}
		}
		for range 100 {
			name := fmt.Sprintf("x%dfield%c", rng.IntN(1000), 'a'+rng.IntN(26))
			m := map[string]json.RawMessage{name: json.RawMessage(`"` + marker + `"`)}
			for k, v := range valid {
				m[k] = v
			}
			cases++
			if err := p.parse(encode(m)); err == nil || strings.Contains(err.Error(), marker) || strings.Contains(err.Error(), name) {
				t.Errorf("%s: unknown field %q: %v", p.name, name, err)
			}
		}
	}
	t.Logf("%d misspelt or unknown fields refused", cases)
}
