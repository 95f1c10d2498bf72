// Package pantest is the reference reader of the card-number guarantee
// (shared/DESIGN.md, "Card numbers"), for tests: a naive reading of a JSON
// document exactly as the guarantee is worded, which finds every card number
// left in it. The redactor's property tests (shared/pan) and every test that
// looks for card numbers at rest, in queues or in logs use it, so that there
// is one reference. It shares no code with the redactor, and shipping code
// never imports it.
//
// The rule: a document is read as one stream of characters in document
// order — the decoded characters of every key and string, the literal
// characters of every number, true, false and null as letters, the JSON
// structure between tokens as separators. A run is a stretch of the stream
// not interrupted by a letter (unicode.IsLetter); its digits are the decimal
// digits of any script (unicode.IsDigit), by their value, whatever stands
// between them. A card number is any 13–19-digit window of a run's digits
// that passes the Luhn check. The value of a top-level member the caller
// keeps as sent counts as one letter.
package pantest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode"
)

// Kept reports whether a top-level member is kept as sent, its value then
// counting as one letter. value is the member's value as encoding/json
// decodes it with UseNumber: string, json.Number, bool, nil, map[string]any
// or []any. A nil Kept keeps nothing.
type Kept func(name string, value any) bool

// Options say how Runs reads a document.
type Options struct {
	Kept Kept
	// StarLetter reads '*' as a letter. By default it is a separator, as
	// is every character that is neither a letter nor a digit: a reader
	// then sees the digits on both sides of a mask as one run.
	StarLetter bool
}

// ErrDuplicateKey is returned (wrapped) by Runs for an object that repeats a key.
var ErrDuplicateKey = errors.New("pantest: duplicate key")

// Digit returns the ASCII digit of the value of r, a decimal digit of any
// script, found by a search of unicode.Nd.
func Digit(r rune) (byte, bool) {
	if !unicode.IsDigit(r) {
		return 0, false
	}
	for _, rg := range unicode.Nd.R16 {
		if rune(rg.Lo) <= r && r <= rune(rg.Hi) {
			return '0' + byte((r-rune(rg.Lo))%10), true
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if rune(rg.Lo) <= r && r <= rune(rg.Hi) {
			return '0' + byte((r-rune(rg.Lo))%10), true
		}
	}
	panic(fmt.Sprintf("%U is a digit outside unicode.Nd", r))
}

// Luhn reports whether a string of ASCII digits passes the Luhn check.
func Luhn(digits string) bool {
	if digits == "" {
		return false
	}
	sum, double := 0, false
	for i := len(digits) - 1; i >= 0; i-- {
		c := digits[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

type scanner struct {
	o    Options
	runs []string
	cur  []byte
}

func (s *scanner) brk() {
	if len(s.cur) > 0 {
		s.runs = append(s.runs, string(s.cur))
		s.cur = nil
	}
}

func (s *scanner) text(str string) {
	for _, r := range str {
		if d, ok := Digit(r); ok {
			s.cur = append(s.cur, d)
		} else if unicode.IsLetter(r) || (s.o.StarLetter && r == '*') {
			s.brk()
		}
	}
}

func (s *scanner) value(dec *json.Decoder, top bool) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case json.Delim:
		seen := map[string]bool{}
		for dec.More() {
			if v == '{' {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k := kt.(string)
				if seen[k] {
					return fmt.Errorf("%w %q", ErrDuplicateKey, k)
				}
				seen[k] = true
				s.text(k)
				if top && s.o.Kept != nil {
					var raw json.RawMessage
					if err := dec.Decode(&raw); err != nil {
						return err
					}
					var val any
					d := json.NewDecoder(bytes.NewReader(raw))
					d.UseNumber()
					if err := d.Decode(&val); err != nil {
						return err
					}
					if s.o.Kept(k, val) {
						s.brk() // a kept value is one letter
						continue
					}
					sub := json.NewDecoder(bytes.NewReader(raw))
					sub.UseNumber()
					if err := s.value(sub, false); err != nil {
						return err
					}
					continue
				}
			}
			if err := s.value(dec, false); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return err
		}
	case string:
		s.text(v)
	case json.Number:
		s.text(string(v))
	default: // true, false, null: letters
		s.brk()
	}
	return nil
}

// Runs returns the digits (ASCII, by value) of every run of doc, one JSON
// value: an error when doc is not one, or an object repeats a key.
func Runs(doc []byte, o Options) ([]string, error) {
	s := &scanner{o: o}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := s.value(dec, true); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("pantest: data after the value")
	}
	s.brk()
	return s.runs, nil
}

// LuhnWindow returns the first 13–19-digit Luhn-valid window of the runs,
// checking every window.
func LuhnWindow(runs []string) (string, bool) {
	for _, d := range runs {
		for i := range d {
			for L := 13; L <= 19 && i+L <= len(d); L++ {
				if Luhn(d[i : i+L]) {
					return d[i : i+L], true
				}
			}
		}
	}
	return "", false
}

// LuhnWindows returns every distinct 13–19-digit Luhn-valid window of the
// runs.
func LuhnWindows(runs []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, d := range runs {
		for i := range d {
			for L := 13; L <= 19 && i+L <= len(d); L++ {
				if w := d[i : i+L]; !seen[w] && Luhn(w) {
					seen[w] = true
					out = append(out, w)
				}
			}
		}
	}
	return out
}

// CardNumbers returns every card number in doc (one JSON value) outside the
// top-level members kept keeps, or an error when doc is not one JSON value
// without repeated keys.
func CardNumbers(doc []byte, kept Kept) ([]string, error) {
	runs, err := Runs(doc, Options{Kept: kept})
	if err != nil {
		return nil, err
	}
	return LuhnWindows(runs), nil
}

// CardNumbersInText returns every card number in s, read as the characters
// of one JSON string (nothing kept).
func CardNumbersInText(s string) []string {
	doc, _ := json.Marshal(s) // invalid UTF-8 reads as U+FFFD, as a JSON reader reads it
	n, err := CardNumbers(doc, nil)
	if err != nil {
		panic(err) // a marshalled string is one JSON value
	}
	return n
}

// Contains returns the digit strings of planted (ASCII digits) that some
// run of runs holds: planted numbers that survive, whether they pass the
// Luhn check or not (a card-number field's value need not).
func Contains(runs []string, planted ...string) []string {
	var out []string
	for _, p := range planted {
		for _, r := range runs {
			if bytes.Contains([]byte(r), []byte(p)) {
				out = append(out, p)
				break
			}
		}
	}
	return out
}
