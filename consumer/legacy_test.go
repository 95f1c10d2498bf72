package consumer

// The decoder DecodeBody replaced (json.Decoder per member, three passes,
// regular expressions), kept as it was as the oracle of
// TestDecodeBodyMatchesLegacy and FuzzDecodeBodyMatchesLegacy: DecodeBody
// must give its verdicts and its errors. One change: undocumented envelope
// members are named in the order they come (it named the first of a map's
// order, which varies from run to run).

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

	"webhooks/consumer/fieldname"
)

var (
	legacyIDPattern       = regexp.MustCompile(`^[0-9a-f]{32}$`)
	legacyTimePattern     = regexp.MustCompile(`^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,3})?Z$`)
	legacyReplayIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// legacyEnvelopeMembers are the members of a message body, in the order the
// receivers write them; replayid is the only optional one.
var legacyEnvelopeMembers = []string{"specversion", "id", "source", "type", "subject", "time", "datacontenttype", "replayid", "data"}

// DecodeBody decodes a message body: a CloudEvent with exactly the members
// the receivers write, of a known type, whose data meets that type's rules
// (the rules of schemas/<type>.json). It returns an *InvalidError otherwise.
func legacyDecodeBody(body []byte) (*Message, error) {
	members, order, err := legacyObjectMembers(body)
	if err != nil {
		return nil, invalid("body is not a JSON object: %v", err)
	}
	for _, name := range order {
		if !legacyContains(legacyEnvelopeMembers, name) {
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
	case !legacyIDPattern.MatchString(ev.ID):
		return nil, invalid("id must be 32 lowercase hex characters")
	case ev.Subject == "":
		return nil, invalid("subject must not be empty")
	case ev.DataContentType != DataContentType:
		return nil, invalid("datacontenttype must be %q", DataContentType)
	case !legacyTimePattern.MatchString(ts):
		return nil, invalid("time must be RFC 3339 in UTC with at most millisecond precision")
	case ev.ReplayID != "" && !legacyReplayIDPattern.MatchString(ev.ReplayID):
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
	if err := legacyCheckData(et, raw, data.Elem()); err != nil {
		return nil, err
	}
	return &Message{Event: ev, Data: data.Interface()}, nil
}

// checkData checks the data of an event of type et and fills dst (its struct).
func legacyCheckData(et *eventType, raw json.RawMessage, dst reflect.Value) error {
	if err := legacyCheckObject(raw, "data", dst); err != nil {
		return err
	}
	return legacyWalkData(et, raw)
}

// walkData checks, in one pass over the tokens of data, the rules every
// member obeys at any depth: the value of a member named like a card number
// is masked (but in the decrypted goods, as decrypted), and, for OSL
// Pay, no member is named like a secret. It takes time linear in len(raw).
func legacyWalkData(et *eventType, raw json.RawMessage) error {
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
				case top.topObject && legacyIsAsIs(et.data, top.name):
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
			if !legacyMaskedString(v) {
				return invalid("%s must be a masked card number", path())
			}
		case json.Number:
			return invalid("%s must be a masked card number (a masked number is a string)", path())
		}
	}
}

func legacyIsAsIs(t reflect.Type, name string) bool {
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
func legacyCheckObject(raw json.RawMessage, path string, dst reflect.Value) error {
	members, _, err := legacyObjectMembers(raw)
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
			if f.card && !legacyMaskedString(s) {
				return invalid("%s must be a masked card number", name)
			}
			out.SetString(s)
		case kindNumber:
			if f.masked && v[0] == '"' {
				// A number whose digits held a card number, masked by the
				// receiver: the masked literal, as a string.
				var s string
				if json.Unmarshal(v, &s) != nil || !legacyMaskedNumber.MatchString(s) || !strings.Contains(s, "*") {
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
			if err := legacyCheckObject(v, name, obj.Elem()); err != nil {
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

var (
	legacyMaskedNumber    = regexp.MustCompile(maskedNumberPattern)
	legacyMaskedNoDigits  = regexp.MustCompile(maskedNoDigitsPattern)
	legacyMaskedFewDigits = regexp.MustCompile(maskedFewDigitsPattern)
	legacyMaskedStars     = regexp.MustCompile(maskedStarsPattern)
)

func legacyMaskedString(s string) bool {
	addWork(3 * len(s)) // three patterns, at most
	return legacyMaskedNoDigits.MatchString(s) || (legacyMaskedFewDigits.MatchString(s) && legacyMaskedStars.MatchString(s))
}

// objectMembers decodes a JSON object's members, refusing a repeated name
// (the receivers never send one, and a reader could pick either).
func legacyObjectMembers(raw []byte) (map[string]json.RawMessage, []string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, err
	}
	if tok != json.Delim('{') {
		return nil, nil, errors.New("not an object")
	}
	out := map[string]json.RawMessage{}
	var order []string
	addWork(len(raw)) // the decoder's pass
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		name := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		addWork(1 + len(name) + len(v)) // a member: its name hashed, its value copied
		if _, dup := out[name]; dup {
			return nil, nil, fmt.Errorf("member %q appears twice", printable(name))
		}
		out[name] = v
		order = append(order, name)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, nil, errors.New("data after the object")
	}
	return out, order, nil
}

func legacyContains(list []string, s string) bool {
	addWork(len(list))
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
