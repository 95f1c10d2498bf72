package verify

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// TokenAuth authenticates providers that document no webhook signature
// (token-addressed providers): an unguessable token in the registered URL, compared
// in constant time, behind an optional source-IP allow-list. It is read from
// the "urlToken" and "allowedIps" fields of the provider's secret.
type TokenAuth struct {
	URLToken   string
	AllowedIPs AllowList
}

// MinURLTokenLength is the shortest URL token accepted: a token is a password,
// and a short one is a guessable one. A shorter token is a configuration error.
const MinURLTokenLength = 24

// ParseTokenAuth reads "urlToken" (required: at least MinURLTokenLength
// characters, one URL path segment, since it arrives as {token}) and
// "allowedIps" (optional: IPs or CIDRs) from a secret's JSON object. Errors
// name the field, never its value.
func ParseTokenAuth(raw []byte) (TokenAuth, error) {
	var f struct {
		URLToken   json.RawMessage `json:"urlToken"`
		AllowedIPs json.RawMessage `json:"allowedIps"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return TokenAuth{}, errors.New("secret must be a JSON object")
	}
	var a TokenAuth
	if len(f.URLToken) == 0 || string(f.URLToken) == "null" {
		return TokenAuth{}, errors.New(`secret has no "urlToken"`)
	}
	if err := json.Unmarshal(f.URLToken, &a.URLToken); err != nil {
		return TokenAuth{}, errors.New(`secret field "urlToken" must be a string`)
	}
	a.URLToken = strings.TrimSpace(a.URLToken)
	if a.URLToken == "" {
		return TokenAuth{}, errors.New(`secret field "urlToken" is empty`)
	}
	if n := len([]rune(a.URLToken)); n < MinURLTokenLength {
		return TokenAuth{}, fmt.Errorf(`secret field "urlToken" has %d characters; at least %d are required (use a random token)`, n, MinURLTokenLength)
	}
	if strings.ContainsAny(a.URLToken, "/?#% ") {
		// Such a token could never arrive as one path segment: the receiver would
		// be unreachable. Refuse it at configuration time instead.
		return TokenAuth{}, errors.New(`secret field "urlToken" must be one URL path segment (no / ? # % or space)`)
	}
	if len(f.AllowedIPs) > 0 && string(f.AllowedIPs) != "null" {
		var ips []string
		if err := json.Unmarshal(f.AllowedIPs, &ips); err != nil {
			return TokenAuth{}, errors.New(`secret field "allowedIps" must be an array of IPs or CIDRs`)
		}
		if len(ips) == 0 {
			// Fail closed: [] could mean "no address" or "no list"; read as
			// no list it would silently admit every address.
			return TokenAuth{}, errors.New(`secret field "allowedIps" is empty: list the allowed IPs or CIDRs, or remove the field to allow every address`)
		}
		list, err := ParseAllowList(ips)
		if err != nil {
			return TokenAuth{}, fmt.Errorf(`secret field "allowedIps": %w`, err)
		}
		a.AllowedIPs = list
	}
	return a, nil
}

// CheckSource verifies the source address against the allow-list
// (ErrSourceNotAllowed: 403). The pipeline applies it with the AWSCURRENT
// version of the secret only, whichever version's token matches.
func (a TokenAuth) CheckSource(source netip.Addr) error { return a.AllowedIPs.Check(source) }

// CheckToken verifies the presented token in constant time
// (ErrMissingCredential, ErrInvalidCredential). A zero TokenAuth matches nothing.
func (a TokenAuth) CheckToken(presented string) error {
	if presented == "" {
		return ErrMissingCredential
	}
	if !EqualSecret(presented, a.URLToken) {
		return ErrInvalidCredential
	}
	return nil
}

// String keeps the token out of anything that formats a TokenAuth.
func (a TokenAuth) String() string {
	return fmt.Sprintf("TokenAuth{URLToken: [redacted], AllowedIPs: %d entries}", len(a.AllowedIPs))
}

// GoString keeps the token out of %#v.
func (a TokenAuth) GoString() string { return a.String() }
