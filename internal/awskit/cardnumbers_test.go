package awskit

import (
	"strings"
	"testing"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"webhooks/internal/devkit"
	"webhooks/internal/devkit/alchemypaydev"
	"webhooks/internal/devkit/apigiftdev"
	"webhooks/internal/devkit/oslpaydev"
	"webhooks/internal/devkit/tikidev"
)

func numbers(leaks []Leak) string {
	var out []string
	for _, l := range leaks {
		out = append(out, l.Number)
	}
	return strings.Join(out, ",")
}

func sAttr(v string) ddb.AttributeValue { return &ddb.AttributeValueMemberS{Value: v} }

// The scanners read what the contract keeps (the kits' Kept), and only that,
// as letters; system ids and digests too; everything else is searched, in
// any script.
func TestLeakScanners(t *testing.T) {
	const eventID = "0123456789abcdef0123456789abcdef"
	item := func(typ, subject, data string) map[string]ddb.AttributeValue {
		return map[string]ddb.AttributeValue{
			"pk": sAttr("alchemypay#" + eventID), "sk": sAttr("event"), "event_id": sAttr(eventID), "type": sAttr(typ),
			"subject": sAttr(subject), "data": sAttr(data), "received_at": sAttr("2026-01-02T03:04:05.123Z"), "status": sAttr("queued"),
			"data_sha256": sAttr("4111111111111111111111111111111111111111111111111111111111111a2b"),
			"expires_at":  &ddb.AttributeValueMemberN{Value: "1767323045"},
		}
	}
	for _, c := range []struct {
		name string
		kit  devkit.Kit
		it   map[string]ddb.AttributeValue
		want string
	}{
		{"kept ids and a kept time", alchemypaydev.Kit, item("alchemypay.card_order.status_changed", "4111111111111111",
			`{"orderNo":"4111111111111111","cardId":"4111 1111 1111 1111","orderTime":"2024-08-09 15:11:19","cardNumber":"411111******1111"}`), ""},
		{"a time in another layout is not kept", alchemypaydev.Kit, item("alchemypay.card_order.status_changed", "o1",
			`{"orderNo":"o1","orderTime":"2024-08-09 15:11:19 "}`), "20240809151119"},
		{"free text, other scripts", alchemypaydev.Kit, item("alchemypay.card_order.status_changed", "o1",
			`{"orderNo":"o1","failReason":"card ٤١١١ ١١١١ ١١١١ ١١١١ declined"}`), "4111111111111111"},
		{"an object under a kept name", alchemypaydev.Kit, item("alchemypay.card_order.status_changed", "o1",
			`{"orderNo":{"n":"4111111111111111"}}`), "4111111111111111"},
		{"userId is not kept on an OSL Pay order", oslpaydev.Kit, item("oslpay.order.status_changed", "O1",
			`{"orderId":"O1","userId":"4111111111111111"}`), "4111111111111111"},
		{"an undocumented OSL Pay type keeps its subject's id", oslpaydev.Kit, item("oslpay.wallet_freeze", "4111111111111111",
			`{"userId":"4111111111111111","note":"x"}`), ""},
		{"a subject not kept", alchemypaydev.Kit, item("alchemypay.card_order.status_changed", "4111-1111-1111-1111",
			`{"orderNo":"o1"}`), "4111111111111111"},
		{"Tiki's stock subject", tikidev.Kit, item("tiki.stock.changed", "sgn/1377286379376",
			`{"sku":"1377286379376","warehouse":"sgn","qty_salable":1}`), ""},
	} {
		c.it["pk"] = sAttr(c.kit.Name + "#" + eventID) // the item's provider is the kit's
		if got := numbers(ItemLeaks(c.kit, c.it)); got != c.want {
			t.Errorf("%s: found %q, want %q", c.name, got, c.want)
		}
	}
	// A planted number is found whether or not it passes the Luhn check.
	if got := numbers(ItemLeaks(alchemypaydev.Kit, item("alchemypay.card_order.status_changed", "o1", `{"orderNo":"o1","x":"5554 7488 0091 2345"}`), "5554748800912345")); got != "5554748800912345" {
		t.Errorf("planted: %q", got)
	}
	// Messages: the decrypted goods of a delivery travel unmasked.
	body := `{"specversion":"1.0","id":"` + eventID + `","source":"webhooks/apigift","type":"apigift.inventory_item.delivered","subject":"i1","time":"2026-01-02T03:04:05.000Z","datacontenttype":"application/json","data":{"takeoutInventoryId":"t1","inventoryId":"i1","virtualCollections":[{"code":"4111111111111111"}],"note":"%s"}}`
	m := Message{MessageID: "m1", GroupID: "i1", DeduplicationID: eventID, Attributes: map[string]string{"provider": "apigift"}}
	m.Body = strings.Replace(body, "%s", "ok", 1)
	if got := numbers(MessageLeaks(apigiftdev.Kit, m)); got != "" {
		t.Errorf("goods: %q", got)
	}
	m.Body = strings.Replace(body, "%s", "card 4111111111111111", 1)
	if got := numbers(MessageLeaks(apigiftdev.Kit, m)); got != "4111111111111111" {
		t.Errorf("free text in a message: %q", got)
	}
	m.Body, m.GroupID = strings.Replace(body, "%s", "ok", 1), "4111111111111111"
	if got := numbers(MessageLeaks(apigiftdev.Kit, m)); got != "4111111111111111" {
		t.Errorf("group: %q", got)
	}
	// Logs: system members and ids are letters; anything else is read.
	logs := `{"time":"2026-01-02T03:04:05Z","eventId":"` + eventID + `","requestId":"41111111-1111-1111-1111-11111111111a","_aws":{"Timestamp":1723187479007}}
REPORT RequestId: 8f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f Duration: 1.23 ms
{"msg":"x","error":"card ４１１１１１１１１１１１１１１１"}
{"msg":"queued but not marked","error":"update oslpay#6a77c063fc4789899734310491292a1c: throttled"}
START 4111 1111 1111 1111
`
	if got := numbers(LogLeaks(logs)); got != "4111111111111111,4111111111111111" {
		t.Errorf("logs: %q", got)
	}
	// A kit that does not say what the contract keeps is an error, never "nothing kept".
	if l := ItemLeaks(devkit.Kit{}, item("x.y", "s", `{"a":1}`)); len(l) != 1 || l[0].Number != "" {
		t.Errorf("a kit without Kept: %v", l)
	}
}
