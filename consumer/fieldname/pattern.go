package fieldname

import (
	"slices"
	"strings"
	"unicode"
)

// CardNumberPattern returns a regular expression that matches (somewhere in
// a name, unanchored, as JSON Schema's patternProperties reads it) exactly
// the names IsCardNumber accepts. It is written from the rule's own lists
// (CardNumberPhrases, the letters outside A–Z), with only what ECMA 262, Go's
// regexp (RE2) and Python's re read alike: literal letters, character classes
// spelt out (characters outside ASCII written as themselves), (?:...),
// alternation, * and +, ^ and $ (a $ always has a separator as its
// alternative, so that Python's $, which also matches before a final line
// feed, gives the same verdict); no escape, lookaround, backreference or
// flag.
func CardNumberPattern() string { return cardPattern }

// SecretPattern returns a regular expression that matches exactly the names
// IsSecret accepts (see CardNumberPattern).
func SecretPattern() string { return secretPattern }

var (
	cardPattern   = writeCardPattern(cardNumberPhrases)
	secretPattern = writeSecretPattern(secretWords)
)

// Classes of characters, as the rules read them.
var (
	foldedRunes = func() string {
		var b strings.Builder
		for _, f := range folded {
			b.WriteRune(f.r)
		}
		return b.String()
	}()
	sepClass      = "[^A-Za-z" + foldedRunes + "]"
	upperClass    = "[A-Z" + foldedRunes + "]"
	notUpperClass = "[^A-Z" + foldedRunes + "]"
	lowerClass    = "[a-z]"
	// nonASCIIClass: every character outside ASCII but the folded letters,
	// as ranges of characters written as themselves.
	nonASCIIClass = func() string {
		var b strings.Builder
		b.WriteByte('[')
		lo := rune(0x80)
		for _, r := range slices.Sorted(func(yield func(rune) bool) {
			for _, f := range folded {
				if !yield(f.r) {
					return
				}
			}
		}) {
			if r > lo {
				b.WriteString(string(lo) + "-" + string(r-1))
			}
			lo = r + 1
		}
		b.WriteString(string(lo) + "-" + string(rune(unicode.MaxRune)) + "]")
		return b.String()
	}()
)

// upperOf is the pattern of the upper-case forms of the lower-case ASCII
// letter c.
func upperOf(c byte) string {
	s := string(c - 'a' + 'A')
	for _, f := range folded {
		if f.lower == c {
			s += string(f.r)
		}
	}
	if len(s) > 1 {
		return "[" + s + "]"
	}
	return s
}

// The three shapes a word takes in a name: "card", "Card", "CARD". (Any other
// mix of cases splits it: "cArd" is c, ard.)
func lowerWord(w string) string { return w }
func titleWord(w string) string { return upperOf(w[0]) + w[1:] }
func upperWord(w string) string {
	var b strings.Builder
	for i := range len(w) {
		b.WriteString(upperOf(w[i]))
	}
	return b.String()
}

func alt(list []string) string {
	if len(list) == 1 {
		return list[0]
	}
	return "(?:" + strings.Join(list, "|") + ")"
}

func each(words []string, f func(string) string) string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = f(w)
	}
	return alt(out)
}

// A word ends with a lower-case letter ("card", "Card") or an upper-case one
// ("CARD"); what may stand around it depends on which.
const (
	endsLower = iota
	endsUpper
	endsNone // before a phrase's first word
)

// wordPattern matches one of words, in the shapes that end as end does,
// where a word of the split begins: after prev, the end of the word before
// (endsNone: the phrase's first word).
//
//   - "card" begins a word at the start of the name or after a separator;
//     "Card" wherever it stands (after a lower-case letter, a case change;
//     after an upper-case one, the end of an acronym, as in "PANValue");
//     "CARD" at the start, after a separator or after a lower-case letter.
//   - After a word of the phrase, "card" needs a separator between them
//     (else the two are one word), "Card" does not, and "CARD" needs one
//     only after an upper-case end ("CARDCARD" is one word).
func wordPattern(words []string, end, prev int) string {
	switch {
	case end == endsLower && prev == endsNone:
		return "(?:(?:^|" + sepClass + ")" + each(words, lowerWord) + "|" + each(words, titleWord) + ")"
	case end == endsLower:
		return "(?:" + sepClass + "+" + each(words, lowerWord) + "|" + sepClass + "*" + each(words, titleWord) + ")"
	case prev == endsNone:
		return "(?:^|" + notUpperClass + ")" + each(words, upperWord)
	case prev == endsLower:
		return sepClass + "*" + each(words, upperWord)
	default:
		return sepClass + "+" + each(words, upperWord)
	}
}

// endPattern is what follows the last word of a phrase, for the word to end
// there: after "card" or "Card" anything but a lower-case letter; after
// "CARD" a separator, or an upper-case letter and then a lower-case one
// ("PANValue") or a character outside ASCII, which allows a break before it
// ("PANXé").
func endPattern(end int) string {
	if end == endsLower {
		return "(?:$|[^a-z])"
	}
	return "(?:$|" + sepClass + "|" + upperClass + "(?:" + lowerClass + "|" + nonASCIIClass + "))"
}

// trie is the phrases by their words.
type trie struct {
	final bool // a phrase ends here
	words []string
	next  map[string]*trie
}

func (t *trie) add(phrase []string) {
	for _, w := range phrase {
		if t.next == nil {
			t.next = map[string]*trie{}
		}
		n, ok := t.next[w]
		if !ok {
			n = &trie{}
			t.next[w] = n
			t.words = append(t.words, w)
		}
		t = n
	}
	t.final = true
}

// pattern matches the rest of a phrase from t on, after a word that ended
// as prev did.
func (t *trie) pattern(prev int) string {
	var out, final []string
	for _, w := range t.words {
		if t.next[w].final {
			final = append(final, w)
		}
	}
	for _, end := range []int{endsLower, endsUpper} {
		if len(final) > 0 {
			out = append(out, wordPattern(final, end, prev)+endPattern(end))
		}
		for _, w := range t.words {
			if n := t.next[w]; !n.final {
				out = append(out, wordPattern([]string{w}, end, prev)+n.pattern(end))
			}
		}
	}
	return alt(out)
}

func writeCardPattern(phrases [][]string) string {
	t := &trie{}
	for _, p := range phrases {
		t.add(p)
	}
	return t.pattern(endsNone)
}

// writeSecretPattern: a word's letters, in either case, with any separators
// between them.
func writeSecretPattern(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		var b strings.Builder
		for k := range len(w) {
			if k > 0 {
				b.WriteString(sepClass + "*")
			}
			u := upperOf(w[k])
			b.WriteString("[" + string(w[k]) + strings.Trim(u, "[]") + "]")
		}
		out[i] = b.String()
	}
	return alt(out)
}
