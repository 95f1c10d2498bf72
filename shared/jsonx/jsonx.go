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
func CheckObject(body []byte) error {
	if !utf8.Valid(body) {
		return ErrInvalidUTF8
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		if len(trimmed) == 0 || !json.Valid(trimmed) {
			return ErrSyntax
		}
		return ErrNotObject
	}
	c := checker{b: body}
	i, err := c.value(c.ws(0), 0)
	if err != nil {
		return err
	}
	if c.ws(i) != len(body) {
		return ErrTrailingData
	}
	return nil
}

// checker validates JSON text by RFC 8259's grammar, as encoding/json does.
type checker struct {
	b    []byte
	keys [][]byte // scratch: the decoded keys of the innermost objects
}

func (c *checker) ws(i int) int {
	for i < len(c.b) && (c.b[i] == ' ' || c.b[i] == '\t' || c.b[i] == '\n' || c.b[i] == '\r') {
		i++
	}
	return i
}

func syntax(what string) error { return fmt.Errorf("%w: %s", ErrSyntax, what) }

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
		i = c.ws(i + 1)
		if i < len(c.b) && c.b[i] == ']' {
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
				return i + 1, nil
			}
			if c.b[i] != ',' {
				return i, syntax("expected , or ] in array")
			}
			i = c.ws(i + 1)
		}
	case ch == '"':
		j, _, err := c.str(i, false)
		return j, err
	case ch == '-' || (ch >= '0' && ch <= '9'):
		return c.number(i)
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if bytes.HasPrefix(c.b[i:], []byte(lit)) {
				return i + len(lit), nil
			}
		}
		return i, syntax("invalid character")
	}
}

func (c *checker) object(i, depth int) (int, error) {
	if depth+1 > MaxDepth {
		return i, ErrTooDeep
	}
	i = c.ws(i + 1)
	if i < len(c.b) && c.b[i] == '}' {
		return i + 1, nil
	}
	base := len(c.keys)
	defer func() { c.keys = c.keys[:base] }()
	var seen map[string]struct{} // once the object has many members
	for {
		if i >= len(c.b) || c.b[i] != '"' {
			return i, syntax("expected a string key")
		}
		j, key, err := c.str(i, true)
		if err != nil {
			return j, err
		}
		if seen == nil && len(c.keys)-base < 8 {
			for _, k := range c.keys[base:] {
				if bytes.Equal(k, key) {
					return i, ErrDuplicateKey // never the key: it may be a card number, and errors are logged
				}
			}
			c.keys = append(c.keys, key)
		} else {
			if seen == nil {
				seen = make(map[string]struct{}, 16)
				for _, k := range c.keys[base:] {
					seen[string(k)] = struct{}{}
				}
			}
			if _, dup := seen[string(key)]; dup {
				return i, ErrDuplicateKey // never the key: it may be a card number, and errors are logged
			}
			seen[string(key)] = struct{}{}
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
			return i + 1, nil
		}
		if c.b[i] != ',' {
			return i, syntax("expected , or } in object")
		}
		i = c.ws(i + 1)
	}
}

// str checks the string at i (c.b[i] == '"'); with want it also returns the
// decoded string (escapes resolved as encoding/json resolves them, so that
// two spellings of one key are one key): a slice of the input when the string
// has no escape, else a new one.
func (c *checker) str(i int, want bool) (int, []byte, error) {
	i++
	start := i
	var dst []byte // nil until an escape is met
	for i < len(c.b) {
		ch := c.b[i]
		switch {
		case ch == '"':
			if !want {
				return i + 1, nil, nil
			}
			if dst == nil {
				return i + 1, c.b[start:i], nil
			}
			return i + 1, append(dst, c.b[start:i]...), nil
		case ch < 0x20:
			return i, nil, syntax("control character in string")
		case ch == '\\':
			if want {
				dst = append(dst, c.b[start:i]...)
			}
			if i+1 >= len(c.b) {
				return i, nil, syntax("unexpected end of string")
			}
			e := c.b[i+1]
			if r, ok := shortEscape(e); ok {
				if want {
					dst = append(dst, r)
				}
				i += 2
				start = i
				continue
			}
			if e != 'u' {
				return i, nil, syntax("invalid escape in string")
			}
			r, ok := hex4(c.b[i+2:])
			if !ok {
				return i, nil, syntax("invalid \\u escape")
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
				dst = utf8.AppendRune(dst, r)
			}
			start = i
		default:
			i++
		}
	}
	return i, nil, syntax("unexpected end of string")
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

// Canonical renders a JSON value with object keys sorted and numbers exactly
// as sent, so that the same content gives the same text whatever its spacing
// or key order: for de-duplication keys. Invalid JSON renders as itself; an
// empty value as "".
func Canonical(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
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
