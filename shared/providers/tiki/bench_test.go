package tiki_test

import (
	"testing"

	"webhooks/internal/devkit"
	"webhooks/shared/jsonx"
	"webhooks/shared/providers/tiki"
)

// Tiki's hot path: HMAC-SHA1 of the body (Authenticate), the strict JSON
// check, and parse and classify (Decode). Run with make bench.

func BenchmarkAuthenticate(b *testing.B) {
	p := tiki.New()
	s, err := p.ParseSecret(devkit.DevSecret(b, tiki.Name))
	if err != nil {
		b.Fatal(err)
	}
	req := devkit.SampleRequest(b, tiki.Name, "order-processing")
	b.SetBytes(int64(len(req.Body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Authenticate(req, s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckJSON(b *testing.B) {
	req := devkit.SampleRequest(b, tiki.Name, "order-processing")
	b.SetBytes(int64(len(req.Body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := jsonx.CheckObject(req.Body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	p := tiki.New()
	s, _ := p.ParseSecret(devkit.DevSecret(b, tiki.Name))
	req := devkit.SampleRequest(b, tiki.Name, "order-processing")
	b.SetBytes(int64(len(req.Body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Decode(req, s); err != nil {
			b.Fatal(err)
		}
	}
}
