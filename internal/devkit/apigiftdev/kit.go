// Package apigiftdev is APIGift's tooling support: its sample events,
// addressing a request the way APIGift does (URL token, optional secret-key
// header, event slug), and its handler built in-process. Local tooling only:
// never linked into a function.
package apigiftdev

import (
	"encoding/json"
	"errors"
	"sort"
	"time"

	"webhooks/internal/devkit"
	"webhooks/shared/providers/apigift"
)

// Kit is APIGift's tooling support.
var Kit = devkit.Kit{
	Provider:  apigift.Contract,
	Variant:   "event",
	Variants:  slugs(),
	NewSigner: newSigner,
	Samples:   samples,
	Handler:   devkit.HandlerOf(apigift.New()),
	InProcess: devkit.InProcessOf(apigift.New()),
	Peak: devkit.Peak{Rate: 30,
		Why:     "gift cards sold in the same sale: an invoice status change per order and a delivery per inventory item",
		HotRate: 2, HotEntity: "one order's invoice states", HotState: true},
	Kept: kept,
	Adversarial: func(v string) (string, []byte) {
		return "order-invoice-status-changed", []byte(`{"orderId":"b3c09d58","status":1,"price":47.99,"x":` + v + `}`)
	},
}

func slugs() []string {
	out := make([]string, 0, len(apigift.Slugs))
	for s := range apigift.Slugs {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// newSigner addresses the request to the URL holding the secret's urlToken,
// with the event slug when one is given; with opt.SecretHeader it also sends
// the account's secretKey, as APIGift may.
func newSigner(secret json.RawMessage, _ []byte, opt devkit.SignOptions) (devkit.Signer, error) {
	var sec struct {
		SecretKey string `json:"secretKey"`
		URLToken  string `json:"urlToken"`
	}
	if err := json.Unmarshal(secret, &sec); err != nil {
		return nil, err
	}
	if sec.URLToken == "" {
		return nil, errors.New("no urlToken")
	}
	if opt.SecretHeader && sec.SecretKey == "" {
		return nil, errors.New("no secretKey to send")
	}
	return func(slug string, body []byte, _ time.Time) (devkit.Request, error) {
		route, params := apigift.Contract.Routes[0], map[string]string{"token": sec.URLToken}
		if slug != "" {
			route, params["event"] = apigift.Contract.Routes[1], slug
		}
		r := devkit.RouteRequest(route, params)
		r.Body, r.Headers = body, map[string]string{}
		if opt.SecretHeader {
			r.Headers[apigift.SecretKeyHeader] = sec.SecretKey
		}
		return r, nil
	}, nil
}
