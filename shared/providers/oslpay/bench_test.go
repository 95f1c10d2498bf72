package oslpay_test

import (
	"testing"

	"webhooks/internal/devkit"
	"webhooks/shared/jsonx"
	"webhooks/shared/pipeline"
	"webhooks/shared/providers/oslpay"
)

// OSL Pay's hot path: RSA-SHA256 signature over appId+timestamp (Verify), that
// plus the body's appid (Authenticate), parse and classify (Decode). Run with
// make bench.

const sample = "order-completed"

func setup(b *testing.B) (*oslpay.Provider, oslpay.Secret) {
	b.Helper()
	p := oslpay.New()
	s, err := p.ParseSecret(devkit.DevSecret(b, oslpay.Name))
	if err != nil {
		b.Fatal(err)
	}
	return p, s
}

func BenchmarkVerifyRSA(b *testing.B) {
	_, s := setup(b)
	req := devkit.SampleRequest(b, oslpay.Name, sample)
	h := req.Headers
	b.ReportAllocs()
	for b.Loop() {
		if err := oslpay.Verify(h.Get(oslpay.HeaderAppID), h.Get(oslpay.HeaderTimestamp), h.Get(oslpay.HeaderSignature), s, req.Received); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	p, s := setup(b)
	req := devkit.SampleRequest(b, oslpay.Name, sample)
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Authenticate(req, s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	p, s := setup(b)
	req := devkit.SampleRequest(b, oslpay.Name, sample)
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
