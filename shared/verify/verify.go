// Package verify holds the authentication primitives the providers share:
// constant-time comparison of secrets, HMAC signatures and source-IP allow-lists.
//
// Every failure is one of the sentinel errors below, so the pipeline can map it
// to a status (ErrSourceNotAllowed → 403, all others → 401) without ever
// telling the caller which part of a secret was wrong.
package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/netip"
	"strings"
)

var (
	// ErrMissingCredential means the request carries no signature or token.
	ErrMissingCredential = errors.New("verify: no credential presented")
	// ErrInvalidCredential means a signature or token was presented but does not match.
	ErrInvalidCredential = errors.New("verify: credential does not match")
	// ErrMalformedCredential means a signature header is not in the expected format.
	ErrMalformedCredential = errors.New("verify: credential is malformed")
	// ErrExpired means a signed timestamp is outside the accepted window.
	ErrExpired = errors.New("verify: timestamp outside the accepted window")
	// ErrSourceNotAllowed means the source IP is outside the configured allow-list (403).
	ErrSourceNotAllowed = errors.New("verify: source IP not allowed")
	// ErrNotConfigured means no secret is configured for what the request claims
	// to be (for example a route variant without its own secret): rejected, never skipped.
	ErrNotConfigured = errors.New("verify: no secret configured for this request")
)

// EqualSecret compares a presented secret with the expected one in time that
// depends on neither their contents nor their lengths (both are hashed first).
// An empty expected secret never matches.
func EqualSecret(presented, expected string) bool {
	if expected == "" {
		return false
	}
	a := sha256.Sum256([]byte(presented))
	b := sha256.Sum256([]byte(expected))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// HMACHex returns the lowercase hex HMAC of body under key.
func HMACHex(h func() hash.Hash, key, body []byte) string {
	m := hmac.New(h, key)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// CheckHMACHex verifies a hex HMAC (either case) of body under key.
func CheckHMACHex(h func() hash.Hash, key, body []byte, presentedHex string) error {
	if len(key) == 0 {
		return ErrNotConfigured
	}
	if presentedHex == "" {
		return ErrMissingCredential
	}
	got, err := hex.DecodeString(presentedHex)
	if err != nil {
		return fmt.Errorf("%w: signature is not hex", ErrMalformedCredential)
	}
	m := hmac.New(h, key)
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return ErrInvalidCredential
	}
	return nil
}

// AllowList is a set of CIDR prefixes. The zero value allows every address.
type AllowList []netip.Prefix

// ParseAllowList parses CIDRs ("203.0.113.0/24") or single addresses.
func ParseAllowList(entries []string) (AllowList, error) {
	out := make(AllowList, 0, len(entries))
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			return nil, errors.New("allow-list has an empty entry")
		}
		if !strings.Contains(e, "/") {
			a, err := netip.ParseAddr(e)
			if err != nil {
				return nil, fmt.Errorf("allow-list entry %q is not an IP or CIDR", e)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(e)
		if err != nil {
			return nil, fmt.Errorf("allow-list entry %q is not an IP or CIDR", e)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Check returns nil when the list is empty or contains ip, else ErrSourceNotAllowed.
// An unknown (invalid) source address never passes a non-empty list.
func (a AllowList) Check(ip netip.Addr) error {
	if len(a) == 0 {
		return nil
	}
	if ip.IsValid() {
		ip = ip.Unmap()
		for _, p := range a {
			if p.Contains(ip) {
				return nil
			}
		}
	}
	return ErrSourceNotAllowed
}
