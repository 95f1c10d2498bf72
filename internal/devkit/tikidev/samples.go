package tikidev

import (
	"encoding/json"
	"fmt"
	"webhooks/internal/devkit"

	"webhooks/shared/providers/tiki"
)

func samples(_ string, dev devkit.DevSecrets) ([]devkit.Sample, error) {
	var sec tiki.Secret
	if err := json.Unmarshal(dev[tiki.Name], &sec); err != nil {
		return nil, fmt.Errorf("tiki dev secret: %w", err)
	}
	keys := map[string]string{tiki.KindOrder: sec.Order, tiki.KindStock: sec.Stock, tiki.KindAftersale: sec.Aftersale}
	req := func(name, kind, body, signature string, b64 bool) devkit.Sample {
		if signature == "" {
			signature = tiki.Sign(keys[kind], []byte(body))
		}
		h := map[string]string{}
		if signature != "-" {
			h["x-signature"] = signature
		}
		return devkit.HTTPEvent(devkit.Request{
			Name: name, RouteKey: "POST /webhooks/tiki/{kind}", Path: "/webhooks/tiki/" + kind,
			PathParams: map[string]string{"kind": kind}, Headers: h, Body: []byte(body), Base64: b64,
		})
	}
	const (
		order     = `{"data":{"date":"2022-10-26T14:22:05+07:00","ref_code":"TR22","order_code":"347171821","main_state":"processing","main_substate":"ready_for_pickup"}}`
		canceled  = `{"data":{"date":"2022-10-27T09:10:00+07:00","ref_code":"TR22","order_code":"347171821","main_state":"canceled","main_substate":"canceled","extra_info":{"cancel_reason_code":"customer_request","cancel_reason":"Customer changed their mind"}}}`
		failed    = `{"data":{"date":"2022-10-28T11:00:00+07:00","ref_code":"TR23","order_code":"347171999","main_state":"delivery","main_substate":"failed_delivery","reason":"Customer not at home","reason_code":"not_at_home"}}`
		stock     = `{"data":{"date":"2023-05-15T15:36:37+07:00","sku":"1377286379376","warehouse":"sgn","qty_salable":60,"seller_product_code":"HOB-8735"}}`
		aftersale = `{"data":{"date":"2023-06-01T10:00:00+07:00","ref_code":"FD123456","order_code":"347171821","status":"approved","type":"fd"}}`
		cr        = `{"data":{"date":"2023-06-02T16:30:00+07:00","ref_code":"CR987654","order_code":"347171822","status":"received","type":"cr"}}`
	)
	out := []devkit.Sample{
		req("order-processing", tiki.KindOrder, order, "", false),
		req("order-canceled", tiki.KindOrder, canceled, "", false),
		req("order-failed-delivery", tiki.KindOrder, failed, "", false),
		req("order-base64-body", tiki.KindOrder, `{"data":{"date":"2022-10-29T08:00:00+07:00","ref_code":"TR24","order_code":"347172000","main_state":"processing","main_substate":"picking"}}`, "", true),
		req("stock-changed", tiki.KindStock, stock, "", false),
		req("aftersale-fd", tiki.KindAftersale, aftersale, "", false),
		req("aftersale-cr", tiki.KindAftersale, cr, "", false),
		// Rejected: not authentic.
		req("invalid-signature", tiki.KindOrder, order, "sha1=0000000000000000000000000000000000000000", false),
		req("invalid-missing-signature", tiki.KindOrder, order, "-", false),
		req("invalid-wrong-kind-secret", tiki.KindStock, stock, tiki.Sign(sec.Order, []byte(stock)), false),
		req("tampered-body", tiki.KindOrder, `{"data":{"date":"2022-10-26T14:22:05+07:00","ref_code":"TR22","order_code":"347171821","main_state":"delivered","main_substate":"delivered"}}`, tiki.Sign(sec.Order, []byte(order)), false),
		// Rejected: authentic but malformed.
		req("invalid-malformed-json", tiki.KindOrder, `{"data":{"order_code":"347171821",`, "", false),
		req("invalid-missing-order-code", tiki.KindOrder, `{"data":{"date":"2022-10-26T14:22:05+07:00","main_state":"processing"}}`, "", false),
		req("invalid-qty-not-number", tiki.KindStock, `{"data":{"date":"2023-05-15T15:36:37+07:00","sku":"1377286379376","warehouse":"sgn","qty_salable":"sixty"}}`, "", false),
	}
	return out, nil
}
