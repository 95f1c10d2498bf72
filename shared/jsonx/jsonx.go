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
	"io"
	"strconv"
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

// CheckObject reports whether body is a single, unambiguous JSON object.
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
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := walk(dec, 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return ErrTrailingData
	}
	return nil
}

func walk(dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		if n, isNum := tok.(json.Number); isNum {
			if _, err := strconv.ParseFloat(string(n), 64); err != nil {
				return ErrNumberRange
			}
		}
		return nil // other scalar
	}
	if depth+1 > MaxDepth {
		return ErrTooDeep
	}
	switch d {
	case '{':
		seen := map[string]struct{}{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return fmt.Errorf("%w: %v", ErrSyntax, err)
			}
			k, _ := kt.(string)
			if _, dup := seen[k]; dup {
				return fmt.Errorf("%w: %q", ErrDuplicateKey, k)
			}
			seen[k] = struct{}{}
			if err := walk(dec, depth+1); err != nil {
				return err
			}
		}
	case '[':
		for dec.More() {
			if err := walk(dec, depth+1); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // closing delimiter
		return fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	return nil
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
