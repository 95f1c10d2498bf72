package jsonx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"slices"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"webhooks/shared/workcount"
)

// Kind is the kind of a JSON value; the zero Kind is an absent value.
type Kind uint8

// Kinds of value.
const (
	Absent Kind = iota
	Null
	Bool
	Number
	String
	Array
	Object
)

var kindNames = [...]string{"absent", "null", "bool", "number", "string", "array", "object"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// token is one value (or object key) of a Doc, in document order. A
// container's members or elements follow it; an object's are pairs of a key
// (a String token) and a value.
type token struct {
	start, end int32 // the value's text: body[start:end] (strings with their quotes)
	next       int32 // the token after this value and everything inside it
	kind       Kind
	esc        bool // a string that holds escapes
}

// Doc is a body parsed by Parse: its tokens, each pointing into the body,
// which must not change while the Doc is in use. A Doc may be reused for
// another body (Doc.Parse), keeping its storage.
type Doc struct {
	body []byte
	toks []token

	// Storage of the checker, kept for the next body.
	keys  []keyEntry
	arena []byte
	dup   []dupEntry
}

// Parse checks body exactly as CheckObject does (the same bodies are
// accepted, and a refused one gets the same error) and returns the parsed
// document. It reads body once: time linear in len(body), and a few
// allocations (the token list, and a set of keys per object of more than a
// few members).
func Parse(body []byte) (*Doc, error) {
	d := docs.Get().(*Doc)
	if err := d.Parse(body); err != nil {
		d.Release()
		return nil, err
	}
	return d, nil
}

// docs keeps Docs for reuse (see Release).
var docs = sync.Pool{New: func() any { return new(Doc) }}

// MaxPooledBytes bounds the storage a pooled Doc (and a pooled redactor of
// package pan) may keep: what a body at the 256 KiB request limit needs, with
// room (measured: the Doc of a 256 KiB array of one-digit numbers keeps 2.1 MiB).
// A Doc that grew past it, for a larger body, is not kept. sync.Pool keeps one
// Doc per P that is in use, and drops what two garbage collections found
// unused: a warm instance serving one request at a time holds the few a
// request uses (Docs for the body and the redacted data, one redactor),
// each at most MaxPooledBytes.
const MaxPooledBytes = 4 << 20

// Release hands d back for reuse by a later Parse: neither d nor any Value of
// it may be used after. Releasing is optional (a Doc that is not released is
// collected as usual); a Doc whose storage grew past MaxPooledBytes is not kept.
func (d *Doc) Release() {
	if d == nil || d.Retained() > MaxPooledBytes {
		return
	}
	clear(d.arena[:cap(d.arena)]) // decoded keys of the body
	d.body, d.toks = nil, d.toks[:0]
	docs.Put(d)
}

// Retained is the bytes of storage d keeps for the next body.
func (d *Doc) Retained() int {
	return SliceBytes(d.toks) + SliceBytes(d.keys) + SliceBytes(d.arena) + SliceBytes(d.dup)
}

// Retained is the bytes of storage b keeps for the next text.
func (b *Builder) Retained() int { return SliceBytes(b.toks) + SliceBytes(b.open) }

// SliceBytes is the bytes of s's backing array (its capacity).
func SliceBytes[T any](s []T) int {
	var z T
	return cap(s) * int(unsafe.Sizeof(z))
}

// Parse is the package's Parse into d, reusing d's storage. After an error d
// holds no document.
func (d *Doc) Parse(body []byte) error {
	return d.parse(body, false)
}

// parse parses body into d: one object checked as CheckObject does, or with
// anyValue any one JSON value, with the same checks.
func (d *Doc) parse(body []byte, anyValue bool) error {
	if len(body) >= math.MaxInt32 {
		d.body, d.toks = nil, d.toks[:0]
		return fmt.Errorf("%w: body too large to parse", ErrSyntax)
	}
	toks := d.toks[:0]
	if cap(toks) == 0 {
		toks = make([]token, 0, len(body)/16+16)
	}
	clear(d.dup) // slots of the last body's objects
	c := checker{b: body, rec: true, toks: toks, keys: d.keys[:0], arena: d.arena[:0], dup: d.dup}
	var err error
	switch {
	case !anyValue:
		err = c.run()
	case !utf8.Valid(body):
		c.work += uint64(len(body))
		err = ErrInvalidUTF8
	default:
		c.work += 2 * uint64(len(body)) // utf8.Valid, then the grammar
		err = c.top()
	}
	d.toks, d.keys, d.arena, d.dup = c.toks[:0], c.keys[:0], c.arena[:0], c.dup
	workcount.Add(c.work)
	if err != nil {
		d.body = nil
		return err
	}
	d.body, d.toks = body, c.toks
	return nil
}

// Body is the parsed body.
func (d *Doc) Body() []byte { return d.body }

// Root is the body's top-level value (an object), or an absent value for a
// Doc that holds no document.
func (d *Doc) Root() Value {
	if d == nil || len(d.toks) == 0 {
		return Value{}
	}
	return Value{d: d}
}

// Value is one value of a Doc. The zero Value is absent: every lookup on it
// gives an absent value.
type Value struct {
	d *Doc
	i int32
}

func (v Value) tok() *token { return &v.d.toks[v.i] }

// Kind is the value's kind (Absent for an absent value).
func (v Value) Kind() Kind {
	if v.d == nil {
		return Absent
	}
	return v.tok().kind
}

// Exists reports whether the value is present (it may be null).
func (v Value) Exists() bool { return v.d != nil }

// IsNull reports whether the value is absent or null.
func (v Value) IsNull() bool { return v.Kind() <= Null }

// Raw is the value's text exactly as sent (nil when absent): a string with
// its quotes and escapes, a number as written.
func (v Value) Raw() []byte {
	if v.d == nil {
		return nil
	}
	t := v.tok()
	return v.d.body[t.start:t.end:t.end]
}

// Get returns the member called name (compared with the decoded key, as
// encoding/json decodes a map's keys) of an object, or an absent value.
func (v Value) Get(name string) Value {
	if v.Kind() != Object {
		return Value{}
	}
	toks := v.d.toks
	steps := uint64(0) // members compared (package workcount)
	for k := v.i + 1; k < toks[v.i].next; k = toks[k+1].next {
		steps++
		if v.d.textEqual(k, name) {
			workcount.Add(steps)
			return Value{v.d, k + 1}
		}
	}
	workcount.Add(steps)
	return Value{}
}

// Lookup follows a path of member names from v (Get, repeatedly).
func (v Value) Lookup(path ...string) Value {
	for _, name := range path {
		v = v.Get(name)
	}
	return v
}

// Members yields an object's members in document order: each key (a String
// value) and its value. It yields nothing for other kinds.
func (v Value) Members() iter.Seq2[Value, Value] {
	return func(yield func(Value, Value) bool) {
		if v.Kind() != Object {
			return
		}
		toks := v.d.toks
		steps := uint64(0) // members yielded (package workcount)
		for k := v.i + 1; k < toks[v.i].next; k = toks[k+1].next {
			steps++
			if !yield(Value{v.d, k}, Value{v.d, k + 1}) {
				break
			}
		}
		workcount.Add(steps)
	}
}

// Elements yields an array's elements in order. It yields nothing for other kinds.
func (v Value) Elements() iter.Seq[Value] {
	return func(yield func(Value) bool) {
		if v.Kind() != Array {
			return
		}
		toks := v.d.toks
		steps := uint64(0) // elements yielded (package workcount)
		for e := v.i + 1; e < toks[v.i].next; e = toks[e].next {
			steps++
			if !yield(Value{v.d, e}) {
				break
			}
		}
		workcount.Add(steps)
	}
}

// Text is a string value decoded as encoding/json decodes it ("" for other
// kinds).
func (v Value) Text() string {
	if v.Kind() != String {
		return ""
	}
	t := v.tok()
	raw := v.d.body[t.start+1 : t.end-1]
	if !t.esc {
		workcount.Add(uint64(len(raw))) // bytes copied
		return string(raw)
	}
	return string(AppendUnquoted(make([]byte, 0, len(raw)), raw))
}

// Is reports whether v is a string whose decoded text is s.
func (v Value) Is(s string) bool { return v.Kind() == String && v.d.textEqual(v.i, s) }

// IsFold reports whether v is a string whose decoded text equals s under
// simple Unicode case folding (strings.EqualFold): how encoding/json matches
// an object's keys to a struct's fields.
func (v Value) IsFold(s string) bool {
	if v.Kind() != String {
		return false
	}
	t := v.tok()
	raw := v.d.body[t.start+1 : t.end-1]
	if t.esc {
		raw = AppendUnquoted(nil, raw)
	}
	workcount.Add(uint64(min(len(raw), len(s)))) // bytes compared
	return bytes.EqualFold(raw, []byte(s))
}

// textEqual reports whether the string token k decodes to s.
func (d *Doc) textEqual(k int32, s string) bool {
	t := &d.toks[k]
	raw := d.body[t.start+1 : t.end-1]
	if !t.esc {
		return string(raw) == s
	}
	if len(raw) < len(s) { // escapes only make the text longer than what it decodes to
		return false
	}
	var buf [64]byte // AppendUnquoted counts the bytes it decodes
	return string(AppendUnquoted(buf[:0], raw)) == s
}

// AppendUnquoted appends the decoded content of a valid JSON string (without
// its quotes; checked by Parse or CheckObject) to dst, as encoding/json decodes it: an escaped surrogate pair is
// one character, a lone surrogate is U+FFFD.
func AppendUnquoted(dst, s []byte) []byte {
	workcount.Add(uint64(len(s))) // one pass
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			j := bytes.IndexByte(s[i:], '\\')
			if j < 0 {
				j = len(s) - i
			}
			dst = append(dst, s[i:i+j]...)
			i += j
			continue
		}
		e := s[i+1]
		i += 2
		if r, ok := shortEscape(e); ok {
			dst = append(dst, r)
			continue
		}
		r, _ := hex4(s[i:]) // 'u': the checker has validated the escape
		i += 4
		if utf16.IsSurrogate(r) {
			if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
				r2, _ := hex4(s[i+2:])
				if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
					dst = utf8.AppendRune(dst, dec)
					i += 6
					continue
				}
			}
			r = unicode.ReplacementChar
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// Canonical renders a JSON value with object keys sorted and numbers exactly
// as sent, so that the same content gives the same text whatever its spacing
// or key order: for de-duplication keys. It is the text encoding/json writes
// for the value decoded into an any with UseNumber (sorted keys, HTML
// characters and U+2028/U+2029 escaped). Invalid JSON renders as itself; an
// empty value as "".
func Canonical(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	d := docs.Get().(*Doc)
	defer d.Release()
	if err := d.parse(raw, true); err != nil {
		return canonicalDecoded(raw) // what the strict parse refuses: duplicate keys, deep nesting
	}
	return string(d.Root().AppendCanonical(make([]byte, 0, len(raw)+len(raw)/8)))
}

// canonicalDecoded is Canonical through encoding/json, for any input.
func canonicalDecoded(raw []byte) string {
	workcount.Add(3 * uint64(len(raw))) // decoded, encoded, copied: each linear
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var val any
	if err := dec.Decode(&val); err != nil {
		return string(raw)
	}
	out, err := json.Marshal(val)
	if err != nil {
		return string(raw)
	}
	return string(out)
}

// AppendCanonical appends the canonical form of v (see Canonical) to dst; an
// absent value appends nothing.
func (v Value) AppendCanonical(dst []byte) []byte {
	switch v.Kind() {
	case Absent:
		return dst
	case Object:
		type member struct {
			key []byte
			val int32
		}
		toks := v.d.toks
		var members []member
		for k := v.i + 1; k < toks[v.i].next; k = toks[k+1].next {
			t := &toks[k]
			key := v.d.body[t.start+1 : t.end-1]
			if t.esc {
				key = AppendUnquoted(nil, key)
			}
			members = append(members, member{key, k + 1})
		}
		steps := uint64(len(members)) // members read, then compared (package workcount)
		slices.SortFunc(members, func(a, b member) int {
			steps += 1 + uint64(min(len(a.key), len(b.key)))
			return bytes.Compare(a.key, b.key)
		})
		workcount.Add(steps)
		dst = append(dst, '{')
		for n, m := range members {
			if n > 0 {
				dst = append(dst, ',')
			}
			workcount.Add(uint64(len(m.key)))
			dst = appendHTMLSafe(dst, m.key)
			dst = append(dst, ':')
			dst = Value{v.d, m.val}.AppendCanonical(dst)
		}
		return append(dst, '}')
	case Array:
		dst = append(dst, '[')
		n := 0
		for e := range v.Elements() {
			if n > 0 {
				dst = append(dst, ',')
			}
			n++
			dst = e.AppendCanonical(dst)
		}
		return append(dst, ']')
	case String:
		t := v.tok()
		s := v.d.body[t.start+1 : t.end-1]
		if t.esc {
			s = AppendUnquoted(nil, s)
		}
		workcount.Add(uint64(len(s)))
		return appendHTMLSafe(dst, s)
	default: // numbers exactly as sent, true, false, null
		workcount.Add(uint64(len(v.Raw())))
		return append(dst, v.Raw()...)
	}
}

// appendHTMLSafe appends s as encoding/json writes a string: quote,
// backslash and control characters escaped, and also <, >, & and U+2028,
// U+2029 (as \u003c, \u2028, ...); invalid UTF-8 as \ufffd.
func appendHTMLSafe(dst, s []byte) []byte { return appendString(dst, s, true) }
