// Package alchemypaydev is Alchemy Pay's tooling support: its sample events,
// addressing a request the way Alchemy Pay does (the URL token), and its
// handler built in-process. Local tooling only: never linked into a function.
package alchemypaydev

import (
	"encoding/json"
	"errors"
	"time"

	"webhooks/internal/devkit"
	"webhooks/shared/providers/alchemypay"
)

// Kit is Alchemy Pay's tooling support.
var Kit = devkit.Kit{
	Provider:  alchemypay.Contract,
	NewSigner: newSigner,
	Samples:   samples,
	Handler:   devkit.HandlerOf(alchemypay.New()),
	InProcess: devkit.InProcessOf(alchemypay.New()),
	Peak: devkit.Peak{Rate: 50,
		Why:     "card spending during the sale, plus retry waves after any outage of ours (every ten minutes for an hour, then hourly)",
		HotRate: 1, HotEntity: "one card order's states", HotState: true},
	Kept: kept,
	Adversarial: func(v string) (string, []byte) {
		return "", []byte(`{"orderNo":"100217","orderType":"1","status":"FAIL","cardNumber":"5554748800912345","x":` + v + `}`)
	},
}

// newSigner addresses the request to the URL holding the secret's urlToken
// (Alchemy Pay does not sign its webhooks).
func newSigner(secret json.RawMessage, _ []byte, _ devkit.SignOptions) (devkit.Signer, error) {
	var sec struct {
		URLToken string `json:"urlToken"`
	}
	if err := json.Unmarshal(secret, &sec); err != nil {
		return nil, err
	}
	if sec.URLToken == "" {
		return nil, errors.New("no urlToken")
	}
	return func(variant string, body []byte, _ time.Time) (devkit.Request, error) {
		r := devkit.RouteRequest(alchemypay.Contract.Routes[0], map[string]string{alchemypay.TokenParam: sec.URLToken})
		r.Body, r.Headers = body, map[string]string{}
		return r, nil
	}, nil
}
