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
	return c.run()
}

// checker validates JSON text by RFC 8259's grammar, as encoding/json does,
// and records its tokens when rec is set (see Doc).
type checker struct {
	b     []byte
	keys  [][]byte // scratch: the decoded keys of the innermost objects
	arena []byte   // decoded keys with escapes (keys slices it)
	rec   bool
	toks  []token
	seed  maphash.Seed
}

// run checks c.b as CheckObject does.
func (c *checker) run() error {
	if !utf8.Valid(c.b) {
		return ErrInvalidUTF8
	}
	trimmed := bytes.TrimLeft(c.b, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
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
		if depth+1 > MaxDepth {
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
	if depth+1 > MaxDepth {
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
	// Once the object has many members, duplicates are found through the
	// hashes of their keys (each hit compared exactly), or, after two keys
	// with one hash, through a set of the keys themselves.
	var hashed map[uint64]int
	var exact map[string]struct{}
	for {
		if i >= len(c.b) || c.b[i] != '"' {
			return i, syntax("expected a string key")
		}
		j, key, esc, err := c.str(i, true)
		if err != nil {
			return j, err
		}
		if c.dupKey(key, base, &hashed, &exact) {
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

// dupKey reports whether key repeats one of the object's keys c.keys[base:],
// and adds it to them.
func (c *checker) dupKey(key []byte, base int, hashed *map[uint64]int, exact *map[string]struct{}) bool {
	n := len(c.keys) - base
	c.keys = append(c.keys, key)
	switch {
	case *exact != nil:
	case n < 8:
		for _, k := range c.keys[base : base+n] {
			if bytes.Equal(k, key) {
				return true
			}
		}
		return false
	default:
		if *hashed == nil {
			if c.seed == (maphash.Seed{}) {
				c.seed = maphash.MakeSeed()
			}
			*hashed = make(map[uint64]int, 16)
			for k, name := range c.keys[base : base+n] {
				(*hashed)[maphash.Bytes(c.seed, name)] = base + k
			}
		}
		h := maphash.Bytes(c.seed, key)
		k, hit := (*hashed)[h]
		if !hit {
			(*hashed)[h] = base + n
			return false
		}
		if bytes.Equal(c.keys[k], key) {
			return true
		}
		// Two different keys with one hash: compare the keys themselves.
		*exact = make(map[string]struct{}, n+1)
		for _, name := range c.keys[base : base+n] {
			(*exact)[string(name)] = struct{}{}
		}
	}
	if _, dup := (*exact)[string(key)]; dup {
		return true
	}
	(*exact)[string(key)] = struct{}{}
	return false
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
	if exp || i-start > 300 {
		if _, err := strconv.ParseFloat(string(c.b[start:i]), 64); err != nil {
			return i, ErrNumberRange
		}
	}
	return i, nil
}
