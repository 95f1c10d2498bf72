package oslpay_test

import (
	"testing"
	"time"

	"webhooks/internal/awskit/awstest"
	"webhooks/internal/devkit"
	"webhooks/shared/apigw"
	"webhooks/shared/jsonx"
	"webhooks/shared/pipeline"
	"webhooks/shared/providers/oslpay"
)

// The authenticate-and-parse path never panics, never accepts headers that were
// not signed with the key, and whatever it decodes is storable JSON.
func FuzzAuthenticateAndDecode(f *testing.F) {
	list, err := devkit.Load("../../../events", "oslpay")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range list {
		f.Add(s.Event.Headers["appid"], s.Event.Headers["timestamp"], s.Event.Headers["signature"], s.Event.Body)
	}
	dev, err := devkit.LoadDevSecrets("../../../events")
	if err != nil {
		f.Fatal(err)
	}
	p := oslpay.New()
	sec, err := p.ParseSecret(dev["oslpay"])
	if err != nil {
		f.Fatal(err)
	}
	signed := map[string]bool{}
	for _, s := range list {
		signed[s.Event.Headers["timestamp"]+"|"+s.Event.Headers["signature"]] = true
	}
	f.Fuzz(func(t *testing.T, appID, ts, sig, body string) {
		r := &apigw.Request{Method: "POST", Received: time.Now(), Body: []byte(body),
			Headers: apigw.Headers{"appid": appID, "timestamp": ts, "signature": sig}}
		if err := p.Authenticate(r, sec); err == nil && !signed[ts+"|"+sig] {
			t.Fatalf("accepted headers the dev key never signed: %q %q", ts, sig)
		}
		if jsonx.CheckObject(r.Body) != nil {
			return
		}
		ev, err := pipeline.DecodeBody(p, r, sec)
		if !awstest.Decoded(t, ev, err) {
			return
		}
	})
}
