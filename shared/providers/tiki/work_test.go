package tiki_test

import (
	"testing"

	"webhooks/internal/devkit"
	"webhooks/internal/devkit/tikidev"
	"webhooks/shared/providers/tiki"
)

// The decode path's work (parse, Decode and its redaction; counted, never
// timed) is linear in the body on every adversarial shape, for every kind.
func TestDecodeWorkIsLinear(t *testing.T) {
	p := tiki.New()
	cfg, err := p.ParseSecret(devkit.DevSecret(t, tiki.Name))
	if err != nil {
		t.Fatal(err)
	}
	devkit.CheckDecodeWork(t, tikidev.Kit, p, cfg, []devkit.Wrap{
		{Name: "order", Body: tikidev.Kit.Adversarial},
		{Name: "stock", Body: func(v string) (string, []byte) {
			return tiki.KindStock, []byte(`{"data":{"date":"2022-10-26T14:22:05+07:00","sku":"1377286379376","warehouse":"sgn","qty_salable":58,"x":` + v + `}}`)
		}},
		{Name: "aftersale", Body: func(v string) (string, []byte) {
			return tiki.KindAftersale, []byte(`{"data":{"order_code":"347171821","status":"approved","type":"return","x":` + v + `}}`)
		}},
		// In the envelope, beside data: the members its "data" is looked for in.
		{Name: "envelope", Body: func(v string) (string, []byte) {
			return tiki.KindOrder, []byte(`{"data":{"order_code":"347171821","main_state":"processing"},"x":` + v + `}`)
		}},
	})
}
