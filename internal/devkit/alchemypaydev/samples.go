package alchemypaydev

import (
	"encoding/json"
	"fmt"
	"webhooks/internal/devkit"

	"webhooks/shared/providers/alchemypay"
)

// Order is the seed's example body with some fields replaced.
func Order(overrides map[string]any) []byte {
	m := map[string]any{
		"applyFee": "0", "cardAmount": "55", "cardCurrency": "EUR", "cardId": "1232330814012345678",
		"cardNumber": "5554748800912345", "cardType": "2", "cryptoAddress": "", "cryptoCurrency": "USDT",
		"cryptoCurrencyExchangeRate": "1", "currencyExchangeRate": "1.092759", "deliveryFee": "0",
		"email": "[email protected]", "failReason": "", "network": "TRX", "orderAmount": "61.91",
		"orderNo": "100217231874691123456", "orderTime": "2024-08-09 15:11:09", "orderType": "2",
		"paymentAmount": "61.91", "rechargeFee": "0.72122094", "rechargeMarkup": "0.99", "status": "SUCCESS",
		"voucherCode": "",
	}
	for k, v := range overrides {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	return b
}

// Event builds a delivery to /webhooks/alchemypay/{token}.
func Event(name, token string, body []byte) devkit.Sample {
	return devkit.HTTPEvent(devkit.Request{
		Name: name, RouteKey: "POST /webhooks/alchemypay/{token}", Path: "/webhooks/alchemypay/" + token,
		PathParams: map[string]string{alchemypay.TokenParam: token}, Body: body,
	})
}

func samples(_ string, dev devkit.DevSecrets) ([]devkit.Sample, error) {
	var sec struct {
		URLToken string `json:"urlToken"`
	}
	if err := json.Unmarshal(dev[alchemypay.Name], &sec); err != nil || sec.URLToken == "" {
		return nil, fmt.Errorf("alchemypay dev secret: needs a urlToken (%v)", err)
	}
	tok := sec.URLToken
	virtual := map[string]any{
		"orderNo": "100217231874691200001", "orderType": "1", "cardType": "1", "cardNumber": "4111111111111111",
		"cardId": "1232330814012340001", "cardCurrency": "USD", "cardAmount": "0", "applyFee": "5",
		"currencyExchangeRate": "1", "orderAmount": "5", "paymentAmount": "5", "rechargeFee": "0", "rechargeMarkup": "0",
		"orderTime": "2024-08-10 09:00:00", "network": "ETH", "cryptoAddress": "0x52908400098527886E0F7030069857D2E4169EE7",
	}
	with := func(base map[string]any, kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	return []devkit.Sample{
		// Accepted.
		Event("recharge-success", tok, Order(nil)),
		Event("recharge-fail", tok, Order(map[string]any{
			"orderNo": "100217231874691123457", "status": "FAIL", "failReason": "Payment of card 5554 7488 0091 2345 was declined",
		})),
		Event("recharge-cancel", tok, Order(map[string]any{"orderNo": "100217231874691123458", "status": "CANCEL"})),
		Event("create-virtual-card-init", tok, Order(with(virtual, "status", "INIT"))),
		Event("create-virtual-card-success", tok, Order(with(virtual, "status", "SUCCESS"))),
		Event("create-physical-card-refunding", tok, Order(map[string]any{
			"orderNo": "100217231874691200002", "orderType": "1", "cardType": "2", "status": "REFUNDING",
			"cardNumber": "5555-5555-5555-4444", "deliveryFee": "15",
		})),
		// Rejected: not authentic.
		Event("invalid-token", "not-the-configured-token-0000000000", Order(nil)),
		Event("invalid-empty-token", "", Order(nil)),
		// Rejected: authentic but malformed.
		Event("invalid-malformed-json", tok, []byte(`{"orderNo":"100217231874691123456","status":`)),
		Event("invalid-missing-order-no", tok, Order(map[string]any{"orderNo": nil})),
		Event("invalid-missing-status", tok, Order(map[string]any{"status": nil})),
		Event("invalid-order-type-not-string", tok, Order(map[string]any{"orderType": 2})),
		Event("invalid-card-number-not-string", tok, Order(map[string]any{"cardNumber": 5554748800912345})),
	}, nil
}
