package apigiftdev

import (
	"encoding/json"
	"fmt"
	"strings"
	"webhooks/internal/devkit"

	"webhooks/shared/providers/apigift"
)

// Codes are the plaintext goods encrypted into the delivery samples. They
// must reach the queue and nothing else: tests scan storage and logs for them.
var Codes = []string{"AGIFT-7F3K-9QXM-2LPD", "AGIFT-PIN-48213", "STEAM-QW7E-RT9Y-UI3O"}

// QuarantineKey encrypts the sample that cannot be decrypted with the
// development key (accepted with 200, stored as quarantined).
const QuarantineKey = "otherApiGiftAes256Key0123456789x"

func samples(_ string, dev devkit.DevSecrets) ([]devkit.Sample, error) {
	var sec struct {
		SecretKey string `json:"secretKey"`
		URLToken  string `json:"urlToken"`
	}
	if err := json.Unmarshal(dev[apigift.Name], &sec); err != nil {
		return nil, fmt.Errorf("apigift dev secret: %w", err)
	}
	if sec.SecretKey == "" || sec.URLToken == "" {
		return nil, fmt.Errorf("apigift dev secret lacks secretKey or urlToken")
	}
	enc := func(key, plaintext string) (string, error) { return apigift.Encrypt([]byte(key), []byte(plaintext)) }

	type opt struct {
		token   string            // default: the dev token
		headers map[string]string // extra headers
		b64     bool
	}
	req := func(name, slug, body string, o opt) devkit.Sample {
		token := sec.URLToken
		if o.token != "" {
			token = o.token
		}
		route, path := "POST /webhooks/apigift/{token}", "/webhooks/apigift/"+token
		params := map[string]string{"token": token}
		if slug != "" {
			route, path = route+"/{event}", path+"/"+slug
			params["event"] = slug
		}
		return devkit.HTTPEvent(devkit.Request{Name: name, RouteKey: route, Path: path, PathParams: params, Headers: o.headers, Body: []byte(body), Base64: o.b64})
	}

	ctJSON, err := enc(sec.SecretKey, `[{"code":"`+Codes[0]+`","pin":"`+Codes[1]+`"}]`)
	if err != nil {
		return nil, err
	}
	ctText, err := enc(sec.SecretKey, Codes[2])
	if err != nil {
		return nil, err
	}
	ctB64, err := enc(sec.SecretKey, `{"codes":["`+Codes[0]+`"]}`)
	if err != nil {
		return nil, err
	}
	ctHeader, err := enc(sec.SecretKey, `["`+Codes[1]+`"]`)
	if err != nil {
		return nil, err
	}
	ctWrongKey, err := enc(QuarantineKey, `[{"code":"`+Codes[2]+`"}]`)
	if err != nil {
		return nil, err
	}
	delivered := func(takeout, inventory, ct string) string {
		return `{"takeoutInventoryId":"` + takeout + `","inventoryId":"` + inventory + `","entryPrice":25.50,"encryptedVirtualCollections":"` + ct + `","deliveryKey":"TKO-20250720-ABCD1234","productId":"e69a7f45-6e39-4e12-8ad6-dad09397d72d"}`
	}
	// One character of the token changed.
	tampered := []byte(sec.URLToken)
	tampered[len(tampered)-1] ^= 1

	const (
		sellReview = `{"source":"Marketplace","sourceOrderNumber":"ORD-458236","requestDescription":"The product was not as described."}`
		ticket     = `{"supportTicketId":"b3f32b90-89b1-4636-85d0-e5f9a12e06b4","underMediationChanged":true,"closed":false,"newReply":{"replyId":"693eb7a2-07b9-4ab4-afe0-2b07a2c5d841","createAt":"2025-07-20T15:04:12Z","text":"Can you provide more details about the issue?","replier":"Mediation","attachmentUrls":["https://cdn.example.com/replies/abc123.jpg"]}}`
		invoice    = `{"orderId":"b3c09d58-6ac6-4b20-9286-601c1d62f4e2","status":1,"price":47.99}`
		product    = `{"id":"fa29855a-5d0e-4e2e-b7c7-120cb98c19fb","price":39.99,"status":1}`
		refunded   = `{"inventoryId":"f71c2b48-82b9-48de-9a94-3db452cd1733"}`
	)
	out := []devkit.Sample{
		// Every event on its own route (/webhooks/apigift/{token}/{event}).
		req("sell-review-request-created", "sell-review-request-created", sellReview, opt{}),
		req("support-ticket-updated", "support-ticket-updated", ticket, opt{}),
		req("order-invoice-status-changed", "order-invoice-status-changed", invoice, opt{}),
		req("product-status-changed", "product-status-changed", product, opt{}),
		req("inventory-item-delivered", "inventory-item-delivered", delivered("21f2d0c8-7a4d-4ea9-bd7c-34df10b38d1a", "9a4b7b3e-6f5c-4d94-a087-d11e6c8754f7", ctJSON), opt{}),
		req("inventory-item-refunded", "inventory-item-refunded", refunded, opt{}),
		req("deposit-status-changed-deprecated", "deposit-status-changed", `{"depositId":"dep-20250720-0001","status":2,"amount":100.00}`, opt{}),
		req("deposit-status-changed-deprecated-empty", "deposit-status-changed", `{}`, opt{}),

		// Every event on the generic route (/webhooks/apigift/{token}), recognised from its fields.
		req("inferred-sell-review-request-created", "", `{"source":null,"sourceOrderNumber":null,"requestDescription":"Code already redeemed."}`, opt{}),
		req("inferred-support-ticket-updated", "", `{"supportTicketId":"0c5d1a4e-2f61-4c1e-9d8b-7a2f3e4b5c6d","underMediationChanged":false,"closed":true,"newReply":null}`, opt{}),
		req("inferred-order-invoice-status-changed", "", `{"orderId":"5e8f1c2a-3b4d-4e6f-8a9b-0c1d2e3f4a5b","status":4,"price":19.90}`, opt{}),
		req("inferred-product-status-changed", "", `{"id":"7d6c5b4a-3928-4716-a5b4-c3d2e1f0a9b8","price":12.00,"status":2}`, opt{}),
		req("inferred-inventory-item-delivered", "", delivered("31a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8", "41b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", ctText), opt{}),
		req("inferred-inventory-item-refunded", "", `{"inventoryId":"9a4b7b3e-6f5c-4d94-a087-d11e6c8754f7"}`, opt{}),

		// Transport and authentication variants that are accepted.
		req("inventory-item-delivered-base64-body", "inventory-item-delivered", delivered("51c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e", "61d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f", ctB64), opt{b64: true}),
		req("inventory-item-delivered-secret-key-header", "inventory-item-delivered", delivered("71e2f3a4-b5c6-4d7e-8f90-1a2b3c4d5e6f", "81f2a3b4-c5d6-4e7f-9a0b-1c2d3e4f5a6b", ctHeader), opt{headers: map[string]string{apigift.SecretKeyHeader: sec.SecretKey}}),

		// Authentic but the ciphertext cannot be decrypted with the configured key:
		// accepted (200) and stored as quarantined, not queued.
		req("quarantined-inventory-item-delivered-wrong-key", "inventory-item-delivered", delivered("91a2b3c4-d5e6-4f7a-8b9c-0d1e2f3a4b5c", "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5e", ctWrongKey), opt{}),
		req("quarantined-inventory-item-delivered-bad-base64", "inventory-item-delivered", delivered("b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5f", "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e60", "not*base64*at*all"), opt{}),

		// Rejected: not authentic (401).
		req("invalid-token", "order-invoice-status-changed", invoice, opt{token: "dev-apigift-not-the-configured-token"}),
		req("tampered-token", "", invoice, opt{token: string(tampered)}),
		req("invalid-secret-key-header", "order-invoice-status-changed", invoice, opt{headers: map[string]string{apigift.SecretKeyHeader: strings.Repeat("x", len(sec.SecretKey))}}),
		req("invalid-empty-secret-key-header", "order-invoice-status-changed", invoice, opt{headers: map[string]string{apigift.SecretKeyHeader: ""}}),
		// Rejected: unknown event slug (404).
		req("invalid-unknown-event-slug", "wallet-topped-up", invoice, opt{}),
		// Rejected: authentic but malformed (400).
		req("invalid-malformed-json", "order-invoice-status-changed", `{"orderId":"b3c09d58-6ac6-4b20-9286-601c1d62f4e2","status":1,`, opt{}),
		req("invalid-not-an-object", "", `[`+invoice+`]`, opt{}),
		req("invalid-unknown-body-shape", "", `{"walletId":"w-1","amount":10}`, opt{}),
		req("invalid-ambiguous-body", "", `{"orderId":"b3c09d58-6ac6-4b20-9286-601c1d62f4e2","status":1,"inventoryId":"f71c2b48-82b9-48de-9a94-3db452cd1733"}`, opt{}),
		req("invalid-missing-field", "order-invoice-status-changed", `{"status":1,"price":47.99}`, opt{}),
		req("invalid-field-type", "order-invoice-status-changed", `{"orderId":"b3c09d58-6ac6-4b20-9286-601c1d62f4e2","status":"1","price":47.99}`, opt{}),
		req("invalid-body-does-not-fit-event", "product-status-changed", refunded, opt{}),
		req("invalid-delivered-missing-ciphertext", "inventory-item-delivered", `{"takeoutInventoryId":"d1e2f3a4-b5c6-4d7e-8f90-1a2b3c4d5e70","inventoryId":"e1f2a3b4-c5d6-4e7f-9a0b-1c2d3e4f5a70"}`, opt{}),
	}
	return out, nil
}
