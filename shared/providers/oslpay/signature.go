package oslpay

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"crypto/sha256"
	_ "crypto/sha512" // register SHA-384 and SHA-512

	"webhooks/shared/verify"
)

// Headers of every OSL Pay webhook (matched case-insensitively).
const (
	HeaderAppID     = "appId"
	HeaderTimestamp = "timestamp"
	HeaderSignature = "signature"
)

// DefaultTolerance is how far the timestamp header may be from the receipt
// time, in either direction, when the secret sets no toleranceSeconds.
const DefaultTolerance = 300 * time.Second

// MinKeyBits is the smallest RSA public key accepted.
const MinKeyBits = 2048

// maxTimestampDigits bounds the timestamp header (ms since epoch: 13 digits
// until the year 2286).
const maxTimestampDigits = 16

// SignedString is what OSL Pay signs: "appId=<appId>&timestamp=<timestamp>".
func SignedString(appID, timestamp string) string {
	return "appId=" + appID + "&timestamp=" + timestamp
}

// Sign returns the base64 signature OSL Pay sends for appID and a timestamp in
// milliseconds since the epoch: RSA PKCS#1 v1.5 with hash h over SignedString.
func Sign(priv *rsa.PrivateKey, h crypto.Hash, appID string, timestampMillis int64) (string, error) {
	if !h.Available() {
		return "", fmt.Errorf("oslpay: hash %v is not available", h)
	}
	d := h.New()
	d.Write([]byte(SignedString(appID, strconv.FormatInt(timestampMillis, 10))))
	sig, err := rsa.SignPKCS1v15(rand.Reader, priv, h, d.Sum(nil))
	if err != nil {
		return "", fmt.Errorf("oslpay: sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// SignedHeaders returns the three headers of a delivery signed at t.
func SignedHeaders(priv *rsa.PrivateKey, h crypto.Hash, appID string, t time.Time) (map[string]string, error) {
	ts := t.UnixMilli()
	sig, err := Sign(priv, h, appID, ts)
	if err != nil {
		return nil, err
	}
	return map[string]string{HeaderAppID: appID, HeaderTimestamp: strconv.FormatInt(ts, 10), HeaderSignature: sig}, nil
}

// Verify checks the three headers against one secret version at now: appId
// equal to the configured one, timestamp within the tolerance before or after
// now, signature valid under the public key. Errors wrap the verify sentinels.
func Verify(appID, timestamp, signature string, s Secret, now time.Time) error {
	if s.PublicKey == nil || s.AppID == "" {
		return verify.ErrNotConfigured
	}
	appID, timestamp, signature = strings.TrimSpace(appID), strings.TrimSpace(timestamp), strings.TrimSpace(signature)
	if appID == "" || timestamp == "" || signature == "" {
		return verify.ErrMissingCredential
	}
	if !verify.EqualSecret(appID, s.AppID) {
		return fmt.Errorf("appId header: %w", verify.ErrInvalidCredential)
	}
	ts, err := parseMillis(timestamp)
	if err != nil {
		return err
	}
	tol := s.Tolerance
	if tol <= 0 {
		tol = DefaultTolerance
	}
	if skew := now.UnixMilli() - ts; skew > tol.Milliseconds() || -skew > tol.Milliseconds() {
		return verify.ErrExpired
	}
	sig, err := decodeBase64(signature)
	if err != nil {
		return fmt.Errorf("%w: signature is not base64", verify.ErrMalformedCredential)
	}
	h := s.Hash
	if h == 0 {
		h = crypto.SHA256
	}
	var buf [128]byte
	msg := append(append(append(append(buf[:0], "appId="...), appID...), "&timestamp="...), timestamp...) // SignedString
	var digest []byte
	if h == crypto.SHA256 {
		sum := sha256.Sum256(msg)
		digest = sum[:]
	} else {
		d := h.New()
		d.Write(msg)
		digest = d.Sum(nil)
	}
	if err := rsa.VerifyPKCS1v15(s.PublicKey, h, digest, sig); err != nil {
		return verify.ErrInvalidCredential
	}
	return nil
}

func parseMillis(v string) (int64, error) {
	if len(v) > maxTimestampDigits {
		return 0, fmt.Errorf("%w: timestamp is too long", verify.ErrMalformedCredential)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, fmt.Errorf("%w: timestamp is not milliseconds since the epoch", verify.ErrMalformedCredential)
		}
	}
	return strconv.ParseInt(v, 10, 64)
}

func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// ParsePublicKey reads an RSA public key: PEM "PUBLIC KEY" (PKIX) or "RSA
// PUBLIC KEY" (PKCS#1), or the bare base64 of either DER form (as keys are often
// handed out). Keys shorter than MinKeyBits are refused.
func ParsePublicKey(text string) (*rsa.PublicKey, error) {
	text = strings.TrimSpace(strings.ReplaceAll(text, `\n`, "\n"))
	if text == "" {
		return nil, errors.New("public key is empty")
	}
	var der [][]byte
	if block, _ := pem.Decode([]byte(text)); block != nil {
		switch block.Type {
		case "PUBLIC KEY", "RSA PUBLIC KEY":
			der = append(der, block.Bytes)
		default:
			return nil, fmt.Errorf("PEM block %q is not a public key", block.Type)
		}
	} else {
		compact := strings.Join(strings.Fields(text), "")
		b, err := decodeBase64(compact)
		if err != nil {
			return nil, errors.New("public key is neither PEM nor base64 DER")
		}
		der = append(der, b)
	}
	var pub *rsa.PublicKey
	if k, err := x509.ParsePKIXPublicKey(der[0]); err == nil {
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("public key is not an RSA key")
		}
		pub = rk
	} else if rk, err := x509.ParsePKCS1PublicKey(der[0]); err == nil {
		pub = rk
	} else {
		return nil, errors.New("public key is not a PKIX or PKCS#1 RSA public key")
	}
	if pub.N.BitLen() < MinKeyBits {
		return nil, fmt.Errorf("RSA public key has %d bits; at least %d are required", pub.N.BitLen(), MinKeyBits)
	}
	return pub, nil
}

// ParseHash maps a configured hash name to a hash: SHA256 (the default, also
// for ""), SHA384 or SHA512, in any case, with or without a dash, with or
// without a "withRSA" suffix ("SHA-256", "sha256WithRSA"). SHA-1 is not offered.
func ParseHash(name string) (crypto.Hash, error) {
	n := strings.ToUpper(strings.NewReplacer("-", "", "_", "", " ", "").Replace(name))
	n = strings.TrimSuffix(n, "WITHRSA")
	switch n {
	case "", "SHA256":
		return crypto.SHA256, nil
	case "SHA384":
		return crypto.SHA384, nil
	case "SHA512":
		return crypto.SHA512, nil
	}
	return 0, errors.New(`hash must be SHA256, SHA384 or SHA512`)
}

// ParsePrivateKey reads a PEM RSA private key (PKCS#8 "PRIVATE KEY" or PKCS#1
// "RSA PRIVATE KEY"), for signing test and sample deliveries.
func ParsePrivateKey(pemText []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemText)
	if block == nil {
		return nil, errors.New("oslpay: private key is not PEM")
	}
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("oslpay: private key: %w", err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("oslpay: private key is not RSA")
		}
		return rk, nil
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("oslpay: private key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("oslpay: PEM block %q is not an RSA private key", block.Type)
}
