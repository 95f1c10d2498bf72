package tiki_test

import (
	"testing"

	"webhooks/internal/devkit"
	"webhooks/shared/apigw"
	"webhooks/shared/jsonx"
	"webhooks/shared/pipeline"
	"webhooks/shared/providers/tiki"
)

// Tiki's hot path: HMAC-SHA1 of the body (Authenticate), the strict JSON
// parse (CheckJSON), and classify and redact (Decode). Run with make bench.

// request is a sample as the pipeline hands it to Authenticate and Decode:
// its route resolved.
func request(b *testing.B, p *tiki.Provider, name string) *apigw.Request {
	req := devkit.SampleRequest(b, tiki.Name, name)
	route, err := p.Route(req)
	if err != nil {
		b.Fatal(err)
	}
	req.Variant = route.Variant
	return req
}

func BenchmarkAuthenticate(b *testing.B) {
	p := tiki.New()
	s, err := p.ParseSecret(devkit.DevSecret(b, tiki.Name))
	if err != nil {
		b.Fatal(err)
	}
	req := request(b, p, "order-processing")
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
		if _, err := jsonx.Parse(req.Body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	p := tiki.New()
	s, _ := p.ParseSecret(devkit.DevSecret(b, tiki.Name))
	req := request(b, p, "order-processing")
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
