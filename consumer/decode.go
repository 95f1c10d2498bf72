package consumer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-lambda-go/events"

	"webhooks/consumer/fieldname"
)

// Envelope constants: every message is a CloudEvents 1.0 structured JSON event.
const (
	SpecVersion     = "1.0"
	DataContentType = "application/json"
	// Message attributes the receivers set on every message.
	AttrProvider = "provider"
	AttrType     = "type"
)

// Event is the CloudEvent of one message, exactly as the receivers send it.
type Event struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`      // 32 lowercase hex: de-duplicate on it
	Source          string    `json:"source"`  // "webhooks/<provider>"
	Type            string    `json:"type"`    // one of EventTypes()
	Subject         string    `json:"subject"` // the entity (the message group)
	Time            time.Time `json:"time"`
	DataContentType string    `json:"datacontenttype"`
	// ReplayID is the extension attribute "replayid": set only on a copy sent
	// again by an operator's replay (the same ID as the original).
	ReplayID string          `json:"replayid,omitempty"`
	Data     json.RawMessage `json:"data"` // exactly as sent
}

// Provider is the provider of the event ("tiki").
func (e *Event) Provider() string { return strings.TrimPrefix(e.Source, SourcePrefix) }

// IsReplay reports whether the message is a copy sent again by a replay.
func (e *Event) IsReplay() bool { return e.ReplayID != "" }

// Message is one decoded message: its CloudEvent and its typed data.
type Message struct {
	Event Event
	// Data points to the typed data of Event.Type: *TikiOrderStatusChanged for
	// tiki.order.status_changed, and so on (see DataAs).
	Data any
	// MessageID and GroupID are the SQS message's id and message group
	// (empty when decoded from a body alone).
	MessageID string
	GroupID   string
	// ReceiveCount is SQS's ApproximateReceiveCount (0 when unknown).
	ReceiveCount int
}

// DataAs returns the message's data as *T, or false when it is another type.
func DataAs[T any](m *Message) (*T, bool) {
	d, ok := m.Data.(*T)
	return d, ok
}

// ErrInvalid is wrapped by every decoding error: the message is not a valid
// CloudEvent of a known type as the receivers send it. ErrUnknownType is
// wrapped (with ErrInvalid) when only its type is unknown.
var (
	ErrInvalid     = errors.New("consumer: invalid message")
	ErrUnknownType = errors.New("unknown event type")
)

// InvalidError is the error of a message that is not a valid CloudEvent of a
// known type. Its text names the problem, never a value of the data.
type InvalidError struct {
	Reason string
	err    error // ErrUnknownType, or nil
}

func (e *InvalidError) Error() string { return "consumer: invalid message: " + e.Reason }

// Is makes errors.Is(err, ErrInvalid) (and ErrUnknownType where it applies) true.
func (e *InvalidError) Is(target error) bool {
	return target == ErrInvalid || (e.err != nil && target == e.err)
}

func invalid(format string, args ...any) error {
	return &InvalidError{Reason: fmt.Sprintf(format, args...)}
}

// Decode decodes an SQS record of an event source mapping: the body as the
// CloudEvent (DecodeBody), checked against the record's message attributes
// "provider" and "type" when it has them.
func Decode(rec events.SQSMessage) (*Message, error) {
	m, err := DecodeBody([]byte(rec.Body))
	if err != nil {
		return nil, err
	}
	for name, want := range map[string]string{AttrProvider: m.Event.Provider(), AttrType: m.Event.Type} {
		if a, ok := rec.MessageAttributes[name]; ok && (a.StringValue == nil || *a.StringValue != want) {
			return nil, invalid("message attribute %q does not match the event", name)
		}
	}
	m.MessageID = rec.MessageId
	m.GroupID = rec.Attributes["MessageGroupId"]
	fmt.Sscan(rec.Attributes["ApproximateReceiveCount"], &m.ReceiveCount)
	return m, nil
}

var (
	idPattern       = regexp.MustCompile(`^[0-9a-f]{32}$`)
	timePattern     = regexp.MustCompile(`^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,3})?Z$`)
	replayIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// envelopeMembers are the members of a message body, in the order the
// receivers write them; replayid is the only optional one.
var envelopeMembers = []string{"specversion", "id", "source", "type", "subject", "time", "datacontenttype", "replayid", "data"}

// work counts the steps of decoding, for the test that checks they grow
// linearly with the body (linear_test.go): the bytes handed to each library
// call that reads its input in linear time (encoding/json, regexp — RE2 —,
// time.Parse, fieldname, copies) and the steps of this package's own loops.
// It counts only while that test sets countWork: otherwise each count is a
// load and a branch not taken, per call, never per byte.
var (
	countWork bool
	work      uint64
)

func addWork(n int) {
	if countWork {
		work += uint64(n)
	}
}

// DecodeBody decodes a message body: a CloudEvent with exactly the members
// the receivers write, of a known type, whose data meets that type's rules
// (the rules of schemas/<type>.json). It returns an *InvalidError otherwise.
func DecodeBody(body []byte) (*Message, error) {
	members, err := objectMembers(body)
	if err != nil {
		return nil, invalid("body is not a JSON object: %v", err)
	}
	for name := range members {
		if !contains(envelopeMembers, name) {
			return nil, invalid("unexpected member %q", printable(name))
		}
	}
	str := func(name string) (string, error) {
		raw, ok := members[name]
		if !ok {
			if name == "replayid" {
				return "", nil
			}
			return "", invalid("member %q is required", name)
		}
		var s string
		addWork(len(raw))
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return "", invalid("member %q must be a string", name)
		}
		return s, nil
	}
	var ev Event
	for _, m := range []struct {
		name string
		dst  *string
	}{{"specversion", &ev.SpecVersion}, {"id", &ev.ID}, {"source", &ev.Source}, {"type", &ev.Type}, {"subject", &ev.Subject}, {"datacontenttype", &ev.DataContentType}, {"replayid", &ev.ReplayID}} {
		if *m.dst, err = str(m.name); err != nil {
			return nil, err
		}
	}
	ts, err := str("time")
	if err != nil {
		return nil, err
	}
	addWork(len(ev.ID) + 2*len(ts) + len(ev.ReplayID)) // the patterns, time.Parse
	switch {
	case ev.SpecVersion != SpecVersion:
		return nil, invalid("specversion must be %q", SpecVersion)
	case !idPattern.MatchString(ev.ID):
		return nil, invalid("id must be 32 lowercase hex characters")
	case ev.Subject == "":
		return nil, invalid("subject must not be empty")
	case ev.DataContentType != DataContentType:
		return nil, invalid("datacontenttype must be %q", DataContentType)
	case !timePattern.MatchString(ts):
		return nil, invalid("time must be RFC 3339 in UTC with at most millisecond precision")
	case ev.ReplayID != "" && !replayIDPattern.MatchString(ev.ReplayID):
		return nil, invalid("replayid must be 1 to 64 letters, digits, '-' or '_'")
	}
	if members["replayid"] != nil && ev.ReplayID == "" {
		return nil, invalid("replayid must not be empty")
	}
	if ev.Time, err = time.Parse(time.RFC3339Nano, ts); err != nil {
		return nil, invalid("time must be RFC 3339 in UTC with at most millisecond precision")
	}
	et, ok := eventTypes[ev.Type]
	if !ok {
		return nil, &InvalidError{Reason: fmt.Sprintf("unknown event type %q", printable(ev.Type)), err: ErrUnknownType}
	}
	if ev.Source != SourcePrefix+et.provider {
		return nil, invalid("source must be %q for type %s", SourcePrefix+et.provider, ev.Type)
	}
	raw, ok := members["data"]
	if !ok {
		return nil, invalid("member %q is required", "data")
	}
	ev.Data = raw
	data := reflect.New(et.data)
	if err := checkData(et, raw, data.Elem()); err != nil {
		return nil, err
	}
	return &Message{Event: ev, Data: data.Interface()}, nil
}

// checkData checks the data of an event of type et and fills dst (its struct).
func checkData(et eventType, raw json.RawMessage, dst reflect.Value) error {
	if err := checkObject(raw, "data", dst); err != nil {
		return err
	}
	return walkData(et, raw)
}

// maxDepth bounds how deep data may nest: the receivers refuse webhooks
// nested deeper than 32 levels, and a bound keeps every check linear.
const maxDepth = 64

// Modes of a value in walkData.
const (
	modeRedacted = iota // the receiver redacted it: card-number members are masked
	modeMasked          // inside a card-number member: every string masked, no number
	modeAsSent          // kept as sent (or decrypted): not looked into
)

// walkData checks, in one pass over the tokens of data, the rules every
// member obeys at any depth: the value of a member named like a card number
// is masked (but in the decrypted goods, as decrypted), and, for OSL
// Pay, no member is named like a secret. It takes time linear in len(raw).
func walkData(et eventType, raw json.RawMessage) error {
	p := providers[et.provider]
	type frame struct {
		obj       bool
		mode      int
		wantName  bool
		name      string
		index     int // the array's next element
		topObject bool
	}
	var stack []frame
	// path names where the walk stands, for an error (digits hidden).
	path := func() string {
		var b strings.Builder
		b.WriteString("data")
		for _, f := range stack {
			if f.obj {
				b.WriteString("." + printable(f.name))
			} else {
				fmt.Fprintf(&b, "[%d]", f.index-1)
			}
		}
		return b.String()
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	addWork(len(raw)) // the decoder's pass
	for {
		addWork(1) // a token
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return invalid("data is not valid JSON")
		}
		var top *frame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		if top != nil && top.obj && top.wantName {
			if tok == json.Delim('}') {
				stack = stack[:len(stack)-1]
				continue
			}
			name := tok.(string)
			top.name, top.wantName = name, false
			addWork(2 * len(name)) // IsSecret, IsCardNumber
			if p.dropsSecrets && fieldname.IsSecret(name) {
				return invalid("%s is a secret field, which the receiver removes", path())
			}
			continue
		}
		if tok == json.Delim(']') {
			stack = stack[:len(stack)-1]
			continue
		}
		// A value: its mode comes from where it stands.
		mode := modeRedacted
		if top != nil {
			mode = top.mode
			if !top.obj {
				top.index++
			}
			if top.obj {
				top.wantName = true
				// A member the receiver keeps as sent (its ids) is a string,
				// number, true, false or null, in which there is nothing to
				// look for; an object or array under its name is redacted
				// like any other value.
				switch {
				case mode != modeRedacted:
				case top.topObject && isAsIs(et.data, top.name):
					mode = modeAsSent
				case fieldname.IsCardNumber(top.name):
					mode = modeMasked
				}
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			// Values kept as sent (decrypted goods: any JSON) are not
			// looked into, and may nest as deep as they came.
			if mode != modeAsSent && len(stack) >= maxDepth {
				return invalid("data is nested deeper than %d levels", maxDepth)
			}
			stack = append(stack, frame{obj: tok == json.Delim('{'), mode: mode, wantName: true, topObject: top == nil})
			continue
		}
		if mode != modeMasked {
			continue
		}
		switch v := tok.(type) {
		case string:
			if !maskedString(v) {
				return invalid("%s must be a masked card number", path())
			}
		case json.Number:
			return invalid("%s must be a masked card number (a masked number is a string)", path())
		}
	}
}

func isAsIs(t reflect.Type, name string) bool {
	addWork(len(fieldsOf(t)))
	for _, f := range fieldsOf(t) {
		if f.name == name {
			return f.asis
		}
	}
	return false
}

// checkObject checks raw, an object, against the fields of dst's struct type
// and fills them.
func checkObject(raw json.RawMessage, path string, dst reflect.Value) error {
	members, err := objectMembers(raw)
	if err != nil {
		return invalid("%s must be a JSON object: %v", path, err)
	}
	for _, f := range fieldsOf(dst.Type()) {
		name := path + "." + f.name
		v, present := members[f.name]
		addWork(1 + len(v)) // a field; its value read (unmarshalled, copied, matched) a bounded number of times
		null := !present || string(v) == "null"
		if f.kind == kindAbsent {
			if present {
				return invalid("%s is never sent", name)
			}
			continue
		}
		if f.kind == kindAny {
			if f.required && !present {
				return invalid("%s is required", name)
			}
			if present {
				dst.Field(f.index).SetBytes(bytes.Clone(v))
			}
			continue
		}
		if null {
			if f.required {
				return invalid("%s is required", name)
			}
			continue
		}
		out := dst.Field(f.index)
		switch f.kind {
		case kindString:
			var s string
			if v[0] != '"' || json.Unmarshal(v, &s) != nil {
				return invalid("%s must be a string", name)
			}
			if f.nonblank && strings.TrimSpace(s) == "" {
				return invalid("%s must not be blank", name)
			}
			if f.card && !maskedString(s) {
				return invalid("%s must be a masked card number", name)
			}
			out.SetString(s)
		case kindNumber:
			if f.masked && v[0] == '"' {
				// A number whose digits held a card number, masked by the
				// receiver: the masked literal, as a string.
				var s string
				if json.Unmarshal(v, &s) != nil || !maskedNumber.MatchString(s) || !strings.Contains(s, "*") {
					return invalid("%s must be a number, or a masked one", name)
				}
				out.SetString(s)
				continue
			}
			if v[0] != '-' && (v[0] < '0' || v[0] > '9') {
				return invalid("%s must be a number", name)
			}
			out.SetString(string(v))
		case kindBool:
			var b bool
			if json.Unmarshal(v, &b) != nil {
				return invalid("%s must be true or false", name)
			}
			out.Set(reflect.ValueOf(&b))
		case kindObject:
			obj := reflect.New(f.object)
			if err := checkObject(v, name, obj.Elem()); err != nil {
				return err
			}
			out.Set(obj)
		case kindStrings:
			var elems []json.RawMessage
			if v[0] != '[' || json.Unmarshal(v, &elems) != nil {
				return invalid("%s must be an array of strings", name)
			}
			list := reflect.MakeSlice(out.Type(), 0, len(elems))
			for _, e := range elems {
				addWork(1 + len(e)) // an element, unmarshalled
				if f.nullable && string(e) == "null" {
					list = reflect.Append(list, reflect.Zero(out.Type().Elem()))
					continue
				}
				var s string
				if e[0] != '"' || json.Unmarshal(e, &s) != nil {
					return invalid("%s must be an array of strings", name)
				}
				if f.nullable {
					list = reflect.Append(list, reflect.ValueOf(&s))
				} else {
					list = reflect.Append(list, reflect.ValueOf(s))
				}
			}
			out.Set(list)
		}
	}
	return nil
}

// maskedStarsPattern is shared with the schemas (schema.go writes the same
// string). Member names are read by package fieldname, the receivers' own
// rules: fieldname.IsCardNumber and fieldname.IsSecret here, their patterns
// in the schemas.
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
// receiver masked ('*' for a hidden digit); the string must also hold a '*'.
const maskedNumberPattern = `^-?[0-9*]+(?:\.[0-9*]+)?(?:[eE][+-]?[0-9*]+)?$`

var (
	maskedNumber    = regexp.MustCompile(maskedNumberPattern)
	maskedNoDigits  = regexp.MustCompile(maskedNoDigitsPattern)
	maskedFewDigits = regexp.MustCompile(maskedFewDigitsPattern)
	maskedStars     = regexp.MustCompile(maskedStarsPattern)
)

func maskedString(s string) bool {
	addWork(3 * len(s)) // three patterns, at most
	return maskedNoDigits.MatchString(s) || (maskedFewDigits.MatchString(s) && maskedStars.MatchString(s))
}

// objectMembers decodes a JSON object's members, refusing a repeated name
// (the receivers never send one, and a reader could pick either).
func objectMembers(raw []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, errors.New("not an object")
	}
	out := map[string]json.RawMessage{}
	addWork(len(raw)) // the decoder's pass
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		addWork(1 + len(name) + len(v)) // a member: its name hashed, its value copied
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("member %q appears twice", printable(name))
		}
		out[name] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("data after the object")
	}
	return out, nil
}

func contains(list []string, s string) bool {
	addWork(len(list))
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// printable shortens a name for an error message and hides its digits (a
// name could hold a card number).
func printable(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) {
			return '#'
		}
		if !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
}
