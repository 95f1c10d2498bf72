// Package pan hides payment card numbers (primary account numbers) in webhook
// payloads before anything is stored, queued or logged.
//
// The guarantee: no 13–19-digit Luhn-valid run survives anywhere in the
// output, whatever its shape — in strings, numbers or object keys; its digits
// separated by any non-alphanumeric characters (spaces, dashes, dots,
// underscores, slashes, Unicode spaces, line separators, repeated or not);
// touching letters; split over consecutive array elements. Such a run is
// masked to its first 6 and last 4 digits. Every step runs in time linear in
// the size of the body.
//
// Policy.Redact reads the document as one stream of characters in document
// order: the decoded characters of every key and string, the literal
// characters of every number, the literals true, false and null as letters,
// and the JSON structure between tokens as separators. A kept member's value
// counts as one letter: under a Policy.Keep name, a top-level string, number,
// true, false or null; under a Policy.KeepIf name, a top-level string whose
// decoded text its function accepts (a documented time: a time is not a card
// number, and masking one corrupts it). A dropped member (Policy.Drop) counts
// as nothing. Any other value under a kept name (an object or array; under a
// KeepIf name also a number, a literal, or a string the function refuses) is
// not kept: it is read and redacted like any other value. Drop wins over
// Keep and KeepIf, Keep over KeepIf, and a field named like a card number
// (rule 2) is never kept. A run is a stretch of that stream not interrupted
// by a letter (unicode.IsLetter); its digits (unicode.IsDigit, any script) in
// order form its digit sequence, whatever separators stand between them.
// Then:
//
//  1. Every 13–19-digit window of a run's digit sequence that passes the Luhn
//     check has every digit but its first 6 and last 4 masked.
//  2. Every string and number inside the value of a field named like a card
//     number (IsCardNumberField of the key; any depth) is masked like Mask
//     does: every digit, except the first 6 and last 4 when the value holds
//     at least 15 digits (counting '*'s, so that a masked value stays as it
//     is).
//  3. The digits of such a value (12–19 digits, not already masked) are
//     "known": every occurrence elsewhere is masked the same way, so a card
//     number that fails the Luhn check (the provider's documented sample
//     5554748800912345 does) does not survive being copied into a message.
//  4. The digits left unmasked are checked again, with the masked ones taken
//     out (a reader treating '*' as a separator sees the digits on both sides
//     of a mask as one run): any Luhn-valid or known window that forms is
//     masked too, until none is left.
//
// A masked digit becomes '*' (one byte, whatever the digit's width). A
// number with a masked digit becomes a string of its literal. A key that
// masking makes equal to another key of its object gets a suffix "#" plus
// letters ("#a", "#b", ...; never digits, which could join a run, nor 'n' or
// 'p', which could make it a card-number field name). Strings are written
// with jsonx.AppendString (minimal escaping), so the output is never longer
// than the input but for the quotes of masked numbers and those suffixes.
// Redacting the output again changes nothing (provided Keep, KeepIf and Drop
// give the same answer for a key and for that key with some digits masked,
// and KeepIf's functions give the same answer for the same text).
package pan

import (
	"strings"
	"unicode"

	"webhooks/consumer/fieldname"
	"webhooks/shared/jsonx"
	"webhooks/shared/workcount"
)

// MinPartialLength is the fewest digits (counting '*'s, i.e. already masked
// digits) a value must hold for its first 6 and last 4 digits to be shown: at
// least 5 stay hidden. Shorter values are masked completely.
const MinPartialLength = 15

// Policy says which members of a document are kept as sent or removed; the
// zero Policy redacts everything.
type Policy struct {
	// Keep names TOP-LEVEL members whose values are kept exactly as sent
	// when they are scalars: a string, number, true, false or null (provider
	// identifiers, such as a card-order number). An object or array under a
	// kept name is redacted like any other value (card-number fields inside
	// it masked, Luhn-valid runs masked, dropped members dropped). Nothing
	// else is exempt: a field named like a card number is never kept, and the
	// member's key is scanned like any other key.
	Keep map[string]bool
	// KeepIf names top-level members kept as sent only when their value is a JSON
	// string whose decoded text the function accepts (a documented time in its
	// provider's layout: a time is not a card number, and masking one corrupts
	// it). Any other value under such a name — a string the function refuses, a
	// number, an object or array — is redacted like any other value. A kept value
	// counts as one letter in the character stream, as Keep's do. The function
	// must refuse any text holding '*' (so that redacting the output again
	// changes nothing) and run in time linear in its input.
	//
	// The function sees the text with its escapes resolved ("\u0032" is
	// '2'); a kept value is written as sent, escapes and all. It is asked
	// once per top-level string under its name, and never about a text
	// holding '*' (Redact refuses one itself), a member Drop removes, a name
	// also in Keep (Keep wins: its scalar is kept whatever the function
	// says), a field named like a card number (never kept), or a member below
	// the top level.
	KeepIf map[string]func(text string) bool
	// Drop, when set, reports whether a member (at any depth) is removed
	// together with its value (secret fields). Dropped members are not part of
	// the output and not scanned. Drop is called with the member's key as sent
	// (decoded). Drop wins over Keep and KeepIf.
	Drop func(name string) bool
}

// Redact returns the storable form of doc: compact JSON (no insignificant
// whitespace, members in their original order) with card numbers masked.
// doc must be one valid JSON value as package jsonx parses it (valid UTF-8,
// no duplicate keys, depth ≤ 32, numbers a float64 holds); anything else is
// an error wrapping ErrInvalid, never a panic. It parses doc with jsonx, then
// is RedactValue. It takes time linear in len(doc).
func (p Policy) Redact(doc []byte) ([]byte, error) {
	out, st, err := p.redact(doc)
	workcount.Add(st.work) // the steps it counts anyway, for the linear-work tests
	return out, err
}

// RedactValue returns the storable form of v, a value of a document parsed
// by package jsonx, as Redact would write it for v's text, together with its
// tokens: the redacted document is never parsed. It reads v's tokens once
// (jsonx's: the tokenizer is the parser's) and takes time linear in the size
// of v. An absent value gives nil. The caller releases the result.
func (p Policy) RedactValue(v jsonx.Value) *jsonx.Doc {
	d, st := p.redactValue(v)
	workcount.Add(st.work)
	return d
}

// Text returns s, a string from outside any document (a name derived from
// one), redacted as a string value of a document is: Luhn-valid runs of
// digits masked.
func Text(s string) string {
	d, err := jsonx.ParseValue(jsonx.AppendString(nil, s))
	if err != nil {
		return Mask(s) // not reached: AppendString writes valid JSON
	}
	defer d.Release()
	red := Policy{}.RedactValue(d.Root())
	defer red.Release()
	return red.Root().Text()
}

// Mask hides a card number: every digit becomes '*' except, when v holds at
// least MinPartialLength digits (counting '*'s as masked digits), the first 6
// and the last 4 ("5554748800912345" → "555474******2345"). Other characters
// are kept, so grouping is unchanged ("5554 7488 0091 2345" →
// "5554 74** **** 2345"). Masking a masked value changes nothing. This is the
// rule applied to the values of card-number fields.
func Mask(v string) string {
	positions := 0
	for _, r := range v {
		if r == '*' || unicode.IsDigit(r) {
			positions++
		}
	}
	head, tail := 0, 0
	if positions >= MinPartialLength {
		head, tail = 6, 4
	}
	var b strings.Builder
	b.Grow(len(v))
	k := 0
	for _, r := range v {
		isDigit := unicode.IsDigit(r)
		if r == '*' || isDigit {
			if isDigit && k >= head && k < positions-tail {
				r = '*'
			}
			k++
		}
		b.WriteRune(r) // invalid UTF-8 is written as U+FFFD
	}
	return b.String()
}

// IsCardNumberField reports whether a JSON field name denotes a card number:
// fieldname.IsCardNumber, the one rule the receivers, the consumer package
// and the schemas share. Its words are card+number (or no, num, nbr, pan),
// pan, or primary+account+number (or no), in any case or separator style
// ("cardNumber", "card_no", "PAN", "cardPan"); digits and every character but
// A–Z, a–z (and İ, K) separate words ("cardNumber2", "pan1"). "cardId",
// "cardType" or "timespan" are not card numbers.
func IsCardNumberField(name string) bool { return fieldname.IsCardNumber(name) }

// isCardKey is the test Redact applies to keys: IsCardNumberField. Digits
// and '*' both separate words, so the test gives the same answer for a key
// and for the key with some of its digits masked ("card123456789012number"
// and "card************number"), and redacting a redacted document changes
// nothing.
func isCardKey(name string) bool { return fieldname.IsCardNumber(name) }

// cardKey is isCardKey(string(name)), without allocating.
func cardKey(name []byte) bool { return fieldname.IsCardNumberBytes(name) }

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
