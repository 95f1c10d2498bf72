// Package fieldname holds the one definition of the member names under
// which the webhook receivers treat a value as a card number (its digits
// masked) or as a secret (the member dropped, OSL Pay). The receivers
// (shared/pan, shared/providers/oslpay), the consumer's decoder and the JSON
// Schemas (CardNumberPattern, SecretPattern) all read names through it. It
// depends on nothing but the standard library.
//
// Both rules read a name as a sequence of letters and separators. The
// letters are A–Z and a–z, and the two other characters Go lower-cases to an
// ASCII letter, U+0130 'İ' (i) and U+212A KELVIN SIGN (k), which count as
// upper-case letters. Every other character — digits, punctuation, white
// space, any other letter, mark or symbol — is a separator.
//
// Card numbers (IsCardNumber): the name is split into words at separators,
// before an upper-case letter that follows a lower-case one ("cardNumber" →
// card, number) and before an upper-case letter that follows an upper-case one
// and precedes a lower-case one ("PANValue" → pan, value). Where an upper-case
// letter follows an upper-case one and precedes a character outside ASCII
// (other than İ and K), the name is read both with and without a break before
// it ("PANXé": pan, x and panx). Words are compared in lower case. A name is a
// card number's when its words, in some reading, hold one after another the
// words of a phrase of CardNumberPhrases: "cardNumber", "card_no", "PAN",
// "cardPan", "primaryAccountNumber", "cardNumber2", "pan1" are; "cardId",
// "cardType", "timespan", "company", "cardpan" are not.
//
// Secrets (IsSecret): the letters of the name, in lower case, with the
// separators left out, hold one of SecretWords: "privateSecret",
// "private_key", "pass_word", "Pass-Word", "app_secret_2" are secrets.
package fieldname

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// cardNumberPhrases are the phrases (lower-case words, one after another) of
// a card-number member name.
var cardNumberPhrases = [][]string{
	{"pan"}, {"cardnumber"}, {"cardno"}, {"cardnum"}, {"cardnbr"}, {"pannumber"}, {"panno"}, {"primaryaccountnumber"},
	{"card", "number"}, {"card", "no"}, {"card", "num"}, {"card", "nbr"}, {"card", "pan"},
	{"primary", "account", "number"}, {"primary", "account", "no"},
}

// secretWords are the words whose letters, in a member's name, make it a
// secret's.
var secretWords = []string{"secret", "password", "privatekey"}

// folded are the letters of names other than A–Z and a–z: the characters
// Go's unicode.ToLower turns into an ASCII letter. Each counts as that letter
// in upper case.
var folded = []struct {
	r     rune
	lower byte
}{{'\u0130', 'i'}, {'\u212a', 'k'}}

// CardNumberPhrases returns the phrases of IsCardNumber: each a list of
// lower-case words that stand one after another in a card-number name.
func CardNumberPhrases() [][]string {
	out := make([][]string, len(cardNumberPhrases))
	for i, p := range cardNumberPhrases {
		out[i] = slices.Clone(p)
	}
	return out
}

// SecretWords returns the words of IsSecret.
func SecretWords() []string { return slices.Clone(secretWords) }

// IsCardNumber reports whether a member named name holds a card number.
func IsCardNumber(name string) bool { return cards.match(name) }

// IsCardNumberBytes is IsCardNumber of string(name), without allocating.
func IsCardNumberBytes(name []byte) bool { return matchCard(cards, name) }

// IsSecret reports whether a member named name holds a secret.
func IsSecret(name string) bool { return secrets.match(name) }

// IsSecretBytes is IsSecret of string(name), without allocating.
func IsSecretBytes(name []byte) bool { return matchSecret(secrets, name) }

type text interface{ ~string | ~[]byte }

// Character classes.
const (
	separator = iota
	lowerCase
	upperCase
)

// foldedUTF8 are the folded letters in UTF-8.
var foldedUTF8 = func() []string {
	out := make([]string, len(folded))
	for i, f := range folded {
		out[i] = string(f.r)
	}
	return out
}()

// char reads the character at s[i:]: its class, its lower-case ASCII letter
// (a letter's) and its width in bytes. A byte that starts no folded letter is
// read as a separator on its own: the bytes of any other character, and
// invalid UTF-8, are all separators, and so is the character they form.
func char[T text](s T, i int) (lower byte, class int, width int) {
	c := s[i]
	switch {
	case c-'a' < 26:
		return c, lowerCase, 1
	case c-'A' < 26:
		return c + 'a' - 'A', upperCase, 1
	case c < utf8.RuneSelf:
		return 0, separator, 1
	}
	for k, f := range foldedUTF8 {
		if hasPrefix(s, i, f) {
			return folded[k].lower, upperCase, len(f)
		}
	}
	return 0, separator, 1
}

// isFolded reports whether a folded letter starts at s[i:].
func isFolded[T text](s T, i int) bool {
	for _, f := range foldedUTF8 {
		if hasPrefix(s, i, f) {
			return true
		}
	}
	return false
}

func hasPrefix[T text](s T, i int, p string) bool {
	if len(s)-i < len(p) {
		return false
	}
	for k := range len(p) {
		if s[i+k] != p[k] {
			return false
		}
	}
	return true
}

// ---- Card numbers ----

// maxPhrase is the most words a phrase has; maxWord the longest word.
const (
	maxPhrase = 3
	maxWord   = 24
)

// cardRule is CardNumberPhrases compiled for matching.
type cardRule struct {
	byLen    [maxWord + 1][]vocabWord // the words of the phrases, by length
	byLast   [][][]int8               // the phrases (word ids), by the id of their last word
	required uint32                   // the letters every phrase holds (bit c-'a')
	starts   []string                 // the phrases' first words, none of which starts another
	startsAt [256]bool                // their first letters
}

type vocabWord struct {
	word string
	id   int8
}

var cards = compileCards(cardNumberPhrases)

func compileCards(phrases [][]string) *cardRule {
	r := &cardRule{required: 1<<26 - 1}
	ids := map[string]int8{}
	for _, p := range phrases {
		if len(p) == 0 || len(p) > maxPhrase {
			panic("fieldname: a phrase has 1 to 3 words")
		}
		var letters uint32
		phrase := make([]int8, len(p))
		for i, w := range p {
			// A word of one letter would break the reading of "PANXé"
			// (matchCardUnicode) and the shapes of the pattern.
			if len(w) < 2 || len(w) > maxWord {
				panic("fieldname: a word has 2 to 24 letters")
			}
			for k := range len(w) {
				if w[k]-'a' >= 26 {
					panic("fieldname: words are lower-case ASCII letters")
				}
				letters |= 1 << (w[k] - 'a')
			}
			id, ok := ids[w]
			if !ok {
				id = int8(len(ids))
				ids[w] = id
				r.byLen[len(w)] = append(r.byLen[len(w)], vocabWord{w, id})
				r.byLast = append(r.byLast, nil)
			}
			phrase[i] = id
		}
		r.required &= letters
		last := phrase[len(phrase)-1]
		r.byLast[last] = append(r.byLast[last], phrase)
	}
	for _, p := range phrases {
		covered := false
		for _, q := range phrases {
			covered = covered || (q[0] != p[0] && strings.HasPrefix(p[0], q[0]))
		}
		if !covered && !slices.Contains(r.starts, p[0]) {
			r.starts = append(r.starts, p[0])
			r.startsAt[p[0][0]] = true
		}
	}
	return r
}

func (r *cardRule) match(name string) bool { return matchCard(r, name) }

// cardWords reads the words of a name one by one and reports when a phrase
// ends.
type cardWords struct {
	r       *cardRule
	word    [maxWord]byte // the current word, as far as maxWord letters
	n       int           // its length
	history [maxPhrase - 1]int8
}

func (m *cardWords) add(c byte) {
	if m.n < maxWord {
		m.word[m.n] = c
	}
	m.n++
}

// id is the current word's id (-1: no phrase holds it).
func (m *cardWords) id() int8 {
	if m.n <= maxWord {
		for _, v := range m.r.byLen[m.n] {
			if string(m.word[:m.n]) == v.word {
				return v.id
			}
		}
	}
	return -1
}

// completes reports whether a phrase ends with the current word.
func (m *cardWords) completes(id int8) bool {
	if id < 0 {
		return false
	}
	for _, p := range m.r.byLast[id] {
		ok := true
		for j, before := range p[:len(p)-1] {
			ok = ok && m.history[len(m.history)-(len(p)-1)+j] == before
		}
		if ok {
			return true
		}
	}
	return false
}

// end ends the current word and reports whether a phrase ends with it.
func (m *cardWords) end() bool {
	if m.n == 0 {
		return false
	}
	id := m.id()
	m.n = 0
	found := m.completes(id)
	copy(m.history[:], m.history[1:])
	m.history[len(m.history)-1] = id
	return found
}

// asciiClass is the class of each ASCII character (and separator for every
// other byte).
var asciiClass = func() (t [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = lowerCase, upperCase
	}
	return t
}()

func matchCard[T text](r *cardRule, name T) bool {
	// Cheap refusals for an ASCII name: a phrase holds every letter of
	// required, and its first word's letters stand together in the name.
	var seen uint32
	ascii := true
	for i := range len(name) {
		c := name[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if l := c | 0x20; l-'a' < 26 {
			seen |= 1 << (l - 'a')
		}
	}
	if !ascii {
		return matchCardUnicode(r, name)
	}
	if seen&r.required != r.required || !hasStart(r, name) {
		return false
	}
	m := cardWords{r: r, history: [maxPhrase - 1]int8{-1, -1}}
	prev := uint8(separator)
	for i := 0; i < len(name); i++ {
		c := name[i]
		class := asciiClass[c]
		switch class {
		case separator:
			if m.n > 0 && m.end() {
				return true
			}
			prev = separator
			continue
		case upperCase:
			if (prev == lowerCase || prev == upperCase && i+1 < len(name) && asciiClass[name[i+1]] == lowerCase) && m.end() {
				return true
			}
			c += 'a' - 'A'
		}
		if m.n < maxWord {
			m.word[m.n] = c
		}
		m.n++
		prev = class
	}
	return m.end()
}

// matchCardUnicode is matchCard for a name with a character outside ASCII.
func matchCardUnicode[T text](r *cardRule, name T) bool {
	m := cardWords{r: r, history: [maxPhrase - 1]int8{-1, -1}}
	prev := separator
	for i := 0; i < len(name); {
		c, class, w := char(name, i)
		switch {
		case class == separator:
			if m.end() {
				return true
			}
		case class == upperCase && prev == lowerCase:
			if m.end() {
				return true
			}
			m.add(c)
		case class == upperCase && prev == upperCase && i+w < len(name) && name[i+w]-'a' < 26:
			if m.end() {
				return true
			}
			m.add(c)
		case class == upperCase && prev == upperCase && i+w < len(name) && name[i+w] >= utf8.RuneSelf && !isFolded(name, i+w):
			// Read both ways: with a break before c, the word so far ends
			// here and c is a word of one letter, which no phrase holds (so
			// only the word so far can end a phrase); without one, the
			// reading goes on.
			if m.completes(m.id()) {
				return true
			}
			m.add(c)
		default:
			m.add(c)
		}
		prev = class
		i += w
	}
	return m.end()
}

// hasStart reports whether the ASCII name holds, in any case, a phrase's
// first word.
func hasStart[T text](r *cardRule, name T) bool {
	for i := range len(name) {
		if r.startsAt[name[i]|0x20] {
			for _, s := range r.starts {
				if name[i]|0x20 == s[0] && hasPrefixFold(name, i, s) {
					return true
				}
			}
		}
	}
	return false
}

// hasPrefixFold reports whether the ASCII s[i:] starts with word (lower-case
// letters) in any case.
func hasPrefixFold[T text](s T, i int, word string) bool {
	if len(s)-i < len(word) {
		return false
	}
	for k := range len(word) {
		if s[i+k]|0x20 != word[k] {
			return false
		}
	}
	return true
}

// ---- Secrets ----

// secretRule is SecretWords compiled for matching.
type secretRule struct {
	words []string
	first [256]bool // the words' first letters, in both cases
}

var secrets = compileSecrets(secretWords)

func compileSecrets(words []string) *secretRule {
	r := &secretRule{words: words}
	for _, w := range words {
		if len(w) == 0 || strings.Trim(w, "abcdefghijklmnopqrstuvwxyz") != "" {
			panic("fieldname: secret words are lower-case ASCII letters")
		}
		r.first[w[0]], r.first[w[0]-'a'+'A'] = true, true
	}
	return r
}

func (r *secretRule) match(name string) bool { return matchSecret(r, name) }

func matchSecret[T text](r *secretRule, name T) bool {
	for i := range len(name) {
		c := name[i]
		if c >= utf8.RuneSelf {
			return matchSecretUnicode(r, name)
		}
		if r.first[c] {
			for _, w := range r.words {
				if c|0x20 == w[0] && lettersStartWith(name, i+1, w[1:]) {
					return true
				}
			}
		}
	}
	return false
}

// matchSecretUnicode is matchSecret for a name with a character outside
// ASCII.
func matchSecretUnicode[T text](r *secretRule, name T) bool {
	for i := 0; i < len(name); {
		c, class, w := char(name, i)
		if class != separator {
			for _, s := range r.words {
				if c == s[0] && lettersStartWith(name, i+w, s[1:]) {
					return true
				}
			}
		}
		i += w
	}
	return false
}

// lettersStartWith reports whether the letters of s[i:], in lower case,
// start with word.
func lettersStartWith[T text](s T, i int, word string) bool {
	for k := 0; k < len(word); {
		if i == len(s) {
			return false
		}
		c, class, w := char(s, i)
		i += w
		if class == separator {
			continue
		}
		if c != word[k] {
			return false
		}
		k++
	}
	return true
}
