package alchemypay_test

import (
	"strings"
	"testing"

	"webhooks/internal/itest"
	"webhooks/internal/samples"
	"webhooks/shared/apigw"
	"webhooks/shared/jsonx"
	"webhooks/shared/providers/alchemypay"
)

// Decoding never panics, and a full card number in cardNumber never survives
// into the storable data.
func FuzzDecodeRedacts(f *testing.F) {
	list, err := samples.Load("../../../events", "alchemypay")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range list {
		f.Add(s.Event.Body, "5554748800912345")
	}
	p := alchemypay.New()
	sec, err := p.ParseSecret([]byte(`{"urlToken":"fuzz-token-0123456789"}`))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body, pan string) {
		// Put a 16-digit number in cardNumber when the body has the field.
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, pan)
		if len(digits) >= 16 {
			digits = digits[:16]
			body = strings.Replace(body, `"cardNumber":"`, `"cardNumber":"`+digits, 1)
		}
		r := &apigw.Request{Method: "POST", Headers: apigw.Headers{}, PathParams: map[string]string{"token": "fuzz-token-0123456789"}, Body: []byte(body)}
		if jsonx.CheckObject(r.Body) != nil {
			return
		}
		ev, err := p.Decode(r, sec)
		if !itest.Decoded(t, ev, err) {
			return
		}
		if len(digits) == 16 && strings.Contains(string(ev.Data), digits) {
			t.Fatalf("full card number %s survives in %s", digits, ev.Data)
		}
	})
}
