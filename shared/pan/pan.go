// Package pan hides payment card numbers (primary account numbers) in webhook
// payloads before anything is stored, queued or logged.
//
// Two rules, applied by Redactor.Redact to a decoded JSON value:
//
//   - A field whose name says it is a card number (cardNumber, card_number,
//     cardNo, cardNum, pan, cardPAN, primaryAccountNumber, ... at any depth) has
//     its value masked with Mask, whatever it holds: a string is masked in place,
//     a number becomes a masked string, an object or array has every string and
//     number inside masked.
//   - The digits of every card number found that way are then masked wherever
//     else they appear, in any string or number of the payload (also grouped by
//     spaces or dashes, also inside exempt fields): a card number copied into a
//     message or an id must not survive because it fails the Luhn check.
//   - Optionally (Redactor.ScanText), every other string value is scanned for
//     card numbers written inside text: a standalone run of 13 to 19 digits,
//     optionally grouped by single spaces or dashes, that passes the Luhn check
//     is masked with Mask. Fields whose format is known not to be free text (ids,
//     addresses, amounts) can be exempted, so that an id that happens to pass the
//     Luhn check is kept intact.
package pan

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode"
)

// MinPartialLength is the shortest value (counting characters other than
// spaces and dashes) of which the first 6 and last 4 characters are shown:
// at least 5 stay hidden. Shorter values are masked completely.
const MinPartialLength = 15

// Mask hides a card number: the first 6 and the last 4 characters are kept,
// every other character except spaces and dashes becomes '*', so the length and
// grouping are unchanged ("5554748800912345" → "555474******2345"). A value
// shorter than MinPartialLength is masked completely. Masking a masked value
// changes nothing.
func Mask(v string) string {
	rs := []rune(v)
	n := 0
	for _, r := range rs {
		if !isSep(r) {
			n++
		}
	}
	keepHead, keepTail := 6, 4
	if n < MinPartialLength {
		keepHead, keepTail = 0, 0
	}
	i := 0
	for j, r := range rs {
		if isSep(r) {
			continue
		}
		if i >= keepHead && i < n-keepTail {
			rs[j] = '*'
		}
		i++
	}
	return string(rs)
}

func isSep(r rune) bool { return r == ' ' || r == '-' }

// IsCardNumberField reports whether a JSON field name denotes a card number:
// the words card+number (or no, num, nbr), pan, or primary+account+number, in
// any case or separator style ("cardNumber", "card_no", "PAN", "cardPan").
// "cardId", "cardType" or "timespan" are not card numbers.
func IsCardNumberField(name string) bool {
	words := splitWords(name)
	for i, w := range words {
		switch w {
		case "pan", "cardnumber", "cardno", "cardnum", "cardnbr", "pannumber", "panno", "primaryaccountnumber":
			return true
		case "card":
			if i+1 < len(words) {
				switch words[i+1] {
				case "number", "no", "num", "nbr", "pan":
					return true
				}
			}
		case "primary":
			if i+2 < len(words) && words[i+1] == "account" && (words[i+2] == "number" || words[i+2] == "no") {
				return true
			}
		}
	}
	return false
}

// splitWords splits a field name into lowercase words at separators, at
// lower-to-upper case changes and at the end of an acronym ("cardPANValue" →
// card, pan, value).
func splitWords(name string) []string {
	rs := []rune(name)
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush()
			continue
		}
		if unicode.IsUpper(r) && i > 0 {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return words
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
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// MaskText masks every card number written inside s: a run of 13 to 19 digits
// that passes the Luhn check, optionally grouped by single spaces or dashes,
// not touching another letter or digit. It reports whether it changed s.
func MaskText(s string) (string, bool) {
	rs := []rune(s)
	changed := false
	for i := 0; i < len(rs); {
		if !isDigit(rs[i]) || (i > 0 && isAlnum(rs[i-1])) {
			i++
			continue
		}
		// The run: digits, with single separators between digits.
		groups := [][2]int{} // [start, end) of each digit group
		j := i
		for {
			k := j
			for k < len(rs) && isDigit(rs[k]) {
				k++
			}
			groups = append(groups, [2]int{j, k})
			if k+1 < len(rs) && isSep(rs[k]) && isDigit(rs[k+1]) {
				j = k + 1
				continue
			}
			j = k
			break
		}
		if j < len(rs) && isAlnum(rs[j]) {
			// Touches a letter: part of a word or an address, not a card number.
			i = j
			continue
		}
		if maskGroups(rs, groups) {
			changed = true
		}
		i = j
	}
	if !changed {
		return s, false
	}
	return string(rs), true
}

// maskGroups masks, from left to right, the longest sequences of consecutive
// digit groups that hold 13 to 19 digits and pass the Luhn check.
func maskGroups(rs []rune, groups [][2]int) bool {
	changed := false
	for a := 0; a < len(groups); {
		matched := -1
		for b := len(groups) - 1; b >= a; b-- {
			var digits []rune
			for _, g := range groups[a : b+1] {
				digits = append(digits, rs[g[0]:g[1]]...)
			}
			if len(digits) >= 13 && len(digits) <= 19 && Luhn(string(digits)) {
				matched = b
				break
			}
		}
		if matched < 0 {
			a++
			continue
		}
		start, end := groups[a][0], groups[matched][1]
		copy(rs[start:end], []rune(Mask(string(rs[start:end]))))
		changed = true
		a = matched + 1
	}
	return changed
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }
func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// Redactor applies the package's rules to a decoded JSON value.
type Redactor struct {
	// ScanText enables scanning string values for card numbers inside text.
	ScanText bool
	// Exempt names top-level fields that are not scanned as text (identifiers,
	// addresses, amounts). A field named like a card number is masked anyway.
	Exempt map[string]bool
}

// Redact returns v with card numbers masked, and whether anything changed. v
// is a value decoded by encoding/json (preferably with UseNumber); maps and
// slices are modified in place.
func (r Redactor) Redact(v any) (any, bool) {
	known := map[string]bool{}
	collectKnown(v, false, known)
	return r.walk(v, true, known)
}

// minKnownDigits is the fewest digits a card-number field's value must have to
// be searched for elsewhere (shorter ones would mask unrelated numbers).
const minKnownDigits = 12

// collectKnown gathers the digits of every value held by a card-number field.
func collectKnown(v any, inCard bool, known map[string]bool) {
	add := func(s string) {
		d := strings.Map(func(r rune) rune {
			if isDigit(r) {
				return r
			}
			return -1
		}, s)
		if len(d) >= minKnownDigits && !strings.ContainsRune(s, '*') {
			known[d] = true
		}
	}
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			collectKnown(val, inCard || IsCardNumberField(k), known)
		}
	case []any:
		for _, val := range t {
			collectKnown(val, inCard, known)
		}
	case string:
		if inCard {
			add(t)
		}
	case json.Number:
		if inCard {
			add(t.String())
		}
	}
}

func (r Redactor) walk(v any, top bool, known map[string]bool) (any, bool) {
	changed := false
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			var c bool
			switch {
			case IsCardNumberField(k):
				t[k], c = maskAll(val)
			case top && r.Exempt[k]:
				if s, isStr := val.(string); isStr {
					t[k], c = maskKnown(s, known)
				} else {
					t[k], c = r.walk(val, false, known)
				}
			default:
				t[k], c = r.walk(val, false, known)
			}
			changed = changed || c
		}
	case []any:
		for i, val := range t {
			var c bool
			t[i], c = r.walk(val, false, known)
			changed = changed || c
		}
	case string:
		s, c := maskKnown(t, known)
		if r.ScanText {
			var c2 bool
			s, c2 = MaskText(s)
			c = c || c2
		}
		return s, c
	case json.Number:
		if s, c := maskKnown(t.String(), known); c {
			return s, true
		}
	}
	return v, changed
}

// maskKnown masks every occurrence in s of a known card number's digits, also
// where single spaces or dashes separate them.
func maskKnown(s string, known map[string]bool) (string, bool) {
	if len(known) == 0 {
		return s, false
	}
	rs := []rune(s)
	changed := false
	for p := range known {
		pd := []rune(p)
		for i := 0; i < len(rs); i++ {
			if rs[i] != pd[0] {
				continue
			}
			j, k := i, 0
			for j < len(rs) && k < len(pd) {
				if rs[j] == pd[k] {
					j, k = j+1, k+1
					continue
				}
				if k > 0 && isSep(rs[j]) && j+1 < len(rs) && rs[j+1] == pd[k] {
					j++
					continue
				}
				break
			}
			if k == len(pd) {
				copy(rs[i:j], []rune(Mask(string(rs[i:j]))))
				changed = true
				i = j - 1
			}
		}
	}
	if !changed {
		return s, false
	}
	return string(rs), true
}

// maskAll masks every string and number inside v.
func maskAll(v any) (any, bool) {
	switch t := v.(type) {
	case string:
		m := Mask(t)
		return m, m != t
	case json.Number:
		return Mask(t.String()), true
	case float64:
		b, _ := json.Marshal(t)
		return Mask(string(b)), true
	case map[string]any:
		changed := false
		for k, val := range t {
			var c bool
			t[k], c = maskAll(val)
			changed = changed || c
		}
		return t, changed
	case []any:
		changed := false
		for i, val := range t {
			var c bool
			t[i], c = maskAll(val)
			changed = changed || c
		}
		return t, changed
	}
	return v, false
}

// Decode parses JSON keeping numbers exact (json.Number), for Redact.
func Decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// Encode renders v as compact JSON without HTML escaping.
func Encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
