package tiki_test

import (
	"strings"
	"testing"

	"webhooks/internal/awskit/awstest"
	"webhooks/internal/devkit"
	"webhooks/shared/apigw"
	"webhooks/shared/jsonx"
	"webhooks/shared/pipeline"
	"webhooks/shared/providers/tiki"
)

// The authenticate-and-parse path never panics, never accepts a body whose
// signature does not match, and whatever it decodes has a type, a key and
// storable JSON data.
func FuzzAuthenticateAndDecode(f *testing.F) {
	list, err := devkit.Load(eventsDir, tiki.Name)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range list {
		f.Add(s.Event.PathParameters["kind"], s.Event.Body, s.Event.Headers["x-signature"])
	}
	key := "fuzzKey0123456789abcdefghijklmno"
	sec := tiki.Secret{Order: key, Stock: key, Aftersale: key}
	p := tiki.New()
	f.Fuzz(func(t *testing.T, kind, body, sig string) {
		r := &apigw.Request{Method: "POST", Headers: apigw.Headers{"x-signature": sig}, PathParams: map[string]string{"kind": kind}, Body: []byte(body)}
		route, err := p.Route(r)
		r.Variant = route.Variant
		if err == nil && p.Authenticate(r, sec) == nil && !strings.EqualFold(strings.TrimSpace(sig), tiki.Sign(key, []byte(body))) {
			t.Fatalf("accepted a forged signature %q", sig)
		}
		// Decode only runs on bodies the pipeline's JSON check passed.
		if jsonx.CheckObject(r.Body) != nil {
			return
		}
		ev, err := pipeline.DecodeBody(p, r, sec)
		if !awstest.Decoded(t, ev, err) {
			return
		}
	})
}
