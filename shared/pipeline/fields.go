package pipeline

import (
	"strconv"
	"strings"

	"webhooks/shared/jsonx"
)

// Fields reads typed members of one object of a parsed body, for a
// provider's Decode. Every read of a member that is required and missing (or
// null), or present with the wrong type, records a 400 naming it — unless an
// error was recorded before: the first error wins — and gives the zero value.
// A decoder reads what it needs, in the order its errors should be reported,
// and checks Err once. Member names in messages are prefixed with Prefix
// ("data." reports "field data.orderId is required").
type Fields struct {
	obj    jsonx.Value
	prefix string
	parent *Fields // the reader whose error a nested object's reads share
	err    *Error
}

// FieldsOf reads the members of obj (an object; any other value reads as one
// with no members), naming them with prefix in messages.
func FieldsOf(obj jsonx.Value, prefix string) Fields {
	return Fields{obj: obj, prefix: prefix}
}

// Object is the object read.
func (f *Fields) Object() jsonx.Value { return f.obj }

// Get returns a member as sent, without checking it.
func (f *Fields) Get(name string) jsonx.Value { return f.obj.Get(name) }

// Err is the first error recorded (a *Error), or nil.
func (f *Fields) Err() error {
	if r := f.root(); r.err != nil {
		return r.err
	}
	return nil
}

func (f *Fields) root() *Fields {
	for f.parent != nil {
		f = f.parent
	}
	return f
}

// Fail records a 400 with code and message, unless an error was recorded before.
func (f *Fields) Fail(code, format string, args ...any) {
	if r := f.root(); r.err == nil {
		r.err = Malformed(code, format, args...)
	}
}

// present returns the member, or fails (when required) and returns an absent
// value when it is missing or null.
func (f *Fields) present(name string, required bool) jsonx.Value {
	v := f.obj.Get(name)
	if v.IsNull() {
		if required {
			f.Fail(CodeMissingField, "field %s%s is required", f.prefix, name)
		}
		return jsonx.Value{}
	}
	return v
}

func (f *Fields) str(name string, required bool) (string, bool) {
	v := f.present(name, required)
	switch v.Kind() {
	case jsonx.Absent:
		return "", false
	case jsonx.String:
		return v.Text(), true
	}
	f.Fail(CodeInvalidField, "field %s%s must be a string", f.prefix, name)
	return "", false
}

// ReqString is a required string member (it may be blank).
func (f *Fields) ReqString(name string) string { s, _ := f.str(name, true); return s }

// OptString is a string member, or "" when it is missing or null.
func (f *Fields) OptString(name string) string { s, _ := f.str(name, false); return s }

// OptStrings checks that each member, when present and not null, is a
// string, without reading its text.
func (f *Fields) OptStrings(names ...string) {
	for _, name := range names {
		if v := f.present(name, false); v.Exists() && v.Kind() != jsonx.String {
			f.Fail(CodeInvalidField, "field %s%s must be a string", f.prefix, name)
		}
	}
}

// ReqID is a required string member that is not blank: an identifier.
func (f *Fields) ReqID(name string) string {
	s, ok := f.str(name, true)
	if ok && strings.TrimSpace(s) == "" {
		f.Fail(CodeMissingField, "field %s%s must not be empty", f.prefix, name)
	}
	return s
}

func (f *Fields) number(name string, required bool) string {
	v := f.present(name, required)
	switch v.Kind() {
	case jsonx.Absent:
		return ""
	case jsonx.Number:
		return string(v.Raw())
	}
	f.Fail(CodeInvalidField, "field %s%s must be a number", f.prefix, name)
	return ""
}

// ReqNumber is a required number member, as its text exactly as sent.
func (f *Fields) ReqNumber(name string) string { return f.number(name, true) }

// OptNumber is a number member as sent, or "" when it is missing or null.
func (f *Fields) OptNumber(name string) string { return f.number(name, false) }

// OptBool checks that a member, when present and not null, is true or false.
func (f *Fields) OptBool(name string) {
	if v := f.present(name, false); v.Exists() && v.Kind() != jsonx.Bool {
		f.Fail(CodeInvalidField, "field %s%s must be true or false", f.prefix, name)
	}
}

// OptStringArray checks that a member, when present and not null, is an
// array of strings (an element may be null).
func (f *Fields) OptStringArray(name string) {
	v := f.present(name, false)
	if !v.Exists() {
		return
	}
	ok := v.Kind() == jsonx.Array
	for e := range v.Elements() {
		ok = ok && (e.Kind() == jsonx.String || e.Kind() == jsonx.Null)
	}
	if !ok {
		f.Fail(CodeInvalidField, "field %s%s must be an array of strings", f.prefix, name)
	}
}

// OptObject reads an object member, which may be missing or null (ok false).
// Its members are named name.member in messages, and its errors are f's.
func (f *Fields) OptObject(name string) (obj Fields, ok bool) {
	v := f.present(name, false)
	if !v.Exists() {
		return Fields{}, false
	}
	if v.Kind() != jsonx.Object {
		f.Fail(CodeInvalidField, "field %s%s must be an object or null", f.prefix, name)
		return Fields{}, false
	}
	return Fields{obj: v, prefix: f.prefix + name + ".", parent: f}, true
}

// ReqObject reads a required object member (ok false when it is missing, null
// or not an object). Its members are named name.member in messages, and its
// errors are f's.
func (f *Fields) ReqObject(name string) (obj Fields, ok bool) {
	v := f.present(name, true)
	if !v.Exists() {
		return Fields{}, false
	}
	if v.Kind() != jsonx.Object {
		f.Fail(CodeInvalidField, "field %s%s must be a JSON object", f.prefix, name)
		return Fields{}, false
	}
	return Fields{obj: v, prefix: f.prefix + name + ".", parent: f}, true
}

// Key builds an event key (see Event.Key) from parts: each is written as its
// length, ':', the part and '|', so that no two different lists of parts give
// the same key.
func Key(parts ...string) string {
	n := 0
	for _, p := range parts {
		n += len(p) + 8
	}
	var b strings.Builder
	b.Grow(n)
	var num [20]byte
	for _, p := range parts {
		b.Write(strconv.AppendInt(num[:0], int64(len(p)), 10))
		b.WriteByte(':')
		b.WriteString(p)
		b.WriteByte('|')
	}
	return b.String()
}
