package oslpaydev

import (
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
	"webhooks/internal/devkit"

	"webhooks/shared/providers/oslpay"
)

// DevKey reads the development private key, events/oslpay/dev-private-key.pem,
// whose public half is the publicKey of the oslpay development secret.
func DevKey(eventsDir string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(filepath.Join(eventsDir, oslpay.Name, "dev-private-key.pem"))
	if err != nil {
		return nil, err
	}
	return oslpay.ParsePrivateKey(b)
}

// Event builds a delivery to /webhooks/oslpay with the given headers.
func Event(name string, headers map[string]string, body []byte) devkit.Sample {
	return devkit.HTTPEvent(devkit.Request{Name: name, RouteKey: "POST /webhooks/oslpay", Path: "/webhooks/oslpay", Headers: headers, Body: body})
}

// Body renders an envelope {"type": kind, "data": data}.
func Body(kind string, data any) []byte {
	b, _ := json.MarshalIndent(map[string]any{"type": kind, "data": data}, "", "  ")
	return b
}

// Order is an order_status_change data object in the seed's shape.
func Order(appID, orderID, state string, overrides map[string]any) map[string]any {
	m := map[string]any{
		"merchantOrderId": "M-" + orderID, "orderId": orderID, "userId": "U20241100042", "fiatCurrency": "HKD",
		"cryptoCurrency": "USDT", "fiatAmount": "780.00", "cryptoAmount": "99.35", "orderFee": "3.90", "price": "7.8120",
		"payWayCode": "CARD", "state": state, "createTime": "1793520000000", "updateTime": "1793520000000",
		"network": "TRX", "address": "TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeL", "tag": "", "merchantUser": "merchant-user-42",
		"actualReceivedAmount": "99.35", "orderCallBackUrl": "https://merchant.example/webhooks/oslpay",
		"privateSecret": "dev-app-private-secret-do-not-store", "appid": appID,
	}
	for k, v := range overrides {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	return m
}

func samples(eventsDir string, dev devkit.DevSecrets) ([]devkit.Sample, error) {
	var sec struct {
		AppID     string `json:"appId"`
		PublicKey string `json:"publicKey"`
		Hash      string `json:"hash"`
	}
	if err := json.Unmarshal(dev[oslpay.Name], &sec); err != nil || sec.AppID == "" {
		return nil, fmt.Errorf("oslpay dev secret: needs an appId (%v)", err)
	}
	priv, err := DevKey(eventsDir)
	if err != nil {
		return nil, fmt.Errorf("oslpay dev key: %w", err)
	}
	pub, err := oslpay.ParsePublicKey(sec.PublicKey)
	if err != nil || !pub.Equal(&priv.PublicKey) {
		return nil, errors.New("oslpay: dev-private-key.pem does not match the publicKey of the dev secret")
	}
	h, err := oslpay.ParseHash(sec.Hash)
	if err != nil {
		return nil, err
	}
	app := sec.AppID
	// Every sample is signed at its own millisecond: a signed appId/timestamp pair
	// may carry one body only.
	n := 0
	at := func() time.Time { n++; return devkit.SampleTime.Add(time.Duration(n) * time.Second) }
	signed := func(appID string, t time.Time) map[string]string {
		hd, err2 := oslpay.SignedHeaders(priv, h, appID, t)
		if err2 != nil && err == nil {
			err = err2
		}
		return hd
	}
	without := func(hd map[string]string, name string) map[string]string {
		delete(hd, name)
		return hd
	}
	const orderID = "OSL202411010001"
	processing := Body(oslpay.KindOrderStatus, Order(app, orderID, "PROCESSING", map[string]any{
		"threeDsRedirectUrl": "https://3ds.example/challenge/abc",
	}))
	processingHeaders := signed(app, at())
	forged := signed(app, at())
	sig, _ := base64.StdEncoding.DecodeString(forged[oslpay.HeaderSignature])
	sig[len(sig)/2] ^= 0x01
	forged[oslpay.HeaderSignature] = base64.StdEncoding.EncodeToString(sig)
	otherTS := signed(app, at())
	otherTS[oslpay.HeaderTimestamp] = strconv.FormatInt(devkit.SampleTime.Add(-time.Hour).UnixMilli(), 10)
	notNumeric := map[string]string{oslpay.HeaderAppID: app, oslpay.HeaderTimestamp: "2026-11-01T08:00:00Z"}
	{
		d := h.New()
		d.Write([]byte(oslpay.SignedString(app, notNumeric[oslpay.HeaderTimestamp])))
		s, err2 := rsa.SignPKCS1v15(nil, priv, crypto.Hash(h), d.Sum(nil))
		if err2 != nil {
			return nil, err2
		}
		notNumeric[oslpay.HeaderSignature] = base64.StdEncoding.EncodeToString(s)
	}
	badB64 := signed(app, at())
	badB64[oslpay.HeaderSignature] = "%%not*base64%%"
	foreignOrder := Order("foreign-oslpay-app", "OSL202411019999", "COMPLETED", map[string]any{"txId": "0xforeign"})

	out := []devkit.Sample{
		// Accepted.
		Event("order-processing", processingHeaders, processing),
		Event("order-completed", signed(app, at()), Body(oslpay.KindOrderStatus, Order(app, orderID, "COMPLETED", map[string]any{
			"updateTime": "1793520300000", "completedTime": "1793520300000", "txId": "9f2c6a1e5b7d4c3a8e0f1b2d3c4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6",
			"networkFee": "1", "chainArrivalTime": "1793520290000",
		}))),
		Event("order-createed", signed(app, at()), Body(oslpay.KindOrderStatus, Order(app, "OSL202411010002", "CREATEED", map[string]any{"appid": nil}))),
		Event("order-failed", signed(app, at()), Body(oslpay.KindOrderStatus, Order(app, "OSL202411010003", "FAILED", map[string]any{
			"errorCode": "3DS_FAILED", "errorMessage": "3-D Secure authentication failed",
		}))),
		Event("order-unknown-state", signed(app, at()), Body(oslpay.KindOrderStatus, Order(app, "OSL202411010004", "PARTIALLY_REFUNDED", nil))),
		Event("kyc-status-change", signed(app, at()), Body(oslpay.KindKYCStatus, map[string]any{
			"userId": "U20241100042", "merchantUser": "merchant-user-42", "kycStatus": "APPROVED", "kycLevel": "L2", "updateTime": "1793520000000", "appid": app,
		})),
		Event("defi-account-bind-status", signed(app, at()), Body(oslpay.KindDefiAccountBind, map[string]any{
			"userId": "U20241100042", "bindStatus": "BOUND", "address": "0x52908400098527886E0F7030069857D2E4169EE7", "network": "ETH",
		})),
		Event("defi-account-auth-status", signed(app, at()), Body(oslpay.KindDefiAccountAuth, map[string]any{
			"userId": "U20241100042", "authStatus": "AUTHORIZED", "privateSecret": "dev-app-private-secret-do-not-store",
		})),
		Event("unknown-type", signed(app, at()), Body("wallet_freeze_status", map[string]any{
			"userId": "U20241100042", "freezeStatus": "FROZEN", "reason": "manual review",
		})),
		Event("unknown-type-unsafe-characters", signed(app, at()), Body("Risk.Alert v2!", map[string]any{
			"orderId": "OSL202411010005", "level": 3,
		})),
		// Rejected: not authentic.
		Event("invalid-forged-signature", forged, processing),
		Event("invalid-signature-for-other-timestamp", otherTS, processing),
		Event("invalid-signature-not-base64", badB64, processing),
		Event("invalid-missing-signature", without(signed(app, at()), oslpay.HeaderSignature), processing),
		Event("invalid-missing-timestamp", without(signed(app, at()), oslpay.HeaderTimestamp), processing),
		Event("invalid-missing-app-id", without(signed(app, at()), oslpay.HeaderAppID), processing),
		Event("invalid-timestamp-not-numeric", notNumeric, processing),
		// More than the development tolerance (10 years) before and after devkit.SampleTime.
		Event("invalid-stale-timestamp", signed(app, time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)), processing),
		Event("invalid-future-timestamp", signed(app, time.Date(2060, 1, 1, 0, 0, 0, 0, time.UTC)), processing),
		// Validly signed by the development key, but for another merchant's appId.
		Event("invalid-foreign-app-id", signed("foreign-oslpay-app", at()), Body(oslpay.KindOrderStatus, foreignOrder)),
		// Our headers, another merchant's body.
		Event("invalid-foreign-body-appid", signed(app, at()), Body(oslpay.KindOrderStatus, foreignOrder)),
		// The headers captured from order-processing with a new body (another
		// merchant's order): rejected whether or not order-processing came first.
		// (A new body for our own appId is rejected only once the captured
		// delivery has been seen; see the integration tests.)
		Event("tampered-captured-headers-foreign-body", processingHeaders, Body(oslpay.KindOrderStatus, foreignOrder)),
		// Rejected: authentic but malformed.
		Event("invalid-malformed-json", signed(app, at()), []byte(`{"type":"order_status_change","data":{"orderId":`)),
		Event("invalid-missing-type", signed(app, at()), []byte(`{"data":{"orderId":"OSL202411010006","state":"PROCESSING"}}`)),
		Event("invalid-missing-order-id", signed(app, at()), Body(oslpay.KindOrderStatus, Order(app, "x", "PROCESSING", map[string]any{"orderId": nil}))),
		Event("invalid-data-not-object", signed(app, at()), []byte(`{"type":"order_status_change","data":"OSL202411010007"}`)),
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}
