package verify

import (
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"net/netip"
	"testing"
)

func TestEqualSecret(t *testing.T) {
	cases := []struct {
		presented, expected string
		want                bool
	}{
		{"tok", "tok", true},
		{"tok", "tok2", false},
		{"tok2", "tok", false},
		{"", "tok", false},
		{"", "", false}, // an empty configured secret never matches
		{"TOK", "tok", false},
	}
	for _, c := range cases {
		if got := EqualSecret(c.presented, c.expected); got != c.want {
			t.Errorf("EqualSecret(%q, %q) = %v", c.presented, c.expected, got)
		}
	}
}

func TestCheckHMACHex(t *testing.T) {
	key, body := []byte("k"), []byte("body")
	good := HMACHex(sha256.New, key, body)
	if err := CheckHMACHex(sha256.New, key, body, good); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		key       []byte
		presented string
		want      error
	}{
		{"empty key", nil, good, ErrNotConfigured},
		{"missing", key, "", ErrMissingCredential},
		{"not hex", key, "xyz", ErrMalformedCredential},
		{"wrong", key, HMACHex(sha256.New, []byte("other"), body), ErrInvalidCredential},
		{"other hash", key, HMACHex(sha1.New, key, body), ErrInvalidCredential},
	} {
		if err := CheckHMACHex(sha256.New, c.key, body, c.presented); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestAllowList(t *testing.T) {
	if _, err := ParseAllowList([]string{"203.0.113.0/24", "198.51.100.7", "2001:db8::/32"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{{""}, {"nonsense"}, {"10.0.0.0/33"}, {"1.2.3.4/"}} {
		if _, err := ParseAllowList(bad); err == nil {
			t.Errorf("ParseAllowList(%q) accepted", bad)
		}
	}
	al, _ := ParseAllowList([]string{"203.0.113.0/24", "198.51.100.7", "2001:db8::/32"})
	for ip, want := range map[string]error{
		"203.0.113.10":        nil,
		"198.51.100.7":        nil,
		"::ffff:203.0.113.99": nil, // IPv4-mapped
		"2001:db8::1":         nil,
		"198.51.100.8":        ErrSourceNotAllowed,
		"203.0.114.1":         ErrSourceNotAllowed,
		"2001:db9::1":         ErrSourceNotAllowed,
	} {
		if err := al.Check(netip.MustParseAddr(ip)); !errors.Is(err, want) && !(want == nil && err == nil) {
			t.Errorf("Check(%s) = %v, want %v", ip, err, want)
		}
	}
	if err := al.Check(netip.Addr{}); !errors.Is(err, ErrSourceNotAllowed) {
		t.Errorf("unknown source passed a non-empty list")
	}
	if err := (AllowList{}).Check(netip.Addr{}); err != nil {
		t.Errorf("empty list must allow all: %v", err)
	}
}
