// Package signer builds authentic webhook requests for any provider, the way
// each provider signs or addresses them: used by the soak and load runs, the
// CLI and tests. Local tooling only; never deployed.
package signer

import (
	"crypto"
	"crypto/rsa"
	"encoding/json"
	"errors"
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
	// APIGiftSendSecretKey also sends the account's secretKey in the
	// secret-key header, as APIGift may.
	APIGiftSendSecretKey bool
	AlchemyPayToken      string
	OSLAppID             string
	OSLKey               *rsa.PrivateKey
	OSLHash              crypto.Hash
}

// FromSecrets reads the keys of the providers present in secrets (each in its
// Secrets Manager shape, as in DESIGN.md); oslKeyPEM is OSL Pay's private key,
// needed only when secrets has an oslpay entry.
func FromSecrets(secrets map[string]json.RawMessage, oslKeyPEM []byte) (Keys, error) {
	var k Keys
	if raw, ok := secrets[tiki.Name]; ok {
		if err := json.Unmarshal(raw, &k.Tiki); err != nil {
			return k, fmt.Errorf("tiki secret: %w", err)
		}
	}
	if raw, ok := secrets[apigift.Name]; ok {
		var s struct{ SecretKey, URLToken string }
		if err := json.Unmarshal(raw, &s); err != nil {
			return k, fmt.Errorf("apigift secret: %w", err)
		}
		k.APIGiftToken, k.APIGiftSecretKey = s.URLToken, s.SecretKey
	}
	if raw, ok := secrets["alchemypay"]; ok {
		var s struct{ URLToken string }
		if err := json.Unmarshal(raw, &s); err != nil {
			return k, fmt.Errorf("alchemypay secret: %w", err)
		}
		k.AlchemyPayToken = s.URLToken
	}
	if raw, ok := secrets["oslpay"]; ok {
		var s struct {
			AppID string `json:"appId"`
			Hash  string `json:"hash"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return k, fmt.Errorf("oslpay secret: %w", err)
		}
		h, err := oslpay.ParseHash(s.Hash)
		if err != nil {
			return k, fmt.Errorf("oslpay secret: %w", err)
		}
		if k.OSLKey, err = oslpay.ParsePrivateKey(oslKeyPEM); err != nil {
			return k, err
		}
		k.OSLAppID, k.OSLHash = s.AppID, h
	}
	return k, nil
}

// DevKeys reads the development secrets (events/dev-secrets.json) and the OSL
// Pay development private key (events/oslpay/dev-private-key.pem).
func DevKeys(eventsDir string) (Keys, error) {
	dev, err := samples.LoadDevSecrets(eventsDir)
	if err != nil {
		return Keys{}, err
	}
	pemText, err := os.ReadFile(filepath.Join(eventsDir, "oslpay", "dev-private-key.pem"))
	if err != nil {
		return Keys{}, err
	}
	return FromSecrets(dev, pemText)
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
		if k.APIGiftToken == "" {
			return r, errors.New("signer: no APIGift urlToken")
		}
		r.PathParams = map[string]string{"token": k.APIGiftToken}
		r.RouteKey, r.Path = "POST /webhooks/apigift/{token}", "/webhooks/apigift/"+k.APIGiftToken
		if variant != "" {
			r.PathParams["event"] = variant
			r.RouteKey, r.Path = "POST /webhooks/apigift/{token}/{event}", r.Path+"/"+variant
		}
		if k.APIGiftSendSecretKey {
			if k.APIGiftSecretKey == "" {
				return r, errors.New("signer: no APIGift secretKey to send")
			}
			r.Headers[apigift.SecretKeyHeader] = k.APIGiftSecretKey
		}
	case "alchemypay":
		if k.AlchemyPayToken == "" {
			return r, errors.New("signer: no Alchemy Pay urlToken")
		}
		r.RouteKey, r.Path = "POST /webhooks/alchemypay/{token}", "/webhooks/alchemypay/"+k.AlchemyPayToken
		r.PathParams = map[string]string{"token": k.AlchemyPayToken}
	case "oslpay":
		if k.OSLAppID == "" || k.OSLKey == nil {
			return r, errors.New("signer: no OSL Pay appId or private key")
		}
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
