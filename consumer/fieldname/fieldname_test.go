package fieldname

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// ---- The rules as the package documentation states them, rune by rune ----

// refLetter reports whether r is a letter of a name, and its lower case:
// A–Z, a–z, and the characters Go lower-cases to one of them.
func refLetter(r rune) (lower rune, upper, ok bool) {
	l := unicode.ToLower(r)
	if l > unicode.MaxASCII || l < 'a' || l > 'z' || !unicode.IsLetter(r) {
		return 0, false, false
	}
	return l, r != l, true
}

// refReadings splits a name into its lower-case words, in every reading.
func refReadings(name string) [][]string {
	rs := []rune(name)
	class := func(i int) (letter, upper, lower bool) {
		if i < 0 || i >= len(rs) {
			return false, false, false
		}
		_, up, ok := refLetter(rs[i])
		return ok, ok && up, ok && !up
	}
	// breaks[i]: 1 a break before rune i, 2 a break in one reading only.
	breaks := make([]int, len(rs))
	var optional []int
	for i := range rs {
		letter, upper, _ := class(i)
		if !letter {
			continue
		}
		_, prevUpper, prevLower := class(i - 1)
		nextLetter, _, nextLower := class(i + 1)
		outside := i+1 < len(rs) && !nextLetter && rs[i+1] > unicode.MaxASCII
		switch {
		case upper && (prevLower || prevUpper && nextLower):
			breaks[i] = 1
		case upper && prevUpper && outside:
			breaks[i] = 2
			optional = append(optional, i)
		}
	}
	if len(optional) > 12 {
		panic("too many readings")
	}
	var out [][]string
	for choice := range 1 << len(optional) {
		brk := slices.Clone(breaks)
		for k, i := range optional {
			brk[i] = choice >> k & 1
		}
		var words []string
		var cur []rune
		flush := func() {
			if len(cur) > 0 {
				words = append(words, string(cur))
				cur = cur[:0]
			}
		}
		for i, r := range rs {
			l, _, ok := refLetter(r)
			if !ok {
				flush()
				continue
			}
			if brk[i] == 1 {
				flush()
			}
			cur = append(cur, l)
		}
		flush()
		out = append(out, words)
	}
	return out
}

func refCard(name string) bool {
	for _, words := range refReadings(name) {
		for i := range words {
			for _, p := range cardNumberPhrases {
				if i+len(p) <= len(words) && slices.Equal(words[i:i+len(p)], p) {
					return true
				}
			}
		}
	}
	return false
}

func refSecret(name string) bool {
	var b strings.Builder
	for _, r := range name {
		if l, _, ok := refLetter(r); ok {
			b.WriteRune(l)
		}
	}
	for _, w := range secretWords {
		if strings.Contains(b.String(), w) {
			return true
		}
	}
	return false
}

// ---- The receivers' rules before this package (shared/pan isCardKey and
// shared/providers/oslpay IsSecretField, as they were): the rules here must
// take every name they took. ----

func oldSplitWords(name string) []string {
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

func oldIsCardNumberField(name string) bool {
	words := oldSplitWords(name)
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

func oldIsCardKey(name string) bool {
	return oldIsCardNumberField(name) || oldIsCardNumberField(strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) {
			return '*'
		}
		return r
	}, name))
}

func oldIsSecret(name string) bool {
	n := strings.ToLower(strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, name))
	return strings.Contains(n, "secret") || strings.Contains(n, "password") || strings.Contains(n, "privatekey")
}

// ---- Names ----

// fragments are the pieces names are made of: the rules' words in every
// shape, near-misses, and separators and letters of every kind.
var fragments = []string{
	"card", "Card", "CARD", "cArD", "number", "Number", "NUMBER", "no", "No", "NO", "nO", "num", "Num", "nbr", "NBR",
	"pan", "Pan", "PAN", "pAn", "primary", "Primary", "PRIMARY", "pr\u0130mary", "PR\u0130MARY", "account", "Account", "ACCOUNT",
	"cardnumber", "CardNo", "pannumber", "panno", "primaryaccountnumber",
	"secret", "Secret", "SECRET", "sec", "ret", "pass", "Word", "private", "Key", "\u212aey", "KEY",
	"id", "Id", "type", "time", "span", "company", "value", "Value", "x", "X", "s", "S", "a", "n", "p",
	"_", "-", " ", ".", "/", "*", "#", "1", "42", "\u0663", "\uff11", "\u00a0", "\t", "\n", "\u00ad", "\u0301",
	"é", "É", "中", "ſ", "ǅ", "ª", "ñ", "\u212a", "\u0130", "ı", "\U0001d7ce", "\xff", "\xc4", "",
}

// names returns n generated names: fragments joined, now and then with a
// letter's case flipped.
func names(rng *rand.Rand, n int) []string {
	out := make([]string, 0, n)
	for range n {
		var b strings.Builder
		for range 1 + rng.IntN(6) {
			f := fragments[rng.IntN(len(fragments))]
			if rng.IntN(8) == 0 {
				rs := []rune(f)
				if len(rs) > 0 {
					k := rng.IntN(len(rs))
					if unicode.IsUpper(rs[k]) {
						rs[k] = unicode.ToLower(rs[k])
					} else {
						rs[k] = unicode.ToUpper(rs[k])
					}
					f = string(rs)
				}
			}
			b.WriteString(f)
		}
		out = append(out, b.String())
	}
	return out
}

// exhaustive calls f with every name of one to three fragments.
func exhaustive(f func(string)) {
	for _, a := range fragments {
		f(a)
		for _, b := range fragments {
			f(a + b)
			for _, c := range fragments {
				f(a + b + c)
			}
		}
	}
}

// ---- Tests ----

// folded is exactly the characters, other than A–Z, that Go lower-cases to
// an ASCII letter, and each is an upper-case letter.
func TestFolded(t *testing.T) {
	var want []rune
	for r := rune(unicode.MaxASCII + 1); r <= unicode.MaxRune; r++ {
		if l := unicode.ToLower(r); l >= 'a' && l <= 'z' {
			want = append(want, r)
			if !unicode.IsUpper(r) {
				t.Errorf("%U lower-cases to %q but is not an upper-case letter", r, l)
			}
		}
	}
	var got []rune
	for _, f := range folded {
		got = append(got, f.r)
		if unicode.ToLower(f.r) != rune(f.lower) {
			t.Errorf("%U: lower %q, unicode.ToLower %q", f.r, f.lower, unicode.ToLower(f.r))
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("folded %q, want %q", got, want)
	}
}

func TestExamples(t *testing.T) {
	cards := []string{"cardNumber", "card_number", "CardNumber", "CARD_NUMBER", "cardNo", "card_no", "cardNum", "cardnumber",
		"pan", "PAN", "Pan", "cardPAN", "cardPan", "card_pan", "card-number", "fullCardNumber", "primaryAccountNumber",
		"primary_account_number", "PRIMARY_ACCOUNT_NO", "panNumber", "card.number", "cardNumber2", "pan1", "card2Number",
		"card123456789012number", "card************number", "PANValue", "CARDNumber", "x.pan", "nested.cardNumber2",
		"PR\u0130MARY_ACCOUNT_NUMBER", "PANXé", "cardNuméro", "中pan", "timeſpan"}
	notCards := []string{"cardId", "cardType", "cardAmount", "cardCurrency", "timespan", "company", "panel", "orderNo",
		"cardNotes", "number", "", "cardpan", "CARDPAN", "span", "Japan", "pancake", "cardinal", "PANs", "cArDnUmBeR",
		"card", "account_number", "primaryaccountno", "cardholder", "pr\u0130maryAccountNumber", "PANX"}
	for _, k := range cards {
		if !IsCardNumber(k) || !IsCardNumberBytes([]byte(k)) {
			t.Errorf("%q should be a card-number name", k)
		}
	}
	for _, k := range notCards {
		if IsCardNumber(k) || IsCardNumberBytes([]byte(k)) {
			t.Errorf("%q should not be a card-number name", k)
		}
	}
	secrets := []string{"privateSecret", "private_key", "PrivateKey", "Pass-Word", "pass_word", "app_secret_2", "se-cr-et",
		"PASSWORD", "pass1word", "passéword", "private\u212aey", "pr\u0130vateKey", "clientSecretValue"}
	notSecrets := []string{"userId", "secre", "keyPrivate", "SÉCRET", "sécret", "passport", "word", "private", ""}
	for _, k := range secrets {
		if !IsSecret(k) || !IsSecretBytes([]byte(k)) {
			t.Errorf("%q should be a secret name", k)
		}
	}
	for _, k := range notSecrets {
		if IsSecret(k) || IsSecretBytes([]byte(k)) {
			t.Errorf("%q should not be a secret name", k)
		}
	}
}

// agree checks, on one name, that the matchers (string and []byte), the
// patterns and the rules as documented give one verdict, and that the rules
// take every name the receivers' rules before them took.
type agreement struct {
	card, secret       *regexp.Regexp
	names, cards, secs int
	moreCards          map[string]bool // taken now, not before (examples)
	moreSecrets        map[string]bool
}

func newAgreement(t *testing.T) *agreement {
	return &agreement{
		card:        regexp.MustCompile(CardNumberPattern()),
		secret:      regexp.MustCompile(SecretPattern()),
		moreCards:   map[string]bool{},
		moreSecrets: map[string]bool{},
	}
}

func (a *agreement) check(t *testing.T, name string) {
	t.Helper()
	a.names++
	want := refCard(name)
	if IsCardNumber(name) != want || IsCardNumberBytes([]byte(name)) != want || a.card.MatchString(name) != want {
		t.Fatalf("%q: documented rule %v; IsCardNumber %v, IsCardNumberBytes %v, CardNumberPattern %v (readings %q)",
			name, want, IsCardNumber(name), IsCardNumberBytes([]byte(name)), a.card.MatchString(name), refReadings(name))
	}
	if old := oldIsCardKey(name); old && !want {
		t.Fatalf("%q: the receivers masked it as a card number; the rule does not", name)
	} else if want && !old && len(a.moreCards) < 20 {
		a.moreCards[name] = true
	}
	wantSecret := refSecret(name)
	if IsSecret(name) != wantSecret || IsSecretBytes([]byte(name)) != wantSecret || a.secret.MatchString(name) != wantSecret {
		t.Fatalf("%q: documented rule %v; IsSecret %v, IsSecretBytes %v, SecretPattern %v",
			name, wantSecret, IsSecret(name), IsSecretBytes([]byte(name)), a.secret.MatchString(name))
	}
	if old := oldIsSecret(name); old && !wantSecret {
		t.Fatalf("%q: the OSL Pay receiver dropped it as a secret; the rule does not", name)
	} else if wantSecret && !old && len(a.moreSecrets) < 20 {
		a.moreSecrets[name] = true
	}
	if want {
		a.cards++
	}
	if wantSecret {
		a.secs++
	}
}

func (a *agreement) report(t *testing.T, minCards, minSecrets int) {
	t.Helper()
	if a.cards < minCards || a.secs < minSecrets || a.cards == a.names || a.secs == a.names {
		t.Fatalf("%d names: %d card-number and %d secret names: too few of one kind to prove anything", a.names, a.cards, a.secs)
	}
	t.Logf("%d names: %d card-number names, %d secret names; all four readings agree", a.names, a.cards, a.secs)
	t.Logf("taken now and not by the receivers' rules before (examples): cards %q, secrets %q", keys(a.moreCards), keys(a.moreSecrets))
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Every name of one to three fragments.
func TestRulesAgreeExhaustive(t *testing.T) {
	if testing.Short() {
		t.Skip("exhaustive: not in -short mode (TestRulesAgreeGenerated runs)")
	}
	a := newAgreement(t)
	exhaustive(func(name string) { a.check(t, name) })
	a.report(t, 10000, 1000)
}

// Generated names of up to six fragments, with cases flipped.
func TestRulesAgreeGenerated(t *testing.T) {
	a := newAgreement(t)
	n := 200000
	if testing.Short() {
		n = 20000
	}
	for _, name := range names(rand.New(rand.NewPCG(19, 9)), n) {
		a.check(t, name)
	}
	long := strings.Repeat("cardX", 200) + "card_" + strings.Repeat("_", 300) + "Number"
	a.check(t, long)
	a.check(t, strings.Repeat("a", 1000)+"secret")
	a.report(t, n/50, n/200)
}

// The patterns use only what ECMA 262, RE2 and Python's re read alike: no
// escape, no dot, no flag, no lookaround or named group, no backreference,
// no counted repetition.
func TestPatternsArePortable(t *testing.T) {
	for name, p := range map[string]string{"card": CardNumberPattern(), "secret": SecretPattern()} {
		for _, bad := range []string{`\`, ".", "(?i", "(?=", "(?!", "(?<", "(?P", "{", "}", "?)"} {
			if strings.Contains(p, bad) {
				t.Errorf("%s pattern holds %q", name, bad)
			}
		}
		if strings.Count(p, "(?") != strings.Count(p, "(?:") || strings.Count(p, "(") != strings.Count(p, "(?:") {
			t.Errorf("%s pattern has a group other than (?:...)", name)
		}
		if len(p) > 4096 {
			t.Errorf("%s pattern is %d bytes", name, len(p))
		}
	}
}

func FuzzRules(f *testing.F) {
	for _, s := range []string{"cardNumber", "card_no", "PANValue", "primary-account-no", "card1234number", "cardPAN2", "timespan", "pass_word", "pr\u0130vate\u212aey"} {
		f.Add(s)
	}
	card, secret := regexp.MustCompile(CardNumberPattern()), regexp.MustCompile(SecretPattern())
	f.Fuzz(func(t *testing.T, name string) {
		want := refCard(name)
		if IsCardNumber(name) != want || IsCardNumberBytes([]byte(name)) != want || card.MatchString(name) != want {
			t.Fatalf("%q: documented rule %v; IsCardNumber %v, pattern %v", name, want, IsCardNumber(name), card.MatchString(name))
		}
		if oldIsCardKey(name) && !want {
			t.Fatalf("%q: masked before, not now", name)
		}
		ws := refSecret(name)
		if IsSecret(name) != ws || IsSecretBytes([]byte(name)) != ws || secret.MatchString(name) != ws {
			t.Fatalf("%q: documented rule %v; IsSecret %v, pattern %v", name, ws, IsSecret(name), secret.MatchString(name))
		}
		if oldIsSecret(name) && !ws {
			t.Fatalf("%q: dropped before, not now", name)
		}
	})
}
