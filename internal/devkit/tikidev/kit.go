// Package tikidev is Tiki's tooling support: its sample events, signing a
// request the way Tiki does, and its handler built in-process. Local tooling
// only: never linked into a function.
package tikidev

import (
	"encoding/json"
	"fmt"
	"time"

	"webhooks/internal/devkit"
	"webhooks/shared/providers/tiki"
)

// Kit is Tiki's tooling support.
var Kit = devkit.Kit{
	Provider:        tiki.Contract,
	Variant:         "kind",
	Variants:        []string{tiki.KindOrder, tiki.KindStock, tiki.KindAftersale},
	VariantRequired: true,
	NewSigner:       newSigner,
	Samples:         samples,
	Handler:         devkit.HandlerOf(tiki.New()),
	InProcess:       devkit.InProcessOf(tiki.New()),
	Peak: devkit.Peak{Rate: 600,
		Why:     "a marketplace flash sale: an order webhook per order state change and a stock webhook per SKU and warehouse each order moves; as docs/DEPLOY.md sizes it, two hundred orders a second of two items each",
		HotRate: 50, HotEntity: "the sale's headline SKU in one warehouse: every order of it moves its stock (tiki.stock.changed, subject warehouse/sku)", HotState: true},
	Kept: kept,
	Adversarial: func(v string) (string, []byte) {
		return tiki.KindOrder, []byte(`{"data":{"date":"2022-10-26T14:22:05+07:00","order_code":"347171821","main_state":"processing","x":` + v + `}}`)
	},
}

// newSigner signs with the kind's key: x-signature: sha1=<HMAC-SHA1 of the body>.
func newSigner(secret json.RawMessage, _ []byte, _ devkit.SignOptions) (devkit.Signer, error) {
	var sec tiki.Secret
	if err := json.Unmarshal(secret, &sec); err != nil {
		return nil, err
	}
	keys := map[string]string{tiki.KindOrder: sec.Order, tiki.KindStock: sec.Stock, tiki.KindAftersale: sec.Aftersale}
	return func(kind string, body []byte, _ time.Time) (devkit.Request, error) {
		key := keys[kind]
		if key == "" {
			return devkit.Request{}, fmt.Errorf("the tiki secret has no key for kind %q", kind)
		}
		r := devkit.RouteRequest(tiki.Contract.Routes[0], map[string]string{"kind": kind})
		r.Body, r.Headers = body, map[string]string{tiki.SignatureHeader: tiki.Sign(key, body)}
		return r, nil
	}, nil
}
