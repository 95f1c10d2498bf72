package verify

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

func TestParseTokenAuth(t *testing.T) {
	const tok = "tok-0123456789abcdefghijk" // 24 characters: the shortest accepted
	a, err := ParseTokenAuth([]byte(`{"urlToken":" ` + tok + ` ","allowedIps":["203.0.113.0/24"],"other":1}`))
	if err != nil || a.URLToken != tok || len(a.AllowedIPs) != 1 {
		t.Fatalf("%v %v", a, err)
	}
	if a, err := ParseTokenAuth([]byte(`{"urlToken":"` + tok + `","allowedIps":null}`)); err != nil || a.AllowedIPs != nil {
		t.Errorf("null allow-list: %v", err)
	}
	for name, raw := range map[string]string{
		"not an object":       `["secret-abc"]`,
		"no token":            `{"allowedIps":[]}`,
		"null token":          `{"urlToken":null}`,
		"blank token":         `{"urlToken":"   "}`,
		"number token":        `{"urlToken":42}`,
		"token with slash":    `{"urlToken":"secret-abc/def-0123456789abcdef"}`,
		"token with percent":  `{"urlToken":"secret-abc%2F-0123456789abcdef"}`,
		"token with space":    `{"urlToken":"secret abc-0123456789abcdefgh"}`,
		"short token":         `{"urlToken":"secret-abc"}`,
		"23 characters":       `{"urlToken":"secret-abc0123456789abc"}`,
		"short-token example": `{"urlToken":"short-token"}`,
		"bad CIDR":            `{"urlToken":"secret-abc-0123456789abcdefgh","allowedIps":["10.0.0.0/33"]}`,
		"allow-list string":   `{"urlToken":"secret-abc-0123456789abcdefgh","allowedIps":"10.0.0.0/8"}`,
	} {
		_, err := ParseTokenAuth([]byte(raw))
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "secret-abc") {
			t.Errorf("%s: error echoes the token: %v", name, err)
		}
	}
}

func TestTokenAuthCheck(t *testing.T) {
	list, _ := ParseAllowList([]string{"203.0.113.0/24"})
	open, fenced := TokenAuth{URLToken: "tok"}, TokenAuth{URLToken: "tok", AllowedIPs: list}
	in, out := netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("198.51.100.1")
	for _, c := range []struct {
		name  string
		a     TokenAuth
		ip    netip.Addr
		token string
		want  error
	}{
		{"right token", open, out, "tok", nil},
		{"wrong token", open, out, "tok2", ErrInvalidCredential},
		{"no token", open, out, "", ErrMissingCredential},
		{"inside list", fenced, in, "tok", nil},
		{"outside list, right token", fenced, out, "tok", ErrSourceNotAllowed},
		{"outside list, wrong token", fenced, out, "x", ErrSourceNotAllowed},
		{"zero value matches nothing", TokenAuth{}, in, "x", ErrInvalidCredential},
	} {
		err := c.a.CheckSource(c.ip)
		if err == nil {
			err = c.a.CheckToken(c.token)
		}
		if !errors.Is(err, c.want) && !(c.want == nil && err == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	for _, s := range []string{fmt.Sprint(open), fmt.Sprintf("%+v", open), fmt.Sprintf("%#v", open)} {
		if strings.Contains(s, "tok") && !strings.Contains(s, "TokenAuth") {
			t.Errorf("formatting reveals the token: %s", s)
		}
		if strings.Contains(strings.ReplaceAll(s, "TokenAuth", ""), "tok") {
			t.Errorf("formatting reveals the token: %s", s)
		}
	}
}
