// Package oslpaydev is OSL Pay's tooling support: its sample events, signing
// a request's headers the way OSL Pay does (RSA over appId and timestamp),
// and its handler built in-process. Local tooling only: never linked into a
// function.
package oslpaydev

import (
	"encoding/json"
	"errors"
	"time"

	"webhooks/internal/devkit"
	"webhooks/shared/providers/oslpay"
)

// KeyFile is the development private key, relative to the events directory;
// its public half is the publicKey of the development secret.
const KeyFile = oslpay.Name + "/dev-private-key.pem"

// Kit is OSL Pay's tooling support.
var Kit = devkit.Kit{
	Provider:  oslpay.Contract,
	KeyFile:   KeyFile,
	NewSigner: newSigner,
	Samples:   samples,
	Handler:   devkit.HandlerOf(oslpay.New()),
	InProcess: devkit.InProcessOf(oslpay.New()),
	Peak: devkit.Peak{Rate: 20,
		Why:     "crypto purchases: an order webhook per state, KYC and account events besides",
		HotRate: 1, HotEntity: "one order's states", HotState: true},
	Kept: kept,
	Adversarial: func(v string) (string, []byte) {
		return "", []byte(`{"type":"order_status_change","data":{"orderId":"o1","state":"COMPLETED","appid":"dev-oslpay-app","x":` + v + `}}`)
	},
}

// newSigner signs the headers with the sender's private key, with the hash
// and appId of the secret.
func newSigner(secret json.RawMessage, keyPEM []byte, _ devkit.SignOptions) (devkit.Signer, error) {
	var sec struct {
		AppID string `json:"appId"`
		Hash  string `json:"hash"`
	}
	if err := json.Unmarshal(secret, &sec); err != nil {
		return nil, err
	}
	h, err := oslpay.ParseHash(sec.Hash)
	if err != nil {
		return nil, err
	}
	if sec.AppID == "" {
		return nil, errors.New("no appId")
	}
	key, err := oslpay.ParsePrivateKey(keyPEM)
	if err != nil {
		return nil, err
	}
	return func(variant string, body []byte, now time.Time) (devkit.Request, error) {
		hd, err := oslpay.SignedHeaders(key, h, sec.AppID, now)
		if err != nil {
			return devkit.Request{}, err
		}
		r := devkit.RouteRequest(oslpay.Contract.Routes[0], map[string]string{})
		r.Body, r.Headers = body, hd
		return r, nil
	}, nil
}
