// Package signer builds authentic webhook requests for any provider, the way
// each provider signs or addresses them: used by the soak and load runs, the
// CLI and tests. Local tooling only; never deployed.
package signer

import (
	"crypto"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"webhooks/internal/samples"
	"webhooks/shared/providers/apigift"
	"webhooks/shared/providers/oslpay"
	"webhooks/shared/providers/tiki"
)

// Keys are the values a sender needs for each provider.
type Keys struct {
	Tiki             tiki.Secret
	APIGiftToken     string
	APIGiftSecretKey string
	AlchemyPayToken  string
	OSLAppID         string
	OSLKey           *rsa.PrivateKey
	OSLHash          crypto.Hash
}

// DevKeys reads the development secrets (events/dev-secrets.json) and the OSL
// Pay development private key (events/oslpay/dev-private-key.pem).
func DevKeys(eventsDir string) (Keys, error) {
	dev, err := samples.LoadDevSecrets(eventsDir)
	if err != nil {
		return Keys{}, err
	}
	var k Keys
	var ag struct{ SecretKey, URLToken string }
	var ap struct{ URLToken string }
	var osl struct {
		AppID string `json:"appId"`
		Hash  string `json:"hash"`
	}
	for name, dst := range map[string]any{"tiki": &k.Tiki, "apigift": &ag, "alchemypay": &ap, "oslpay": &osl} {
		if err := json.Unmarshal(dev[name], dst); err != nil {
			return Keys{}, fmt.Errorf("dev secret %s: %w", name, err)
		}
	}
	k.APIGiftToken, k.APIGiftSecretKey, k.AlchemyPayToken, k.OSLAppID = ag.URLToken, ag.SecretKey, ap.URLToken, osl.AppID
	k.OSLHash = crypto.SHA256
	pemText, err := os.ReadFile(filepath.Join(eventsDir, "oslpay", "dev-private-key.pem"))
	if err != nil {
		return Keys{}, err
	}
	if k.OSLKey, err = oslpay.ParsePrivateKey(pemText); err != nil {
		return Keys{}, err
	}
	return k, nil
}

// Request returns an authentic request of provider carrying body, signed at
// now. variant is the Tiki kind or the APIGift event slug ("" for APIGift's
// generic route); other providers ignore it.
func (k Keys) Request(provider, variant string, body []byte, now time.Time) (samples.Request, error) {
	r := samples.Request{Name: provider, Body: body, Headers: map[string]string{}}
	switch provider {
	case tiki.Name:
		key := map[string]string{tiki.KindOrder: k.Tiki.Order, tiki.KindStock: k.Tiki.Stock, tiki.KindAftersale: k.Tiki.Aftersale}[variant]
		if key == "" {
			return r, fmt.Errorf("signer: no Tiki key for kind %q", variant)
		}
		r.RouteKey, r.Path = "POST /webhooks/tiki/{kind}", "/webhooks/tiki/"+variant
		r.PathParams = map[string]string{"kind": variant}
		r.Headers[tiki.SignatureHeader] = tiki.Sign(key, body)
	case apigift.Name:
		r.PathParams = map[string]string{"token": k.APIGiftToken}
		r.RouteKey, r.Path = "POST /webhooks/apigift/{token}", "/webhooks/apigift/"+k.APIGiftToken
		if variant != "" {
			r.PathParams["event"] = variant
			r.RouteKey, r.Path = "POST /webhooks/apigift/{token}/{event}", r.Path+"/"+variant
		}
	case "alchemypay":
		r.RouteKey, r.Path = "POST /webhooks/alchemypay/{token}", "/webhooks/alchemypay/"+k.AlchemyPayToken
		r.PathParams = map[string]string{"token": k.AlchemyPayToken}
	case "oslpay":
		h, err := oslpay.SignedHeaders(k.OSLKey, k.OSLHash, k.OSLAppID, now)
		if err != nil {
			return r, err
		}
		r.RouteKey, r.Path = "POST /webhooks/oslpay", "/webhooks/oslpay"
		for name, v := range h {
			r.Headers[name] = v
		}
	default:
		return r, fmt.Errorf("signer: unknown provider %q", provider)
	}
	return r, nil
}
