package oslpay_test

import (
	"testing"

	"webhooks/internal/devkit"
	"webhooks/internal/devkit/oslpaydev"
	"webhooks/shared/providers/oslpay"
)

// The decode path's work (parse, Decode and its redaction, the body's appid
// check, the canonical state of a user's event; counted, never timed) is
// linear in the body on every adversarial shape.
func TestDecodeWorkIsLinear(t *testing.T) {
	p := oslpay.New()
	cfg, err := p.ParseSecret(devkit.DevSecret(t, oslpay.Name))
	if err != nil {
		t.Fatal(err)
	}
	devkit.CheckDecodeWork(t, oslpaydev.Kit, p, cfg, []devkit.Wrap{
		{Name: "order", Body: oslpaydev.Kit.Adversarial},
		// The whole data is the state: rendered canonical (sorted keys).
		{Name: "kyc", Body: func(v string) (string, []byte) {
			return "", []byte(`{"type":"kyc_status_change","data":{"userId":"u1","kycStatus":"PASS","updateTime":"1723187479007","x":` + v + `}}`)
		}},
		{Name: "undocumented-type", Body: func(v string) (string, []byte) {
			return "", []byte(`{"type":"wallet_freeze","data":{"userId":"u1","x":` + v + `}}`)
		}},
		// In the envelope, beside data: the members an appid is looked for in.
		{Name: "envelope", Body: func(v string) (string, []byte) {
			return "", []byte(`{"type":"order_status_change","data":{"orderId":"o1","state":"COMPLETED"},"x":` + v + `}`)
		}},
	})
}
