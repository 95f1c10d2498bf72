package pan

import (
	"strings"
	"testing"

	"webhooks/consumer/fieldname"
)

// A rename suffix ("#a", "#b", ... of suffixLetters) never turns a key into a
// card-number key, so that renaming never changes what is masked: '#'
// separates words, and the last word of every phrase of the rule holds a
// letter that suffixLetters lacks.
func TestRenameSuffixNeverMakesACardKey(t *testing.T) {
	for _, p := range fieldname.CardNumberPhrases() {
		last := p[len(p)-1]
		if strings.Trim(last, suffixLetters) == "" {
			t.Errorf("phrase %q: a suffix can spell its last word %q", p, last)
		}
	}
	keys := []string{"", "x", "card", "Card", "CARD", "card_", "primary_account", "PrimaryAccount", "cardNumber", "4111"}
	for _, k := range keys {
		for i := range 20000 {
			s := suffix(i)
			if !isCardKey(k) && isCardKey(k+s) {
				t.Fatalf("%q is no card-number key, %q is", k, k+s)
			}
			if isCardKey(k) && !isCardKey(k+s) {
				t.Fatalf("%q is a card-number key, %q is not", k, k+s)
			}
		}
	}
}
