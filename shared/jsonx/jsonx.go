// Package jsonx checks that a webhook body is one well-formed JSON object that
// means exactly one thing: valid UTF-8, no duplicate keys (which parsers resolve
// differently, a classic way to smuggle a second value past a signature check),
// bounded nesting, numbers a float64 can hold, nothing after the value.
package jsonx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"webhooks/shared/workcount"
)

// MaxDepth is the deepest nesting of objects and arrays accepted.
const MaxDepth = 32

var (
	// ErrInvalidUTF8 means the body is not valid UTF-8.
	ErrInvalidUTF8 = errors.New("body is not valid UTF-8")
	// ErrSyntax means the body is not well-formed JSON.
	ErrSyntax = errors.New("body is not well-formed JSON")
	// ErrNotObject means the top-level value is not a JSON object.
	ErrNotObject = errors.New("body is not a JSON object")
	// ErrDuplicateKey means an object repeats a key.
	ErrDuplicateKey = errors.New("body repeats a key in one object")
	// ErrTooDeep means the nesting exceeds MaxDepth.
	ErrTooDeep = errors.New("body is nested too deeply")
	// ErrTrailingData means there is more than one JSON value.
	ErrTrailingData = errors.New("body has data after the JSON value")
	// ErrNumberRange means a number cannot be represented as a float64 (e.g.
	// 1e400): consumers parsing it would fail or read infinity.
	ErrNumberRange = errors.New("body has a number out of range")
)

// CheckObject reports whether body is a single, unambiguous JSON object. It
// reads body once, without building values: time linear in len(body), and an
// allocation only per object of more than a few members (to find duplicates).
// Parse makes the same check and keeps what it read.
func CheckObject(body []byte) error {
	c := checker{b: body}
	err := c.run()
	workcount.Add(c.work)
	return err
}

// checker validates JSON text by RFC 8259's grammar, as encoding/json does,
// and records its tokens when rec is set (see Doc).
type checker struct {
	b     []byte
	keys  []keyEntry // scratch: the decoded keys of the open objects
	arena []byte     // decoded keys with escapes
	rec   bool
	toks  []token
	// lenient checks the grammar only, as json.Valid does (see Valid).
	lenient bool

	// Keys of objects of many members, by hash (see dupKey).
	seed    maphash.Seed
	dup     []dupEntry
	ndup    int
	objects uint32

	// work counts the steps of the checker's loops, for the tests that
	// check it is linear (package workcount): the bytes of the passes over
	// the body (UTF-8, then the grammar, which never moves back), numbers
	// read again by the range check, and every step of the duplicate-key
	// search (keys and bytes compared, at most; bytes hashed, table slots
	// probed, entries moved when the table grows). It is added to once per
	// key, probe or body, never per byte.
	work uint64
}

// run checks c.b as CheckObject does.
func (c *checker) run() error {
	// utf8.Valid reads each byte once, and the grammar below once more:
	// value, str, number and ws only ever move forward.
	c.work += 2 * uint64(len(c.b))
	if !utf8.Valid(c.b) {
		return ErrInvalidUTF8
	}
	trimmed := bytes.TrimLeft(c.b, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		c.work += uint64(len(trimmed)) // json.Valid
		if len(trimmed) == 0 || !json.Valid(trimmed) {
			return ErrSyntax
		}
		return ErrNotObject
	}
	return c.top()
}

// top checks the one value of c.b, with nothing but whitespace around it.
func (c *checker) top() error {
	i, err := c.value(c.ws(0), 0)
	if err != nil {
		return err
	}
	if c.ws(i) != len(c.b) {
		return ErrTrailingData
	}
	return nil
}

// maxDepth is the deepest nesting accepted: MaxDepth, or encoding/json's
// limit when lenient.
func (c *checker) maxDepth() int {
	if c.lenient {
		return 10000
	}
	return MaxDepth
}

// Valid reports whether b is one JSON value, exactly as json.Valid does (the
// grammar only: duplicate keys, numbers out of a float64's range and invalid
// UTF-8 in strings pass; nesting up to encoding/json's limit of 10000), in
// one pass without allocating.
func Valid(b []byte) bool {
	c := checker{b: b, lenient: true}
	ok := c.top() == nil
	workcount.Add(c.work + uint64(len(b))) // the grammar: one pass
	return ok
}

func (c *checker) ws(i int) int {
	for i < len(c.b) && (c.b[i] == ' ' || c.b[i] == '\t' || c.b[i] == '\n' || c.b[i] == '\r') {
		i++
	}
	return i
}

func syntax(what string) error { return fmt.Errorf("%w: %s", ErrSyntax, what) }

// add records a token of kind for c.b[start:end] (a scalar; containers are
// completed by close) and returns its index.
func (c *checker) add(kind Kind, start, end int, esc bool) int {
	c.toks = append(c.toks, token{start: int32(start), end: int32(end), next: int32(len(c.toks) + 1), kind: kind, esc: esc})
	return len(c.toks) - 1
}

// close completes the container token t, which ends before c.b[end].
func (c *checker) close(t, end int) {
	c.toks[t].end, c.toks[t].next = int32(end), int32(len(c.toks))
}

// value checks the value at i (whitespace skipped) and returns the index after it.
func (c *checker) value(i, depth int) (int, error) {
	if i >= len(c.b) {
		return i, syntax("unexpected end of input")
	}
	switch ch := c.b[i]; {
	case ch == '{':
		return c.object(i, depth)
	case ch == '[':
		if depth+1 > c.maxDepth() {
			return i, ErrTooDeep
		}
		t := -1
		if c.rec {
			t = c.add(Array, i, i+1, false)
		}
		i = c.ws(i + 1)
		if i < len(c.b) && c.b[i] == ']' {
			if c.rec {
				c.close(t, i+1)
			}
			return i + 1, nil
		}
		for {
			var err error
			if i, err = c.value(i, depth+1); err != nil {
				return i, err
			}
			i = c.ws(i)
			if i >= len(c.b) {
				return i, syntax("unexpected end of array")
			}
			if c.b[i] == ']' {
				if c.rec {
					c.close(t, i+1)
				}
				return i + 1, nil
			}
			if c.b[i] != ',' {
				return i, syntax("expected , or ] in array")
			}
			i = c.ws(i + 1)
		}
	case ch == '"':
		j, _, esc, err := c.str(i, false)
		if err == nil && c.rec {
			c.add(String, i, j, esc)
		}
		return j, err
	case ch == '-' || (ch >= '0' && ch <= '9'):
		j, err := c.number(i)
		if err == nil && c.rec {
			c.add(Number, i, j, false)
		}
		return j, err
	default:
		for _, lit := range [...]struct {
			text string
			kind Kind
		}{{"true", Bool}, {"false", Bool}, {"null", Null}} {
			if bytes.HasPrefix(c.b[i:], []byte(lit.text)) {
				if c.rec {
					c.add(lit.kind, i, i+len(lit.text), false)
				}
				return i + len(lit.text), nil
			}
		}
		return i, syntax("invalid character")
	}
}

func (c *checker) object(i, depth int) (int, error) {
	if depth+1 > c.maxDepth() {
		return i, ErrTooDeep
	}
	t := -1
	if c.rec {
		t = c.add(Object, i, i+1, false)
	}
	i = c.ws(i + 1)
	if i < len(c.b) && c.b[i] == '}' {
		if c.rec {
			c.close(t, i+1)
		}
		return i + 1, nil
	}
	base, arena := len(c.keys), len(c.arena)
	defer func() { c.keys, c.arena = c.keys[:base], c.arena[:arena] }()
	obj := uint32(0) // the object's number in c.dup, once it has many members
	for {
		if i >= len(c.b) || c.b[i] != '"' {
			return i, syntax("expected a string key")
		}
		from := len(c.arena)
		j, key, esc, err := c.str(i, !c.lenient)
		if err != nil {
			return j, err
		}
		e := keyEntry{off: int32(i + 1), end: int32(j - 1), sig: signature(key)}
		if esc {
			e = keyEntry{off: int32(from), end: int32(len(c.arena)), sig: e.sig, arena: true}
		}
		if !c.lenient && c.dupKey(e, base, &obj) {
			return i, ErrDuplicateKey // never the key: it may be a card number, and errors are logged
		}
		if c.rec {
			c.add(String, i, j, esc)
		}
		i = c.ws(j)
		if i >= len(c.b) || c.b[i] != ':' {
			return i, syntax("expected : after object key")
		}
		if i, err = c.value(c.ws(i+1), depth+1); err != nil {
			return i, err
		}
		i = c.ws(i)
		if i >= len(c.b) {
			return i, syntax("unexpected end of object")
		}
		if c.b[i] == '}' {
			if c.rec {
				c.close(t, i+1)
			}
			return i + 1, nil
		}
		if c.b[i] != ',' {
			return i, syntax("expected , or } in object")
		}
		i = c.ws(i + 1)
	}
}

// keyEntry is a decoded key of an open object: c.b[off:end], or
// c.arena[off:end] when it held escapes.
type keyEntry struct {
	off, end int32
	sig      uint32 // signature of the key
	arena    bool
}

func (c *checker) key(e keyEntry) []byte {
	if e.arena {
		return c.arena[e.off:e.end]
	}
	return c.b[e.off:e.end]
}

// signature is a key's length (modulo 2^16) and first and last bytes: two
// keys with different signatures differ.
func signature(k []byte) uint32 {
	if len(k) == 0 {
		return 0
	}
	return uint32(len(k))<<16 | uint32(k[0])<<8 | uint32(k[len(k)-1])
}

// dupKey reports whether key e repeats one of the object's keys c.keys[base:],
// and adds it to them. Up to 32 keys are compared pairwise (first their
// signatures); once the object has more, obj is its number and its keys are
// found through c.dup.
func (c *checker) dupKey(e keyEntry, base int, obj *uint32) bool {
	n := len(c.keys) - base
	if cap(c.keys) == 0 {
		c.keys = make([]keyEntry, 0, min(max(len(c.b)/24, 8), 64))
	}
	c.keys = append(c.keys, e)
	if n < 32 {
		// At most n keys compared, each to at most the key's bytes.
		c.work += uint64(n) * uint64(1+e.end-e.off)
		for _, k := range c.keys[base : base+n] {
			if k.sig == e.sig && bytes.Equal(c.key(k), c.key(e)) {
				return true
			}
		}
		return false
	}
	if *obj == 0 {
		if c.seed == (maphash.Seed{}) {
			c.seed = maphash.MakeSeed()
		}
		c.objects++
		*obj = c.objects
		for k := base; k < base+n; k++ {
			c.insertKey(*obj, k) // distinct, as checked pairwise
		}
	}
	return c.insertKey(*obj, base+n)
}

// dupEntry is a slot of c.dup: the hash of key c.keys[key-1] (0: an empty
// slot) of object obj. Slots of objects that are closed are left in place:
// their object numbers are never used again.
type dupEntry struct {
	hash uint64
	obj  uint32
	key  int32
}

// insertKey adds key c.keys[k] of object obj to c.dup, an open-addressing
// table (random seed: no input can make the probes long), and reports whether
// the object already had it.
func (c *checker) insertKey(obj uint32, k int) bool {
	if 2*(c.ndup+1) > len(c.dup) {
		c.growDup()
	}
	name := c.key(c.keys[k])
	h := maphash.Bytes(c.seed, name)
	c.work += uint64(len(name)) // bytes hashed
	mask := uint64(len(c.dup) - 1)
	for j := (h ^ uint64(obj)*0x9E3779B97F4A7C15) & mask; ; j = (j + 1) & mask {
		c.work++ // a slot probed
		e := &c.dup[j]
		if e.key == 0 {
			*e = dupEntry{hash: h, obj: obj, key: int32(k + 1)}
			c.ndup++
			return false
		}
		if e.hash == h && e.obj == obj {
			c.work += uint64(len(name)) // bytes compared
			if bytes.Equal(c.key(c.keys[e.key-1]), name) {
				return true
			}
		}
	}
}

// growDup doubles c.dup (64 slots at first), placing its entries again.
func (c *checker) growDup() {
	old := c.dup
	c.dup = make([]dupEntry, max(64, 2*len(old)))
	c.work += uint64(len(old)) // entries moved
	mask := uint64(len(c.dup) - 1)
	for _, e := range old {
		if e.key == 0 {
			continue
		}
		j := (e.hash ^ uint64(e.obj)*0x9E3779B97F4A7C15) & mask
		for c.dup[j].key != 0 {
			j = (j + 1) & mask
		}
		c.dup[j] = e
	}
}

// str checks the string at i (c.b[i] == '"') and reports whether it holds
// escapes; with want it also returns the decoded string (escapes resolved as
// encoding/json resolves them, so that two spellings of one key are one key):
// a slice of the input when the string has no escape, else of c.arena.
func (c *checker) str(i int, want bool) (int, []byte, bool, error) {
	i++
	start := i
	esc := false
	from := len(c.arena)
	for i < len(c.b) {
		ch := c.b[i]
		if plain[ch] {
			i++
			continue
		}
		switch {
		case ch == '"':
			if !want {
				return i + 1, nil, esc, nil
			}
			if !esc {
				return i + 1, c.b[start:i], false, nil
			}
			c.arena = append(c.arena, c.b[start:i]...)
			return i + 1, c.arena[from:], true, nil
		case ch < 0x20:
			return i, nil, esc, syntax("control character in string")
		case ch == '\\':
			esc = true
			if want {
				c.arena = append(c.arena, c.b[start:i]...)
			}
			if i+1 >= len(c.b) {
				return i, nil, esc, syntax("unexpected end of string")
			}
			e := c.b[i+1]
			if r, ok := shortEscape(e); ok {
				if want {
					c.arena = append(c.arena, r)
				}
				i += 2
				start = i
				continue
			}
			if e != 'u' {
				return i, nil, esc, syntax("invalid escape in string")
			}
			r, ok := hex4(c.b[i+2:])
			if !ok {
				return i, nil, esc, syntax("invalid \\u escape")
			}
			i += 6
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(-1), false
				if i+1 < len(c.b) && c.b[i] == '\\' && c.b[i+1] == 'u' {
					r2, ok2 = hex4(c.b[i+2:])
				}
				if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			if want {
				c.arena = utf8.AppendRune(c.arena, r)
			}
			start = i
		default:
			i++
		}
	}
	return i, nil, esc, syntax("unexpected end of string")
}

// plain marks the bytes a string holds as they are: not a quote, a backslash
// or a control character.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func shortEscape(e byte) (byte, bool) {
	switch e {
	case '"', '\\', '/':
		return e, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, ch := range b[:4] {
		var v byte
		switch {
		case ch >= '0' && ch <= '9':
			v = ch - '0'
		case ch >= 'a' && ch <= 'f':
			v = ch - 'a' + 10
		case ch >= 'A' && ch <= 'F':
			v = ch - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

// number checks a number by JSON's grammar, and that a float64 can hold it.
func (c *checker) number(i int) (int, error) {
	start := i
	digits := func() bool {
		j := i
		for i < len(c.b) && c.b[i] >= '0' && c.b[i] <= '9' {
			i++
		}
		return i > j
	}
	if c.b[i] == '-' {
		i++
	}
	if i < len(c.b) && c.b[i] == '0' {
		i++
	} else if !digits() {
		return i, syntax("invalid number")
	}
	exp := false
	if i < len(c.b) && c.b[i] == '.' {
		i++
		if !digits() {
			return i, syntax("invalid number")
		}
	}
	if i < len(c.b) && (c.b[i] == 'e' || c.b[i] == 'E') {
		exp = true
		i++
		if i < len(c.b) && (c.b[i] == '+' || c.b[i] == '-') {
			i++
		}
		if !digits() {
			return i, syntax("invalid number")
		}
	}
	// Only an exponent or hundreds of digits can take a number out of a
	// float64's range (about 1.8e308).
	if (exp || i-start > 300) && !c.lenient {
		c.work += uint64(i - start) // read again by ParseFloat
		if _, err := strconv.ParseFloat(string(c.b[start:i]), 64); err != nil {
			return i, ErrNumberRange
		}
	}
	return i, nil
}
