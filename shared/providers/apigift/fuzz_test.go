package apigift_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"webhooks/internal/awskit/awstest"
	"webhooks/internal/devkit"
	"webhooks/shared/apigw"
	"webhooks/shared/jsonx"
	"webhooks/shared/pipeline"
	"webhooks/shared/providers/apigift"
)

// Decrypt never panics, returns only valid UTF-8, and round-trips Encrypt.
func FuzzDecrypt(f *testing.F) {
	key := []byte("0123456789abcdef0123456789abcdef")
	for _, s := range []string{"", "AAAA", "dZ5xmvUJ1k4YB4C=", "not base64!"} {
		f.Add(s, []byte("codes"), 32)
	}
	ct, _ := apigift.Encrypt(key, []byte(`[{"code":"X"}]`))
	f.Add(ct, []byte(`[{"code":"X"}]`), 16)
	f.Fuzz(func(t *testing.T, ciphertext string, plaintext []byte, keyLen int) {
		k := key[:[]int{16, 24, 32}[(keyLen%3+3)%3]]
		if pt, err := apigift.Decrypt(k, ciphertext); err == nil && !utf8.Valid(pt) {
			t.Fatalf("decrypted to invalid UTF-8")
		}
		if !utf8.Valid(plaintext) {
			return
		}
		enc, err := apigift.Encrypt(k, plaintext)
		if err != nil {
			t.Fatal(err)
		}
		got, err := apigift.Decrypt(k, enc)
		if err != nil || !bytes.Equal(got, plaintext) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// The authenticate-and-parse path never panics; whatever it decodes is storable
// JSON that holds no plaintext field.
func FuzzAuthenticateAndDecode(f *testing.F) {
	list, err := devkit.Load("../../../events", apigift.Name)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range list {
		f.Add(s.Event.PathParameters["token"], s.Event.PathParameters["event"], s.Event.Body)
	}
	dev, err := devkit.LoadDevSecrets("../../../events")
	if err != nil {
		f.Fatal(err)
	}
	p := apigift.New()
	sec, err := p.ParseSecret(dev[apigift.Name])
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token, slug, body string) {
		r := &apigw.Request{Method: "POST", Headers: apigw.Headers{}, PathParams: map[string]string{"token": token, "event": slug}, Body: []byte(body)}
		if slug == "" {
			delete(r.PathParams, "event")
		}
		if p.Authenticate(r, sec) != nil || jsonx.CheckObject(r.Body) != nil {
			return
		}
		ev, err := pipeline.DecodeBody(p, r, sec)
		if !awstest.Decoded(t, ev, err) {
			return
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(ev.Data, &m) != nil {
			t.Fatalf("decoded %+v", ev)
		}
		if _, ok := m["virtualCollections"]; ok {
			t.Fatalf("storable data carries a plaintext field")
		}
	})
}
