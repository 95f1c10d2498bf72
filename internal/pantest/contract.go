package pantest

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// What docs/CONTRACT.md §5 ("Kept as sent, and only these") keeps as sent in
// the data of each event type, written here from the contract and not from
// the providers' code: a full card number may survive only there.

// contractIDs are the top-level members each event type keeps as sent when
// their value is a scalar (a string, number, true, false or null).
var contractIDs = map[string][]string{
	"tiki.order.status_changed":            {"order_code"},
	"tiki.stock.changed":                   {"sku", "warehouse", "qty_salable"},
	"tiki.aftersale.status_changed":        {"order_code"},
	"apigift.sell_review_request.created":  {"sourceOrderNumber"},
	"apigift.support_ticket.updated":       {"supportTicketId"},
	"apigift.order_invoice.status_changed": {"orderId", "status", "price"},
	"apigift.product.status_changed":       {"id", "status", "price"},
	"apigift.inventory_item.delivered":     {"inventoryId", "takeoutInventoryId"},
	"apigift.inventory_item.refunded":      {"inventoryId"},
	"apigift.deposit.status_changed":       nil,
	"alchemypay.card_order.status_changed": {"orderNo", "cardId"},
	"oslpay.order.status_changed":          {"orderId"},
	"oslpay.kyc.status_changed":            {"userId"},
	"oslpay.defi_account.bind_status":      {"userId"},
	"oslpay.defi_account.auth_status":      {"userId"},
}

// contractTimes are the documented time fields each event type keeps as
// sent when their value is a valid time in the provider's documented layout.
var contractTimes = map[string]map[string]func(string) bool{
	"tiki.order.status_changed":            {"date": tikiDate},
	"tiki.stock.changed":                   {"date": tikiDate},
	"tiki.aftersale.status_changed":        {"date": tikiDate},
	"alchemypay.card_order.status_changed": {"orderTime": alchemyPayTime},
	"oslpay.order.status_changed":          oslOrderTimes,
	"oslpay.kyc.status_changed":            {"updateTime": oslMillis},
	"oslpay.defi_account.bind_status":      {"updateTime": oslMillis},
	"oslpay.defi_account.auth_status":      {"updateTime": oslMillis},
}

var oslOrderTimes = map[string]func(string) bool{
	"updateTime": oslMillis, "createTime": oslMillis, "completedTime": oslMillis, "chainArrivalTime": oslMillis,
}

// tikiDate: RFC 3339 to the second, without a fraction ("2022-10-26T14:22:05+07:00", "...Z").
func tikiDate(s string) bool {
	if len(s) != len("2006-01-02T15:04:05Z") && len(s) != len("2006-01-02T15:04:05+07:00") {
		return false
	}
	_, err := time.Parse(time.RFC3339, s)
	return err == nil && !strings.Contains(s, ".")
}

// alchemyPayTime: "2024-08-09 15:11:09".
func alchemyPayTime(s string) bool {
	const layout = "2006-01-02 15:04:05"
	_, err := time.Parse(layout, s)
	return err == nil && len(s) == len(layout)
}

// oslMillis: epoch milliseconds, 13 ASCII digits, from 2000 to 2089.
func oslMillis(s string) bool {
	if len(s) != 13 || strings.Trim(s, "0123456789") != "" {
		return false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n >= time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli() && n < time.Date(2090, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
}

// aesCiphertext: what can decrypt as APIGift's goods (AES-CBC): standard
// base64 of whole 16-byte blocks. The contract keeps the ciphertext only
// when it decrypts under the secret; this reader holds no key, and keeps no
// more than that shape (a card number sent under that name is not it).
func aesCiphertext(s string) bool {
	b, err := base64.StdEncoding.DecodeString(s)
	return err == nil && len(b) > 0 && len(b)%16 == 0
}

func scalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

// Contract returns what the contract keeps as sent in data, the data of an
// event of type eventType (a JSON object): as stored (queued false) or as
// queued (true: an APIGift delivery's decrypted goods, virtualCollections,
// travel in the message, and are not checked for card numbers). An OSL Pay
// type the contract does not name keeps orderId, or userId when it is the
// subject (no orderId that is a string other than blanks), and the times of
// the event it then is.
func Contract(eventType string, data []byte, queued bool) Kept {
	ids, times := contractIDs[eventType], contractTimes[eventType]
	if _, named := contractIDs[eventType]; !named && strings.HasPrefix(eventType, "oslpay.") {
		var m map[string]any
		_ = json.Unmarshal(data, &m)
		nonBlank := func(k string) bool { s, ok := m[k].(string); return ok && strings.TrimSpace(s) != "" }
		switch {
		case nonBlank("orderId"):
			ids, times = []string{"orderId"}, oslOrderTimes
		case nonBlank("userId"):
			ids, times = []string{"userId"}, map[string]func(string) bool{"updateTime": oslMillis}
		}
	}
	delivery := eventType == "apigift.inventory_item.delivered"
	return func(name string, v any) bool {
		for _, id := range ids {
			if name == id {
				return scalar(v)
			}
		}
		s, isString := v.(string)
		if f := times[name]; f != nil {
			return isString && f(s)
		}
		switch {
		case delivery && name == "encryptedVirtualCollections":
			return isString && aesCiphertext(s)
		case delivery && queued && name == "virtualCollections":
			return true // the goods: the merchandise, not a customer's payment data
		}
		return false
	}
}
