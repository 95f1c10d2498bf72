package consumer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"webhooks/consumer/fieldname"
)

// SchemaDialect is the JSON Schema dialect of every schema.
const SchemaDialect = "https://json-schema.org/draft/2020-12/schema"

// SchemaID is the $id of an event type's schema.
func SchemaID(eventType string) string { return "urn:webhooks:schema:" + eventType }

// The rules of the envelope's members, as regular expressions (DecodeBody
// applies them by hand: rules.go).
const (
	idPattern       = `^[0-9a-f]{32}$`
	timePattern     = `^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,3})?Z$`
	replayIDPattern = `^[A-Za-z0-9_-]{1,64}$`
)

// maskedStarsPattern and the two below are the rule of a masked card number
// (DecodeBody's maskedCardNumber): no digit, or 1 to 10 digits and at least
// 5 '*'. Member names are read by package fieldname, the receivers' own
// rules: fieldname.IsCardNumber and fieldname.IsSecret in DecodeBody, their
// patterns in the schemas.
const maskedStarsPattern = `(?:\*[^*]*){5}`

// A masked card number holds no digit (of any script: unicode.IsDigit, as the
// receivers count them), or at most 10 (its first 6 and last 4) and at least
// 5 '*' (the digits between them). The digits are spelt out as a character
// class, so that every regular-expression engine reads them alike.
var (
	digitClass             = digits()
	maskedNoDigitsPattern  = "^[^" + digitClass + "]*$"
	maskedFewDigitsPattern = "^[^" + digitClass + "]*(?:[" + digitClass + "][^" + digitClass + "]*){1,10}$"
)

// digits is the character class (without brackets) of unicode.Nd.
func digits() string {
	var b strings.Builder
	add := func(lo, hi, stride uint32) {
		if stride == 1 {
			b.WriteRune(rune(lo))
			if hi > lo {
				b.WriteByte('-')
				b.WriteRune(rune(hi))
			}
			return
		}
		for r := lo; r <= hi; r += stride {
			b.WriteRune(rune(r))
		}
	}
	for _, r := range unicode.Nd.R16 {
		add(uint32(r.Lo), uint32(r.Hi), uint32(r.Stride))
	}
	for _, r := range unicode.Nd.R32 {
		add(r.Lo, r.Hi, r.Stride)
	}
	return b.String()
}

// maskedNumberPattern is the shape of a JSON number literal whose digits the
// receiver masked ('*' for a hidden digit); the string must also hold a '*'
// (DecodeBody's maskedNumberLiteral).
const maskedNumberPattern = `^-?[0-9*]+(?:\.[0-9*]+)?(?:[eE][+-]?[0-9*]+)?$`

// nonBlankPattern matches a string with a character that is not white space
// as Go's strings.TrimSpace sees it (unicode.IsSpace), written out so that
// every regular-expression engine reads it the same way.
const nonBlankPattern = "[^\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"

// Schema returns the JSON Schema (2020-12) of the whole CloudEvent of a known
// event type: the file schemas/<type>.json of the repository is exactly
// this. Decode applies the same rules.
func Schema(eventType string) ([]byte, error) {
	et, ok := eventTypes[eventType]
	if !ok {
		return nil, fmt.Errorf("consumer: unknown event type %q", eventType)
	}
	p := providers[et.provider]
	defs := obj{}
	data := objectSchema(et.data, p, &defs)
	defs = append(obj{{"data", data}}, defs...)
	redacted := obj{
		{"description", "A value the receiver redacted: the value of every member named like a card number, at any depth, is a masked card number" + secretNote(p) + "."},
		{"patternProperties", namePatterns(p)},
		{"additionalProperties", ref("redacted")},
		{"items", ref("redacted")},
	}
	masked := obj{
		{"description", "A masked card number: every string holds no ASCII digit, or at most 10 (the first 6 and last 4 digits) and at least 5 '*' (the digits between them); numbers become strings."},
		{"type", []string{"string", "boolean", "null", "array", "object"}},
		{"anyOf", []any{
			obj{{"pattern", maskedNoDigitsPattern}},
			obj{{"allOf", []any{obj{{"pattern", maskedFewDigitsPattern}}, obj{{"pattern", maskedStarsPattern}}}}},
		}},
		{"items", ref("maskedCardNumber")},
	}
	if p.dropsSecrets { // the receiver drops secret members inside card numbers too
		masked = append(masked, kv{"patternProperties", obj{{fieldname.SecretPattern(), false}}})
	}
	masked = append(masked, kv{"additionalProperties", ref("maskedCardNumber")})
	defs = append(defs, kv{"redacted", redacted}, kv{"maskedCardNumber", masked})
	s := obj{
		{"$schema", SchemaDialect},
		{"$id", SchemaID(eventType)},
		{"title", eventType},
		{"description", fmt.Sprintf("A message of the %s queue: the CloudEvents 1.0 structured JSON event of type %s, exactly as the webhook receivers send it. Subject (and message group): %s.", et.provider, eventType, et.subject)},
		{"type", "object"},
		{"required", []string{"specversion", "id", "source", "type", "subject", "time", "datacontenttype", "data"}},
		{"properties", obj{
			{"specversion", obj{{"const", SpecVersion}}},
			{"id", obj{{"description", "The event id: the same for every delivery of the event. De-duplicate on it."}, {"type", "string"}, {"minLength", 32}, {"maxLength", 32}, {"pattern", idPattern}}},
			{"source", obj{{"const", SourcePrefix + et.provider}}},
			{"type", obj{{"const", eventType}}},
			{"subject", obj{{"description", "The entity: " + et.subject + "."}, {"type", "string"}, {"minLength", 1}}},
			{"time", obj{{"description", "When the event happened, when the provider says so; otherwise when it was first received. UTC, at most milliseconds."}, {"type", "string"}, {"format", "date-time"}, {"pattern", timePattern}, noNewline}},
			{"datacontenttype", obj{{"const", DataContentType}}},
			{"replayid", obj{{"description", "Only on a copy sent again by an operator's replay: the replay's id."}, {"type", "string"}, {"pattern", replayIDPattern}, noNewline}},
			{"data", ref("data")},
		}},
		{"additionalProperties", false},
		{"$defs", defs},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return asciiOnly(buf.Bytes()), nil
}

// asciiOnly writes every character outside ASCII as a \uXXXX escape (the
// schemas are JSON text: inside strings only), so that no white space
// character of a pattern is invisible in the file.
func asciiOnly(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for _, r := range string(b) {
		if r < utf8.RuneSelf {
			out = append(out, byte(r))
			continue
		}
		for _, u := range utf16.Encode([]rune{r}) {
			out = fmt.Appendf(out, "\\u%04x", u)
		}
	}
	return out
}

// noNewline refuses a line feed: some engines (Python's re) let "$" match
// before a final one.
var noNewline = kv{"not", obj{{"pattern", "\n"}}}

func secretNote(p provider) string {
	if p.dropsSecrets {
		return ", and no member is named like a secret (the receiver removes them)"
	}
	return ""
}

// namePatterns are the patternProperties of every redacted object.
func namePatterns(p provider) obj {
	out := obj{{fieldname.CardNumberPattern(), ref("maskedCardNumber")}}
	if p.dropsSecrets {
		out = append(out, kv{fieldname.SecretPattern(), false})
	}
	return out
}

func ref(def string) obj { return obj{{"$ref", "#/$defs/" + def}} }

// objectSchema is the schema of a data object of struct type t; the schemas
// of the structs it holds are added to defs.
func objectSchema(t reflect.Type, p provider, defs *obj) obj {
	props := obj{}
	required := []string{}
	for _, f := range fieldsOf(t) {
		if f.required {
			required = append(required, f.name)
		}
		props = append(props, kv{f.name, fieldSchema(f, p, defs)})
	}
	patterns := namePatterns(p)
	s := obj{{"type", "object"}}
	if len(required) > 0 {
		s = append(s, kv{"required", required})
	}
	return append(s,
		kv{"properties", props},
		kv{"patternProperties", patterns},
		kv{"additionalProperties", ref("redacted")},
	)
}

func fieldSchema(f field, p provider, defs *obj) any {
	nullable := func(typ string) any {
		if f.required {
			return typ
		}
		return []string{typ, "null"}
	}
	s := obj{}
	if f.doc != "" {
		s = append(s, kv{"description", f.doc})
	}
	switch f.kind {
	case kindAbsent:
		return false
	case kindString:
		s = append(s, kv{"type", nullable("string")})
		if f.nonblank {
			s = append(s, kv{"pattern", nonBlankPattern})
		}
		if f.card {
			s = append(s, kv{"$ref", "#/$defs/maskedCardNumber"})
		}
	case kindNumber:
		if f.masked { // a number, or its masked form: a string holding a '*'
			s = append(s, kv{"anyOf", []any{
				obj{{"type", nullable("number")}},
				obj{{"type", "string"}, {"allOf", []any{obj{{"pattern", maskedNumberPattern}}, obj{{"pattern", `\*`}}}}},
			}})
			break
		}
		s = append(s, kv{"type", nullable("number")})
	case kindBool:
		s = append(s, kv{"type", nullable("boolean")})
	case kindObject:
		name := f.object.Name()
		if !defs.has(name) {
			*defs = append(*defs, kv{name, nil}) // placeholder: a struct may hold itself
			(*defs)[len(*defs)-1].v = objectSchema(f.object, p, defs)
		}
		if f.required {
			s = append(s, kv{"$ref", "#/$defs/" + name})
		} else {
			s = append(s, kv{"anyOf", []any{obj{{"type", "null"}}, ref(name)}})
		}
	case kindStrings:
		elem := any("string")
		if f.nullable {
			elem = []string{"string", "null"}
		}
		s = append(s, kv{"type", nullable("array")}, kv{"items", obj{{"type", elem}}})
	case kindAny:
		// A member the receiver keeps as sent is a scalar, which redacted
		// does not constrain; an object or array under its name is redacted.
		if !f.asis {
			s = append(s, kv{"$ref", "#/$defs/redacted"})
		}
	}
	return s
}

// obj is a JSON object whose members keep their order.
type obj []kv

type kv struct {
	k string
	v any
}

func (o obj) has(k string) bool {
	for _, m := range o {
		if m.k == k {
			return true
		}
	}
	return false
}

// MarshalJSON writes the members in order.
func (o obj) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := marshalNoEscape(m.k)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		v, err := marshalNoEscape(m.v)
		if err != nil {
			return nil, err
		}
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
