package pipeline_test

// The schemas of schemas/ and the consumer package's Decode are what consumer
// teams validate messages with. Their oracle is the receivers themselves:
// every message the request path makes, of every sample, generated webhook
// and variation of the golden set, meets its schema (checked by a real JSON
// Schema validator) and decodes; and on thousands of messages mutated from
// those, the schema and Decode give the same verdict, and refuse what the
// receivers never send (a required field removed, a field retyped, a full
// card number, a secret field).

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"webhooks/consumer"
	"webhooks/schemas"
	"webhooks/shared/pipeline"
)

// compiledSchemas compiles every file of schemas/ (schemas.Compile).
func compiledSchemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	out, err := schemas.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// schemaVerdict validates body against the schema of its type (read from
// the body; an unknown or missing type has no schema: refused).
func schemaVerdict(compiled map[string]*jsonschema.Schema, body []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return err
	}
	var head struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(body, &head)
	s, ok := compiled[head.Type]
	if !ok {
		return fmt.Errorf("no schema for type %q", head.Type)
	}
	return s.Validate(inst)
}

func TestEveryMessageMeetsItsSchema(t *testing.T) {
	compiled := compiledSchemas(t)
	runs := goldenRuns(t)
	full, variations := goldenCases(t)
	mutated := 80
	if testing.Short() {
		// Every sample, every 8th variation, a quarter of the mutations:
		// make test runs them all.
		variations, mutated = everyNth(variations, 8), 20
	}
	seen := map[string]int{}
	var messages [][]byte
	unknown := 0
	for _, c := range append(full, variations...) {
		o := runs[c.provider](c.ev, goldenNow)
		if o.Body == "" {
			continue
		}
		body := withEventID([]byte(o.Body))
		_, decodeErr := consumer.DecodeBody(body)
		if consumer.ProviderOf(o.Type) == "" { // an OSL Pay type no one documents
			unknown++
			if !errors.Is(decodeErr, consumer.ErrUnknownType) {
				t.Errorf("%s/%s: type %q: Decode: %v, want ErrUnknownType", c.provider, c.name, o.Type, decodeErr)
			}
			continue
		}
		seen[o.Type]++
		if err := schemaVerdict(compiled, body); err != nil {
			t.Errorf("%s/%s: the message does not meet schemas/%s.json: %v\n%s", c.provider, c.name, o.Type, err, body)
		}
		if decodeErr != nil {
			t.Errorf("%s/%s: Decode: %v\n%s", c.provider, c.name, decodeErr, body)
		}
		messages = append(messages, body)
	}
	for _, typ := range consumer.EventTypes() {
		if seen[typ] == 0 {
			t.Errorf("no message of type %s in the golden set", typ)
		}
	}
	t.Logf("%d messages of the 15 types meet their schemas and decode (%d of undocumented OSL Pay types); by type: %v", len(messages), unknown, seen)

	// Mutations: the schema and Decode agree, message by message.
	agreed, refused := 0, 0
	for _, body := range distinct(messages, mutated) {
		var all [][]byte
		for _, m := range mutations(t, body) {
			all = append(all, m.body)
		}
		for _, m := range append(all, variationsOf(body)...) {
			if repeatsAName(m) {
				// JSON Schema sees the parsed value, where a repeated name
				// is invisible; Decode refuses it (the receivers never send one).
				if _, err := consumer.DecodeBody(m); err == nil {
					t.Errorf("Decode accepts a repeated member name:\n%s", m)
				}
				continue
			}
			schemaErr := schemaVerdict(compiled, m)
			_, decodeErr := consumer.DecodeBody(m)
			if (schemaErr == nil) != (decodeErr == nil) {
				t.Errorf("schema and Decode disagree on\n%s\nschema: %v\nDecode: %v", m, schemaErr, decodeErr)
				continue
			}
			agreed++
			if schemaErr != nil {
				refused++
			}
		}
	}
	t.Logf("%d mutated messages: schema and Decode agree on all (%d refused by both)", agreed, refused)
}

// TestSchemasRefuseWhatReceiversNeverSend: for every message, each mutation
// of these kinds is refused by the schema and by Decode.
func TestSchemasRefuseWhatReceiversNeverSend(t *testing.T) {
	compiled := compiledSchemas(t)
	runs := goldenRuns(t)
	full, _ := goldenCases(t)
	n := 0
	for _, c := range full {
		o := runs[c.provider](c.ev, goldenNow)
		if o.Body == "" || consumer.ProviderOf(o.Type) == "" {
			continue
		}
		for _, m := range mutations(t, withEventID([]byte(o.Body))) {
			if !m.refused {
				continue
			}
			n++
			if err := schemaVerdict(compiled, m.body); err == nil {
				t.Errorf("%s: schemas/%s.json accepts a message the receivers never send (%s):\n%s", c.name, o.Type, m.what, m.body)
			}
			if _, err := consumer.DecodeBody(m.body); err == nil {
				t.Errorf("%s: Decode accepts a message the receivers never send (%s):\n%s", c.name, m.what, m.body)
			}
		}
	}
	if n < 1000 {
		t.Fatalf("only %d mutations", n)
	}
	t.Logf("%d mutations refused by the schemas and by Decode", n)
}

// withEventID gives the message of an entity event (APIGift's invoice,
// product, ticket and sell review events, whose id comes from the state the
// table records: the golden run writes "entity-event") an id of the form
// every event id has.
func withEventID(body []byte) []byte {
	sum := sha256.Sum256(body)
	return bytes.Replace(body, []byte(`"id":"entity-event"`), []byte(`"id":"`+hex.EncodeToString(sum[:16])+`"`), 1)
}

type mutation struct {
	what    string
	body    []byte
	refused bool // the receivers never send it
}

// mutations of a message: each required member removed, each typed member
// given a value of another type, full card numbers in card-number members
// (documented or not, at the top of data and deeper), a secret member in an
// OSL Pay event, and envelope members changed.
func mutations(t *testing.T, body []byte) []mutation {
	t.Helper()
	var msg map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&msg); err != nil {
		t.Fatal(err)
	}
	typ, _ := msg["type"].(string)
	var schema struct {
		Defs struct {
			Data struct {
				Required   []string                   `json:"required"`
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"data"`
		} `json:"$defs"`
	}
	raw, err := schemas.FS.ReadFile(typ + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	var out []mutation
	add := func(what string, refused bool, change func(msg, data map[string]any)) {
		c := deepCopy(msg).(map[string]any)
		data, _ := c["data"].(map[string]any)
		change(c, data)
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, mutation{what, b, refused})
	}
	for _, name := range []string{"specversion", "id", "source", "type", "subject", "time", "datacontenttype", "data"} {
		add("envelope member "+name+" removed", true, func(m, _ map[string]any) { delete(m, name) })
		add("envelope member "+name+" a number", true, func(m, _ map[string]any) { m[name] = json.Number("1") })
	}
	add("an id in upper case", true, func(m, _ map[string]any) { m["id"] = strings.ToUpper(m["id"].(string)) })
	add("another source", true, func(m, _ map[string]any) { m["source"] = "webhooks/elsewhere" })
	add("a time with an offset", true, func(m, _ map[string]any) { m["time"] = "2026-01-02T03:04:05+01:00" })
	add("an empty subject", true, func(m, _ map[string]any) { m["subject"] = "" })
	add("an unknown member", true, func(m, _ map[string]any) { m["traceparent"] = "00-x" })
	add("an empty replayid", true, func(m, _ map[string]any) { m["replayid"] = "" })
	add("a replayid", false, func(m, _ map[string]any) { m["replayid"] = "20261128T120000Z-0123456789abcdef" })
	for _, name := range schema.Defs.Data.Required {
		add("data."+name+" removed", true, func(_, d map[string]any) { delete(d, name) })
		add("data."+name+" null", !isAnyValue(schema.Defs.Data.Properties[name]), func(_, d map[string]any) { d[name] = nil })
	}
	names := make([]string, 0, len(schema.Defs.Data.Properties))
	for name := range schema.Defs.Data.Properties {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		var p struct {
			Type any `json:"type"`
		}
		_ = json.Unmarshal(schema.Defs.Data.Properties[name], &p)
		types := fmt.Sprint(p.Type)
		switch {
		case strings.Contains(types, "string"):
			add("data."+name+" a number", true, func(_, d map[string]any) { d[name] = json.Number("7") })
			add("data."+name+" an object", true, func(_, d map[string]any) { d[name] = map[string]any{} })
		case strings.Contains(types, "number"):
			add("data."+name+" a string", true, func(_, d map[string]any) { d[name] = "7" })
		case strings.Contains(types, "boolean"):
			add("data."+name+" a string", true, func(_, d map[string]any) { d[name] = "true" })
		}
	}
	for _, pan := range []string{"4111111111111111", "4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005", "4111111111111"} {
		add("a full card number in data.cardNumber", true, func(_, d map[string]any) { d["cardNumber"] = pan })
		add("a full card number in data.pan, deeper", true, func(_, d map[string]any) {
			d["payment"] = map[string]any{"card": map[string]any{"pan": pan}}
		})
		add("a full card number in data.card_number, in an array", true, func(_, d map[string]any) {
			d["cards"] = []any{map[string]any{"card_number": []any{"x", pan}}}
		})
	}
	add("a card number that is a number", true, func(_, d map[string]any) { d["cardNo"] = json.Number("4111111111111111") })
	add("a masked card number", false, func(_, d map[string]any) { d["cardNumber"] = "411111******1111" })
	if consumer.ProviderOf(typ) == consumer.ProviderOSLPay {
		add("a secret member", true, func(_, d map[string]any) { d["privateSecret"] = "s" })
		add("a secret member, deeper", true, func(_, d map[string]any) { d["extra"] = []any{map[string]any{"apiPassword": "p"}} })
	}
	if typ == consumer.TypeAPIGiftInventoryItemDelivered {
		add("the ciphertext of the goods", true, func(_, d map[string]any) { d["encryptedVirtualCollections"] = "AAAA" })
	}
	return out
}

// repeatsAName reports whether some object of the JSON text b repeats a
// member name.
func repeatsAName(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		obj   bool
		names map[string]bool
		key   bool // the next string token is a name
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if s, ok := tok.(string); ok && top != nil && top.obj && top.key {
			if top.names[s] {
				return true
			}
			top.names[s] = true
			top.key = false
			continue
		}
		if top != nil && top.obj {
			top.key = true // a value was read: a name comes next
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{obj: true, names: map[string]bool{}, key: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].obj {
				stack[len(stack)-1].key = true
			}
		}
	}
}

// isAnyValue reports whether a property's schema admits any value (no "type").
func isAnyValue(p json.RawMessage) bool {
	var s map[string]any
	_ = json.Unmarshal(p, &s)
	_, typed := s["type"]
	_, ref := s["$ref"]
	_, anyOf := s["anyOf"]
	return !typed && !ref && !anyOf
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(x))
		for k, e := range x {
			c[k] = deepCopy(e)
		}
		return c
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = deepCopy(e)
		}
		return c
	}
	return v
}

// distinct returns up to n of the messages, one per distinct shape first.
func distinct(messages [][]byte, n int) [][]byte {
	if len(messages) <= n {
		return messages
	}
	step := len(messages) / n
	var out [][]byte
	for i := 0; i < len(messages) && len(out) < n; i += step {
		out = append(out, messages[i])
	}
	return out
}

// An event time RFC 3339 cannot write in UTC (year 10000, or before year 0)
// becomes the receipt time: every message's time meets the schemas.
func TestEventTimeStaysWritable(t *testing.T) {
	received := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"9999-12-31T23:30:00-01:00": received,
		"0000-01-01T00:00:00+01:00": received,
		"9999-12-31T22:30:00-01:00": time.Date(9999, 12, 31, 23, 30, 0, 0, time.UTC),
		"0000-01-01T00:00:00Z":      time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		"2022-10-26T14:22:05+07:00": time.Date(2022, 10, 26, 7, 22, 5, 0, time.UTC),
	} {
		tm, err := time.Parse(time.RFC3339, in)
		if err != nil {
			t.Fatal(err)
		}
		if got := pipeline.EventTime(tm, received); !got.Equal(want) {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
	if got := pipeline.EventTime(time.Time{}, received); !got.Equal(received) {
		t.Errorf("no time: %s, want the receipt", got)
	}
}

// everyNth returns every n-th element of s, the first included.
func everyNth[T any](s []T, n int) []T {
	var out []T
	for i := 0; i < len(s); i += n {
		out = append(out, s[i])
	}
	return out
}
