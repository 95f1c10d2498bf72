package secrets

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"webhooks/shared/jsonx"
)

// PlaceholderField is the one field of the value the stack gives a new
// secret, before an operator sets the real one.
const PlaceholderField = "placeholder"

// CheckFields fails closed on a secret value whose fields are not exactly
// the contract's: it must be one JSON object (no repeated key), and every
// member must be one of fields or GraceField, spelt exactly. A defined field
// spelt in another case ("PreviousVersionGraceHours"), or a field the
// contract does not define ("allowedIp"), is a configuration error: read
// leniently, a misspelt allow-list would silently admit every address, and
// a misspelt grace the default 48 hours instead of 0.
//
// The error never holds a value of the secret. It names a member only when
// that name is a defined field in another case or close to one (a typo an
// operator needs to see); any other unknown name could be a value pasted in
// the wrong place, and is described by its length only.
func CheckFields(raw []byte, fields ...string) error {
	doc, err := jsonx.Parse(raw)
	if err != nil {
		if errors.Is(err, jsonx.ErrDuplicateKey) {
			return errors.New("secret repeats a field")
		}
		return errors.New("secret must be one JSON object")
	}
	defer doc.Release()
	defined := append(fields[:len(fields):len(fields)], GraceField)
	var problems []string
	for k := range doc.Root().Members() {
		name := k.Text()
		if contains(defined, name) {
			continue
		}
		if name == PlaceholderField {
			problems = append(problems, "it still holds the stack's placeholder: set the real value (aws secretsmanager put-secret-value)")
			continue
		}
		if want, ok := nearField(name, defined); ok {
			if strings.EqualFold(name, want) {
				problems = append(problems, fmt.Sprintf("field %q must be spelt %q", name, want))
			} else {
				problems = append(problems, fmt.Sprintf("field %q is not defined (did you mean %q?)", name, want))
			}
			continue
		}
		problems = append(problems, fmt.Sprintf("a field that is not defined (a name of %d characters)", utf8.RuneCountInString(name)))
	}
	if len(problems) > 0 {
		return fmt.Errorf("secret: %s; the defined fields are %s", strings.Join(problems, "; "), quoteAll(defined))
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func quoteAll(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// nearField returns the defined field name is a misspelling of: the same in
// another case, or at most two edits away (in lower case) from a defined
// field of at least 4 characters.
func nearField(name string, defined []string) (string, bool) {
	if len(name) > 64 {
		return "", false
	}
	lower := strings.ToLower(name)
	for _, d := range defined {
		if strings.EqualFold(name, d) {
			return d, true
		}
	}
	for _, d := range defined {
		if len(d) >= 4 && editDistance(lower, strings.ToLower(d), 2) <= 2 {
			return d, true
		}
	}
	return "", false
}

// editDistance is the Levenshtein distance of a and b (bytes), or max+1 once
// it is known to exceed max.
func editDistance(a, b string, max int) int {
	if d := len(a) - len(b); d > max || -d > max {
		return max + 1
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			c = min(c, prev[j]+1, cur[j-1]+1)
			cur[j] = c
			best = min(best, c)
		}
		if best > max {
			return max + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
