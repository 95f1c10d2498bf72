package alchemypay_test

import (
	"testing"

	"webhooks/internal/devkit"
	"webhooks/internal/devkit/alchemypaydev"
	"webhooks/shared/providers/alchemypay"
)

// The decode path's work (parse, Decode and its redaction; counted, never
// timed) is linear in the body on every adversarial shape.
func TestDecodeWorkIsLinear(t *testing.T) {
	p := alchemypay.New()
	cfg, err := p.ParseSecret(devkit.DevSecret(t, alchemypay.Name))
	if err != nil {
		t.Fatal(err)
	}
	devkit.CheckDecodeWork(t, alchemypaydev.Kit, p, cfg, []devkit.Wrap{
		{Name: "order", Body: alchemypaydev.Kit.Adversarial},
		// Beside a kept id and a kept time: the values that count as letters.
		{Name: "kept-fields", Body: func(v string) (string, []byte) {
			return "", []byte(`{"orderNo":"1002172318746911234","cardId":"1232330814012345678","orderTime":"2024-08-09 15:11:19","status":"SUCCESS","x":` + v + `}`)
		}},
	})
}
