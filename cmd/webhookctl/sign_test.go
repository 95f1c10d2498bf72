package main

import (
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"strings"
	"testing"
	"time"
)

const devSecrets = "../../events/dev-secrets.json"

func header(s signed, name string) string {
	for _, h := range s.Headers {
		if strings.EqualFold(h[0], name) {
			return h[1]
		}
	}
	return ""
}

func devSecret(t *testing.T, provider string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(devSecrets)
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]map[string]any
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatal(err)
	}
	return all[provider]
}

func TestSignTiki(t *testing.T) {
	body := `{"data":{"order_code":"1"}}`
	s, err := (&signFlags{provider: "tiki", variant: "aftersale", data: body, secretsFile: devSecrets}).sign(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha1.New, []byte(devSecret(t, "tiki")["aftersale"].(string)))
	m.Write([]byte(body))
	if want := "sha1=" + hex.EncodeToString(m.Sum(nil)); header(s, "X-Signature") != want {
		t.Errorf("signature %q, want %q", header(s, "X-Signature"), want)
	}
	if s.Path != "/webhooks/tiki/aftersale" || string(s.Body) != body {
		t.Errorf("path %q body %q", s.Path, s.Body)
	}
	if _, err := (&signFlags{provider: "tiki", variant: "refund", data: body, secretsFile: devSecrets}).sign(time.Now()); err == nil {
		t.Error("unknown tiki kind accepted")
	}
}

func TestSignTokenProviders(t *testing.T) {
	tok := devSecret(t, "apigift")["urlToken"].(string)
	s, err := (&signFlags{provider: "apigift", variant: "product-status-changed", data: `{}`, secretsFile: devSecrets}).sign(time.Now())
	if err != nil || s.Path != "/webhooks/apigift/"+tok+"/product-status-changed" {
		t.Fatalf("apigift: %q %v", s.Path, err)
	}
	s, err = (&signFlags{provider: "alchemypay", data: `{}`, secret: `{"urlToken":"given-0123456789abcdefghij"}`}).sign(time.Now())
	if err != nil || s.Path != "/webhooks/alchemypay/given-0123456789abcdefghij" {
		t.Fatalf("alchemypay with -secret: %q %v", s.Path, err)
	}
	if _, err := (&signFlags{provider: "alchemypay", data: `{}`, secret: `{"urlToken":""}`}).sign(time.Now()); err == nil {
		t.Error("empty urlToken accepted")
	}
}

// The OSL Pay signature verifies with the public key of the development secret.
func TestSignOSLPayVerifiesWithDevPublicKey(t *testing.T) {
	now := time.UnixMilli(1795339493841)
	s, err := (&signFlags{provider: "oslpay", data: `{"type":"kyc_status_change","data":{}}`, secretsFile: devSecrets,
		keyFile: "../../events/oslpay/dev-private-key.pem"}).sign(now)
	if err != nil {
		t.Fatal(err)
	}
	sec := devSecret(t, "oslpay")
	if header(s, "appId") != sec["appId"] || header(s, "timestamp") != "1795339493841" || s.Path != "/webhooks/oslpay" {
		t.Fatalf("headers %v path %q", s.Headers, s.Path)
	}
	block, _ := pem.Decode([]byte(sec["publicKey"].(string)))
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := base64.StdEncoding.DecodeString(header(s, "signature"))
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("appId=" + sec["appId"].(string) + "&timestamp=1795339493841"))
	if err := rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
}

func TestSignEventFormatIsRoutable(t *testing.T) {
	s, err := (&signFlags{provider: "tiki", variant: "order", data: `{"data":{}}`, secretsFile: devSecrets}).sign(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := printSigned(&out, s, "event", "http://127.0.0.1:3000"); err != nil {
		t.Fatal(err)
	}
	var ev struct {
		RouteKey       string            `json:"routeKey"`
		Headers        map[string]string `json:"headers"`
		PathParameters map[string]string `json:"pathParameters"`
		Body           string            `json:"body"`
	}
	if err := json.Unmarshal([]byte(out.String()), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.RouteKey != "POST /webhooks/tiki/{kind}" || ev.PathParameters["kind"] != "order" || ev.Headers["x-signature"] != header(s, "X-Signature") || ev.Body != `{"data":{}}` {
		t.Errorf("event %+v", ev)
	}
}

func TestSignAPIGiftSecretKeyHeader(t *testing.T) {
	s, err := (&signFlags{provider: "apigift", data: `{}`, secretsFile: devSecrets, secretKey: true}).sign(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if header(s, "secret-key") != devSecret(t, "apigift")["secretKey"] {
		t.Errorf("secret-key header %q", header(s, "secret-key"))
	}
}
