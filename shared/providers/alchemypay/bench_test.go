package alchemypay_test

import (
	"testing"

	"webhooks/internal/devkit"
	"webhooks/shared/jsonx"
	"webhooks/shared/pipeline"
	"webhooks/shared/providers/alchemypay"
)

// Alchemy Pay's hot path: URL token (Authenticate), parse, classify and redact
// the card number (Decode), and the redaction alone (Redact). Run with make bench.

const benchSample = "create-virtual-card-success"

func BenchmarkAuthenticate(b *testing.B) {
	p := alchemypay.New()
	s, err := p.ParseSecret(devkit.DevSecret(b, alchemypay.Name))
	if err != nil {
		b.Fatal(err)
	}
	req := devkit.SampleRequest(b, alchemypay.Name, benchSample)
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Authenticate(req, s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	p := alchemypay.New()
	s, _ := p.ParseSecret(devkit.DevSecret(b, alchemypay.Name))
	req := devkit.SampleRequest(b, alchemypay.Name, benchSample)
	doc, err := jsonx.Parse(req.Body)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(req.Body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pipeline.DecodeDoc(p, req, doc, s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRedact(b *testing.B) {
	req := devkit.SampleRequest(b, alchemypay.Name, benchSample)
	b.SetBytes(int64(len(req.Body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := alchemypay.Redactor.Redact(req.Body); err != nil {
			b.Fatal(err)
		}
	}
}
