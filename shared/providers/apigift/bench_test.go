package apigift_test

import (
	"encoding/json"
	"testing"

	"webhooks/internal/devkit"
	"webhooks/shared/apigw"
	"webhooks/shared/jsonx"
	"webhooks/shared/pipeline"
	"webhooks/shared/providers/apigift"
)

// APIGift's hot path: URL token and secret-key header (Authenticate), parse
// and classify (Decode), AES-256-CBC decryption of the delivered inventory
// (Decrypt, Enrich). Run with make bench.

func setup(b *testing.B) (*apigift.Provider, apigift.Secret, []byte) {
	b.Helper()
	p := apigift.New()
	raw := devkit.DevSecret(b, apigift.Name)
	s, err := p.ParseSecret(raw)
	if err != nil {
		b.Fatal(err)
	}
	var plain struct{ SecretKey string }
	if err := json.Unmarshal(raw, &plain); err != nil {
		b.Fatal(err)
	}
	return p, s, []byte(plain.SecretKey)
}

func BenchmarkAuthenticate(b *testing.B) {
	p, s, _ := setup(b)
	req := devkit.SampleRequest(b, apigift.Name, "inventory-item-delivered-secret-key-header")
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Authenticate(req, s); err != nil {
			b.Fatal(err)
		}
	}
}

// parsed is a sample as the pipeline hands it to Decode: route resolved, body parsed.
func parsed(b *testing.B, p *apigift.Provider, name string) (*apigw.Request, *jsonx.Doc) {
	req := devkit.SampleRequest(b, apigift.Name, name)
	route, err := p.Route(req)
	if err != nil {
		b.Fatal(err)
	}
	req.Variant = route.Variant
	doc, err := jsonx.Parse(req.Body)
	if err != nil {
		b.Fatal(err)
	}
	return req, doc
}

func BenchmarkDecode(b *testing.B) {
	p, s, _ := setup(b)
	for _, name := range []string{"inventory-item-delivered", "inferred-order-invoice-status-changed"} {
		req, doc := parsed(b, p, name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(req.Body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := pipeline.DecodeDoc(p, req, doc, s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecrypt(b *testing.B) {
	_, _, key := setup(b)
	req := devkit.SampleRequest(b, apigift.Name, "inventory-item-delivered")
	var body struct {
		EncryptedVirtualCollections string `json:"encryptedVirtualCollections"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil || body.EncryptedVirtualCollections == "" {
		b.Fatalf("sample has no encryptedVirtualCollections (%v)", err)
	}
	ct := body.EncryptedVirtualCollections
	b.SetBytes(int64(len(ct)))
	b.ReportAllocs()
	for b.Loop() {
		pt, err := apigift.Decrypt(key, ct)
		if err != nil {
			b.Fatal(err)
		}
		apigift.Wipe(pt)
	}
}

func BenchmarkEnrich(b *testing.B) {
	p, s, _ := setup(b)
	req := devkit.SampleRequest(b, apigift.Name, "inventory-item-delivered")
	ev, err := pipeline.DecodeBody(p, req, s)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pipeline.EnrichData(p, ev, s); err != nil {
			b.Fatal(err)
		}
	}
}
