package cardref

// The reference reader of the card-number guarantee (shared/DESIGN.md, "Card
// numbers"), for tests: a naive reading of a JSON document exactly as the
// guarantee is worded, which finds every card number left in it. The
// redactor's property tests (shared/pan) and every test that looks for card
// numbers at rest, in queues or in logs use it, so that there is one
// reference. It shares no code with the redactor, and shipping code never
// imports it (devkit is tooling).
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

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode"
)

// KeptMember reports whether a top-level member is kept as sent, its value then
// counting as one letter. value is the member's value as encoding/json
// decodes it with UseNumber: string, json.Number, bool, nil, map[string]any
// or []any. A nil KeptMember keeps nothing.
type KeptMember func(name string, value any) bool

// CardReading says how CardRuns reads a document.
type CardReading struct {
	Kept KeptMember
	// StarLetter reads '*' as a letter. By default it is a separator, as
	// is every character that is neither a letter nor a digit: a reader
	// then sees the digits on both sides of a mask as one run.
	StarLetter bool
}

// errDuplicateKey is returned (wrapped) by CardRuns for an object that
// repeats a key.
var errDuplicateKey = errors.New("devkit: duplicate key")

// CardDigit returns the ASCII digit of the value of r, a decimal digit of any
// script, found by a search of unicode.Nd.
func CardDigit(r rune) (byte, bool) {
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

type cardScanner struct {
	o    CardReading
	runs []string
	cur  []byte
}

func (s *cardScanner) brk() {
	if len(s.cur) > 0 {
		s.runs = append(s.runs, string(s.cur))
		s.cur = nil
	}
}

func (s *cardScanner) text(str string) {
	for _, r := range str {
		if d, ok := CardDigit(r); ok {
			s.cur = append(s.cur, d)
		} else if unicode.IsLetter(r) || (s.o.StarLetter && r == '*') {
			s.brk()
		}
	}
}

func (s *cardScanner) value(dec *json.Decoder, top bool) error {
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
					return fmt.Errorf("%w %q", errDuplicateKey, k)
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

// CardRuns returns the digits (ASCII, by value) of every run of doc, one
// JSON value: an error when doc is not one, or an object repeats a key.
func CardRuns(doc []byte, o CardReading) ([]string, error) {
	s := &cardScanner{o: o}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := s.value(dec, true); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("devkit: data after the value")
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
func CardNumbers(doc []byte, kept KeptMember) ([]string, error) {
	runs, err := CardRuns(doc, CardReading{Kept: kept})
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

// RunsContaining returns the digit strings of planted (ASCII digits) that
// some run of runs holds: planted numbers that survive, whether they pass the
// Luhn check or not (a card-number field's value need not).
func RunsContaining(runs []string, planted ...string) []string {
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

// KeptAsSent is what the contract (docs/CONTRACT.md §5, "Kept as sent, and
// only these") keeps as sent at the top level of one event's data, where a
// full card number may survive. Each provider's kit writes it (Kit.Kept)
// from the contract, never from the provider's code.
type KeptAsSent struct {
	// IDs are kept when their value is a scalar: a string, number, true,
	// false or null (an object or array under such a name is not kept).
	IDs []string
	// If are kept when their value is a string the function accepts: a
	// documented time in its provider's layout, say.
	If map[string]func(string) bool
	// Any are kept whatever their value.
	Any []string
}

// Member is k as the reader asks it, member by member.
func (k KeptAsSent) Member() KeptMember {
	return func(name string, v any) bool {
		for _, id := range k.IDs {
			if name == id {
				switch v.(type) {
				case map[string]any, []any:
					return false
				}
				return true
			}
		}
		for _, a := range k.Any {
			if name == a {
				return true
			}
		}
		s, isString := v.(string)
		f := k.If[name]
		return f != nil && isString && f(s)
	}
}
