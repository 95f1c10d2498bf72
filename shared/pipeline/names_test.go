package pipeline_test

// Member names: which members hold a card number (masked by the receivers)
// and, for OSL Pay, which are secrets (dropped). One rule, in package
// webhooks/consumer/fieldname, is read four ways: by the receivers as they
// redact (shared/pan, with oslpay.IsSecretField), by consumer.DecodeBody, by the
// schemas' patterns as a JSON Schema validator applies them, and by Python's
// re as Python's jsonschema applies them. On generated names, all four give
// the same verdict, both ways; and a full card number under a name the
// receivers mask, or a member the OSL Pay receiver drops, is refused by the
// schema and by DecodeBody wherever it stands.

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"webhooks/consumer"
	"webhooks/schemas"
	"webhooks/shared/jsonx"
	"webhooks/shared/pan"
	"webhooks/shared/pipeline"
	"webhooks/shared/providers/oslpay"
)

// nameFragments are what generated names are made of: the rules' words in
// every case, near-misses, and separators and letters of every kind (digits
// of other scripts, spaces, marks, letters outside ASCII, İ and the Kelvin
// sign, which lower-case to ASCII letters).
var nameFragments = []string{
	"card", "Card", "CARD", "cArD", "number", "Number", "NUMBER", "no", "No", "NO", "num", "Num", "nbr", "NBR",
	"pan", "Pan", "PAN", "primary", "Primary", "PRIMARY", "PR\u0130MARY", "account", "Account", "ACCOUNT",
	"cardnumber", "CardNo", "pannumber", "panno", "primaryaccountnumber", "cardNumber2", "cardPan", "card_pan",
	"primaryAccountNumber", "secret", "Secret", "SECRET", "sec", "ret", "pass", "Word", "word", "private", "Key",
	"\u212aey", "KEY", "id", "Id", "Type", "time", "span", "company", "Value", "holder", "x", "X", "s", "e",
	"_", "-", " ", ".", "/", "*", "#", "1", "42", "\u0663", "\uff11", "\u00a0", "\t", "\n", "\u00ad", "\u0301",
	"é", "É", "中", "ſ", "ǅ", "ñ", "\u212a", "\u0130", "\U0001d7ce", "\xff",
}

// generatedNames returns every name of one or two fragments and n more of
// up to six, now and then with a letter's case flipped; each as JSON
// decodes it (invalid UTF-8 becomes U+FFFD), since every reading below reads
// a name from JSON.
func generatedNames(n int) []string {
	var out []string
	for _, a := range nameFragments {
		out = append(out, a)
		for _, b := range nameFragments {
			out = append(out, a+b)
		}
	}
	rng := rand.New(rand.NewPCG(19, 10))
	for range n {
		var b strings.Builder
		for range 1 + rng.IntN(6) {
			f := []rune(nameFragments[rng.IntN(len(nameFragments))])
			if k := rng.IntN(len(f)); rng.IntN(6) == 0 {
				if unicode.IsUpper(f[k]) {
					f[k] = unicode.ToLower(f[k])
				} else {
					f[k] = unicode.ToUpper(f[k])
				}
			}
			b.WriteString(string(f))
		}
		out = append(out, b.String())
	}
	for i, s := range out {
		raw, _ := json.Marshal(s)
		_ = json.Unmarshal(raw, &out[i])
	}
	return out
}

// receiversMaskCard reports whether the receivers treat a member named name
// as a card number: redacting {"w":{name:"1234"}} masks the value (a value
// of 4 digits is never masked anywhere else).
func receiversMaskCard(t *testing.T, name string) bool {
	t.Helper()
	doc := `{"w":{` + quote(name) + `:"1234"}}`
	out, err := pan.Policy{}.Redact([]byte(doc))
	if err != nil {
		t.Fatalf("redact %s: %v", doc, err)
	}
	switch {
	case bytes.Contains(out, []byte(`:"****"}`)):
		return true
	case bytes.Contains(out, []byte(`:"1234"}`)):
		return false
	}
	t.Fatalf("redact %s: %s", doc, out)
	return false
}

// receiversDropSecret reports whether the OSL Pay receiver drops a member
// named name: sanitising {"w":{name:"v","=":1}} leaves {"w":{"=":1}}.
func receiversDropSecret(t *testing.T, name string) bool {
	t.Helper()
	out, err := pan.Policy{Drop: oslpay.IsSecretField}.Redact([]byte(`{"w":{` + quote(name) + `:"v","=":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	return string(out) == `{"w":{"=":1}}`
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// baseMessages are messages the receivers made, one per event type used
// here, from the samples.
func baseMessages(t *testing.T, types ...string) map[string][]byte {
	t.Helper()
	runs := goldenRuns(t)
	full, _ := goldenCases(t)
	out := map[string][]byte{}
	for _, c := range full {
		o := runs[c.provider](c.ev, goldenNow)
		if o.Body != "" && out[o.Type] == nil {
			out[o.Type] = withEventID([]byte(o.Body))
		}
	}
	for _, typ := range types {
		if out[typ] == nil {
			t.Fatalf("no sample makes a message of type %s", typ)
		}
		if _, err := consumer.DecodeBody(out[typ]); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
	}
	return out
}

// withData returns body with change applied to its data.
func withData(t *testing.T, body []byte, change func(data map[string]any)) []byte {
	t.Helper()
	var msg map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&msg); err != nil {
		t.Fatal(err)
	}
	change(msg["data"].(map[string]any))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(msg); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(buf.Bytes())
}

// verdicts of one message: the schema's and DecodeBody's (nil: accepted).
func verdicts(compiled map[string]*jsonschema.Schema, body []byte) (schemaErr, decodeErr error) {
	_, decodeErr = consumer.DecodeBody(body)
	return schemaVerdict(compiled, body), decodeErr
}

// The receivers, DecodeBody, the schema (validated by jsonschema/v6) and
// Python's re (as Python's jsonschema applies patternProperties) agree on
// every generated name, both ways: a member under a name is refused (a
// value of 4 digits under a card-number name; any member under a secret
// name in an OSL Pay event) exactly when the receivers mask or drop it.
func TestSchemaNamePatternsAreTheReceivers(t *testing.T) {
	n := 12000
	if testing.Short() {
		n = 1000
	}
	compiled := compiledSchemas(t)
	base := baseMessages(t, consumer.TypeTikiOrder, consumer.TypeOSLPayOrder)
	names := generatedNames(n)
	type verdict struct{ card, secret bool }
	got := make([]verdict, len(names))
	var cards, secrets int
	var cardBodies, secretBodies [][]byte
	for i, name := range names {
		card, secret := receiversMaskCard(t, name), receiversDropSecret(t, name)
		got[i] = verdict{card, secret}
		if card {
			cards++
		}
		if secret {
			secrets++
		}
		cb := withData(t, base[consumer.TypeTikiOrder], func(d map[string]any) { d["w"] = map[string]any{name: "1234"} })
		sb := withData(t, base[consumer.TypeOSLPayOrder], func(d map[string]any) { d["w"] = map[string]any{name: "v"} })
		if i%40 == 0 {
			cardBodies, secretBodies = append(cardBodies, cb), append(secretBodies, sb)
		}
		for _, c := range []struct {
			what   string
			body   []byte
			refuse bool
		}{{"a 4-digit value (card-number names)", cb, card}, {"a member (OSL Pay secret names)", sb, secret}} {
			schemaErr, decodeErr := verdicts(compiled, c.body)
			if (schemaErr != nil) != c.refuse || (decodeErr != nil) != c.refuse {
				t.Fatalf("%q, %s: the receivers mask or drop it: %v; the schema refuses it: %v; DecodeBody: %v\n%s",
					name, c.what, c.refuse, schemaErr, decodeErr, c.body)
			}
		}
	}
	if cards < len(names)/20 || secrets < len(names)/50 || cards == len(names) || secrets == len(names) {
		t.Fatalf("%d names: %d card-number and %d secret names: too few of a kind to prove anything", len(names), cards, secrets)
	}
	t.Logf("%d names (%d card-number, %d secret): the receivers, the schemas and DecodeBody agree on each", len(names), cards, secrets)

	// Python's re, on the patterns as the schema files hold them, and
	// Python's jsonschema on a sample of the messages.
	py := pythonVerdicts(t, names, cardBodies, secretBodies)
	if py == nil {
		return
	}
	for i, name := range names {
		if py.Names[i] != [2]bool{got[i].card, got[i].secret} {
			t.Fatalf("%q: Python's re reads the patterns as card %v, secret %v; the receivers %v, %v", name, py.Names[i][0], py.Names[i][1], got[i].card, got[i].secret)
		}
	}
	for i, body := range append(cardBodies, secretBodies...) {
		schemaErr, _ := verdicts(compiled, body)
		if py.Messages[i] != (schemaErr == nil) {
			t.Fatalf("Python's jsonschema says valid=%v, jsonschema/v6 %v:\n%s", py.Messages[i], schemaErr, body)
		}
	}
	t.Logf("Python: re agrees on the %d names, jsonschema on %d messages", len(names), len(py.Messages))
}

type pythonResult struct {
	Names    [][2]bool `json:"names"`
	Messages []bool    `json:"messages"`
}

const pythonCheck = `
import json, re, sys
from jsonschema import Draft202012Validator
inp = json.load(open(sys.argv[1]))
def patterns(path):
    pp = json.load(open(path))["$defs"]["redacted"]["patternProperties"]
    card = [k for k, v in pp.items() if v is not False]
    secret = [k for k, v in pp.items() if v is False]
    return card[0], (secret[0] if secret else None)
card, _ = patterns(inp["tiki"])
_, secret = patterns(inp["oslpay"])
names = [[re.search(card, n) is not None, re.search(secret, n) is not None] for n in inp["names"]]
validators = {}
for t, p in (("tiki.order.status_changed", inp["tiki"]), ("oslpay.order.status_changed", inp["oslpay"])):
    validators[t] = Draft202012Validator(json.load(open(p)), format_checker=Draft202012Validator.FORMAT_CHECKER)
msgs = [validators[m["type"]].is_valid(m) for m in inp["messages"]]
json.dump({"names": names, "messages": msgs}, sys.stdout)
`

// pythonVerdicts runs pythonCheck, or returns nil (the test logs why) when
// Python or its jsonschema is missing; on CI (CI=true) that fails the test.
func pythonVerdicts(t *testing.T, names []string, bodies ...[][]byte) *pythonResult {
	t.Helper()
	if err := exec.Command("python3", "-c", "import jsonschema").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 with jsonschema is needed on CI: %v", err)
		}
		t.Logf("python3 with jsonschema not found (%v): Python's reading not checked", err)
		return nil
	}
	dir := t.TempDir()
	in := map[string]any{"names": names, "messages": []json.RawMessage{}}
	for _, list := range bodies {
		for _, b := range list {
			in["messages"] = append(in["messages"].([]json.RawMessage), b)
		}
	}
	for key, typ := range map[string]string{"tiki": consumer.TypeTikiOrder, "oslpay": consumer.TypeOSLPayOrder} {
		raw, err := schemas.FS.ReadFile(typ + ".json")
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, typ+".json")
		if err := os.WriteFile(p, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		in[key] = p
	}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(dir, "input.json")
	if err := os.WriteFile(input, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", "-c", pythonCheck, input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, stderr.Bytes())
	}
	var res pythonResult
	if err := json.Unmarshal(out, &res); err != nil || len(res.Names) != len(names) {
		t.Fatalf("python3 answered %d verdicts (%v): %.200s", len(res.Names), err, out)
	}
	return &res
}

// A full card number (Luhn-valid) under a name the receivers mask is refused
// by the schema and by DecodeBody wherever it stands: at the top of data,
// nested, in an array, as a string or a number; under a name they do not
// mask (and that is no documented field), it is accepted by both, as the
// schemas say (a card number in free text is the receivers' to mask, and
// cannot be told from other digits by a pattern).
func TestFullCardNumberUnderACardNameIsRefused(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	compiled := compiledSchemas(t)
	types := []string{consumer.TypeTikiOrder, consumer.TypeAlchemyPayCardOrder, consumer.TypeAPIGiftSupportTicketUpdated}
	base := baseMessages(t, types...)
	declared := declaredNames(t, types...)
	pans := []any{"4111111111111111", "4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005", json.Number("4111111111111111")}
	placements := []struct {
		what string
		put  func(d map[string]any, name string, v any)
	}{
		{"at the top of data", func(d map[string]any, name string, v any) { d[name] = v }},
		{"nested", func(d map[string]any, name string, v any) { d["w"] = map[string]any{"x": map[string]any{name: v}} }},
		{"in an array of objects", func(d map[string]any, name string, v any) { d["w"] = []any{1, map[string]any{name: v}} }},
		{"in an array under the name", func(d map[string]any, name string, v any) { d["w"] = map[string]any{name: []any{"x", v}} }},
	}
	refused, accepted := 0, 0
	for i, name := range generatedNames(n) {
		card := receiversMaskCard(t, name)
		typ := types[i%len(types)]
		for k, p := range placements {
			if k == 0 && declared[typ][name] {
				continue // a documented field: its own type rules
			}
			v := pans[(i+k)%len(pans)]
			if _, isNumber := v.(json.Number); isNumber && !card {
				v = "4111111111111111" // a number under an undocumented name is any number
			}
			body := withData(t, base[typ], func(d map[string]any) { p.put(d, name, v) })
			schemaErr, decodeErr := verdicts(compiled, body)
			if card && (schemaErr == nil || decodeErr == nil) {
				t.Fatalf("%q (a card-number name), a full card number %s: schema %v, DecodeBody %v; want both to refuse\n%s", name, p.what, schemaErr, decodeErr, body)
			}
			if !card && (schemaErr != nil || decodeErr != nil) {
				t.Fatalf("%q (not a card-number name), %s: schema %v, DecodeBody %v; want both to accept\n%s", name, p.what, schemaErr, decodeErr, body)
			}
			if card {
				refused++
			} else {
				accepted++
			}
		}
	}
	if refused < 1000 || accepted < 1000 {
		t.Fatalf("%d messages refused, %d accepted: too few of a kind", refused, accepted)
	}
	t.Logf("%d messages with a full card number under a card-number name refused by the schema and DecodeBody; %d under other names accepted by both", refused, accepted)
}

// A member the OSL Pay receiver drops as a secret is refused by the schema
// and by DecodeBody at any depth; any other (undocumented) member is
// accepted by both.
func TestSecretMemberIsRefused(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	compiled := compiledSchemas(t)
	types := []string{consumer.TypeOSLPayOrder, consumer.TypeOSLPayKYC}
	base := baseMessages(t, types...)
	declared := declaredNames(t, types...)
	placements := []func(d map[string]any, name string){
		func(d map[string]any, name string) { d[name] = "v" },
		func(d map[string]any, name string) { d["w"] = map[string]any{"x": map[string]any{name: true}} },
		func(d map[string]any, name string) { d["w"] = []any{map[string]any{name: nil}} },
		func(d map[string]any, name string) { d["cardNumber"] = map[string]any{name: "x"} }, // inside a card number too
	}
	refused, accepted := 0, 0
	for i, name := range generatedNames(n) {
		secret := receiversDropSecret(t, name)
		typ := types[i%len(types)]
		for k, put := range placements {
			if k == 0 && declared[typ][name] || k == 3 && name == "cardNumber" {
				continue
			}
			body := withData(t, base[typ], func(d map[string]any) { put(d, name) })
			schemaErr, decodeErr := verdicts(compiled, body)
			switch {
			case secret && (schemaErr == nil || decodeErr == nil):
				t.Fatalf("%q (a secret name), placement %d: schema %v, DecodeBody %v; want both to refuse\n%s", name, k, schemaErr, decodeErr, body)
			case !secret && (schemaErr != nil || decodeErr != nil):
				t.Fatalf("%q (not a secret name), placement %d: schema %v, DecodeBody %v; want both to accept\n%s", name, k, schemaErr, decodeErr, body)
			}
			if secret {
				refused++
			} else {
				accepted++
			}
		}
	}
	if refused < 500 || accepted < 1000 {
		t.Fatalf("%d messages refused, %d accepted: too few of a kind", refused, accepted)
	}
	t.Logf("%d OSL Pay messages with a secret member refused by the schema and DecodeBody; %d with other members accepted by both", refused, accepted)
}

// declaredNames are the members of data each type's schema names.
func declaredNames(t *testing.T, types ...string) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	for _, typ := range types {
		raw, err := schemas.FS.ReadFile(typ + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			Defs struct {
				Data struct {
					Properties map[string]json.RawMessage `json:"properties"`
				} `json:"data"`
			} `json:"$defs"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatal(err)
		}
		out[typ] = map[string]bool{}
		for name := range s.Defs.Data.Properties {
			out[typ][name] = true
		}
	}
	return out
}

// The event type's shortcut for types without a digit gives what redaction
// of a string value gives (an undocumented OSL Pay type is read from the
// body: "card 4111 1111 1111 1111" must not reach the table or the queue).
func TestRedactedTypeShortcut(t *testing.T) {
	slow := func(s string) string {
		out, err := pan.Policy{}.Redact(jsonx.AppendString(nil, s))
		if err != nil {
			t.Fatal(err)
		}
		var v string
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, kind := range []string{oslpay.KindOrderStatus, "refund", "unknown type", "a\"b\\c", "x\x7fy", "", "é", "4111111111111111", "card 4111 1111 1111 1111", "<&>", "\x01"} {
		for _, typ := range []string{oslpay.EventType(kind), kind} {
			if got := pipeline.RedactedType(typ); got != slow(typ) {
				t.Errorf("%q: %q, redaction gives %q", typ, got, slow(typ))
			}
		}
	}
}
