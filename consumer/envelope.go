package consumer

import (
	"bytes"
	"fmt"
	"reflect"
)

// The members of a message body, in the order the receivers write them;
// replayid is the only optional one.
const (
	memberSpecVersion = iota
	memberID
	memberSource
	memberType
	memberSubject
	memberTime
	memberDataContentType
	memberReplayID
	memberData
	members
)

var memberNames = [members]string{"specversion", "id", "source", "type", "subject", "time", "datacontenttype", "replayid", "data"}

// memberIndex is the index of an envelope member's name, or -1.
func memberIndex(name []byte) int {
	switch string(name) {
	case "specversion":
		return memberSpecVersion
	case "id":
		return memberID
	case "source":
		return memberSource
	case "type":
		return memberType
	case "subject":
		return memberSubject
	case "time":
		return memberTime
	case "datacontenttype":
		return memberDataContentType
	case "replayid":
		return memberReplayID
	case "data":
		return memberData
	}
	return -1
}

// member is where an envelope member's value stands in the body: a string's
// content span, or the first byte of another value.
type member struct {
	present    bool
	first      byte
	start, end int
	flags      uint8
}

// decoder is the state of one DecodeBody.
type decoder struct {
	scanner
	drops     bool // the provider drops secret members
	dataAt    int  // where data's value starts
	typedErr  error
	typedRank uint64
	walkKind  int
	walkAt    int
	keys      [16]span // names of the open objects, for repeated names
	nkeys     int
	names     nameTable // and those that do not fit in keys
	scopes    int       // the objects given a scope in names
}

// body reads the body's object: each envelope member's value located (and
// data decoded, when the type came before it), the syntax of the whole
// checked, repeated and undocumented members found; then the envelope's
// rules (envelope).
func (d *decoder) body() (*Message, error) {
	body := d.b
	var m [members]member
	if c := d.peek(); c != '{' {
		if c == '[' || c == '"' || c == '-' || c-'0' < 10 || c == 't' || c == 'f' || c == 'n' {
			return nil, notJSONObject(errNotObj)
		}
		d.eofOr(errChar)
		return nil, notJSONObject(d.err)
	}
	d.i++
	var (
		et       *eventType // the type, once read
		data     reflect.Value
		decoded  bool // data decoded where it stands
		seen     uint16
		unknown  *string // the first undocumented member
		scope    int
		repeated *string // the first repeated member
	)
	if d.peek() == '}' {
		d.i++
	} else {
		for {
			if d.peek() != '"' {
				d.eofOr(errChar)
				break
			}
			start, end, flags, ok := d.str()
			if !ok {
				break
			}
			name := d.text(start, end, flags)
			k := memberIndex(name)
			switch {
			case k >= 0 && seen&(1<<k) != 0, k < 0 && d.repeated(name, start, end, flags, 0, &scope):
				r := printable(string(name))
				repeated = &r
			case k < 0 && unknown == nil:
				u := printable(string(name))
				unknown = &u
			}
			if k >= 0 {
				seen |= 1 << k
			}
			if !d.expect(':') {
				break
			}
			c := d.peek()
			switch {
			case repeated != nil || k < 0:
				ok = d.skip(1)
			case k == memberData:
				if m[memberType].first == '"' {
					et = eventTypes[string(d.text(m[memberType].start, m[memberType].end, m[memberType].flags))]
				}
				m[k] = member{present: true, first: c, start: d.i}
				if et != nil {
					data, ok = d.data(et)
					decoded = true
				} else {
					ok = d.skip(1)
				}
				m[k].end = d.i
			case c == '"':
				m[k] = member{present: true, first: c}
				m[k].start, m[k].end, m[k].flags, ok = d.str()
			default:
				m[k] = member{present: true, first: c}
				ok = d.skip(1)
			}
			if !ok {
				break
			}
			if repeated != nil {
				// The first repeated name, once its value is read.
				return nil, notJSONObject(fmt.Errorf("member %q appears twice", *repeated))
			}
			if !d.more('}') {
				break
			}
		}
	}
	if d.err == nil && d.peek() != 0 {
		d.fail(errTrailing)
	}
	if d.err == nil && d.i < len(body) { // a NUL byte
		d.fail(errTrailing)
	}
	if d.err != nil {
		return nil, notJSONObject(d.err)
	}
	if unknown != nil {
		return nil, invalid("unexpected member %q", *unknown)
	}
	return d.envelope(&m, data, decoded)
}

// notJSONObject is the error of a body that is not one JSON object.
func notJSONObject(err error) error { return invalid("body is not a JSON object: %v", err) }

// envelope checks the envelope members m of a body read whole and returns its
// message; data is its data when decoded where it stands.
func (d *decoder) envelope(m *[members]member, data reflect.Value, decoded bool) (*Message, error) {
	for _, k := range [...]int{memberSpecVersion, memberID, memberSource, memberType, memberSubject, memberDataContentType, memberReplayID, memberTime} {
		switch {
		case !m[k].present && k == memberReplayID:
		case !m[k].present:
			return nil, invalid("member %q is required", memberNames[k])
		case m[k].first != '"':
			return nil, invalid("member %q must be a string", memberNames[k])
		}
	}
	text := func(k int) []byte {
		addWork(m[k].end - m[k].start) // read again
		return d.text(m[k].start, m[k].end, m[k].flags)
	}
	var ev Event
	if string(text(memberSpecVersion)) != SpecVersion {
		return nil, invalid("specversion must be %q", SpecVersion)
	}
	// (Each text is used before the next is read: a decoded one is
	// d.buf's.)
	id := text(memberID)
	if !isID(id) {
		return nil, invalid("id must be 32 lowercase hex characters")
	}
	ev.ID = string(id)
	subject := text(memberSubject)
	if len(subject) == 0 {
		return nil, invalid("subject must not be empty")
	}
	ev.Subject = string(subject)
	if string(text(memberDataContentType)) != DataContentType {
		return nil, invalid("datacontenttype must be %q", DataContentType)
	}
	t, shape, valid := eventTime(text(memberTime))
	if !shape {
		return nil, invalid("time must be RFC 3339 in UTC with at most millisecond precision")
	}
	if m[memberReplayID].present {
		replayID := text(memberReplayID)
		switch {
		case len(replayID) > 0 && !isReplayID(replayID):
			return nil, invalid("replayid must be 1 to 64 letters, digits, '-' or '_'")
		case len(replayID) == 0:
			return nil, invalid("replayid must not be empty")
		}
		ev.ReplayID = string(replayID)
	}
	if !valid {
		return nil, invalid("time must be RFC 3339 in UTC with at most millisecond precision")
	}
	ev.Time = t
	typ := text(memberType)
	et, known := eventTypes[string(typ)]
	if !known {
		return nil, &InvalidError{Reason: fmt.Sprintf("unknown event type %q", printable(string(typ))), err: ErrUnknownType}
	}
	if string(text(memberSource)) != et.source {
		return nil, invalid("source must be %q for type %s", et.source, et.name)
	}
	ev.SpecVersion, ev.Type, ev.Source, ev.DataContentType = SpecVersion, et.name, et.source, DataContentType
	dm := m[memberData]
	if !dm.present {
		return nil, invalid("member %q is required", "data")
	}
	if !decoded {
		// The type came after the data: read the data again, now that the
		// type is known.
		addWork(dm.end - dm.start)
		d.i = dm.start
		data, _ = d.data(et) // read whole once already: no syntax error
	}
	if d.typedErr != nil {
		return nil, d.typedErr
	}
	if d.walkKind != walkNone {
		return nil, d.walkError()
	}
	addWork(dm.end - dm.start) // copied
	ev.Data = bytes.Clone(d.b[dm.start:dm.end])
	return &Message{Event: ev, Data: data.Interface()}, nil
}
