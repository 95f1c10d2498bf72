package apigift_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
	"webhooks/internal/devkit"
	"webhooks/internal/devkit/apigiftdev"
	"webhooks/shared/pipeline"
	"webhooks/shared/providers/apigift"
)

func TestMain(m *testing.M) { awstest.Main(m) }

const eventsDir = "../../../events"

type devSecretT struct {
	SecretKey string `json:"secretKey"`
	URLToken  string `json:"urlToken"`
}

func devSecret(t *testing.T) (string, devSecretT) {
	t.Helper()
	var s devSecretT
	return awstest.DevSecret(t, eventsDir, apigift.Name, &s), s
}

// secretWith is the dev secret with other fields (a wrong key, an allow-list).
func secretWith(t *testing.T, key string, extra string) string {
	t.Helper()
	_, s := devSecret(t)
	if key == "" {
		key = s.SecretKey
	}
	return `{"secretKey":"` + key + `","urlToken":"` + s.URLToken + `"` + extra + `}`
}

func loadSamples(t *testing.T) map[string]events.APIGatewayV2HTTPRequest {
	t.Helper()
	return awstest.SamplesByName(t, eventsDir, apigift.Name, 25)
}

// What each accepted sample is.
var sampleTypes = map[string]string{
	"sell-review-request-created":                     apigift.TypeSellReviewRequestCreated,
	"support-ticket-updated":                          apigift.TypeSupportTicketUpdated,
	"order-invoice-status-changed":                    apigift.TypeOrderInvoiceStatus,
	"product-status-changed":                          apigift.TypeProductStatus,
	"inventory-item-delivered":                        apigift.TypeInventoryItemDelivered,
	"inventory-item-refunded":                         apigift.TypeInventoryItemRefunded,
	"deposit-status-changed-deprecated":               apigift.TypeDepositStatus,
	"deposit-status-changed-deprecated-empty":         apigift.TypeDepositStatus,
	"inferred-sell-review-request-created":            apigift.TypeSellReviewRequestCreated,
	"inferred-support-ticket-updated":                 apigift.TypeSupportTicketUpdated,
	"inferred-order-invoice-status-changed":           apigift.TypeOrderInvoiceStatus,
	"inferred-product-status-changed":                 apigift.TypeProductStatus,
	"inferred-inventory-item-delivered":               apigift.TypeInventoryItemDelivered,
	"inferred-inventory-item-refunded":                apigift.TypeInventoryItemRefunded,
	"inventory-item-delivered-base64-body":            apigift.TypeInventoryItemDelivered,
	"inventory-item-delivered-secret-key-header":      apigift.TypeInventoryItemDelivered,
	"quarantined-inventory-item-delivered-wrong-key":  apigift.TypeInventoryItemDelivered,
	"quarantined-inventory-item-delivered-bad-base64": apigift.TypeInventoryItemDelivered,
}

// What the delivery samples decrypt to, as data.virtualCollections.
var samplePlaintexts = map[string]string{
	"inventory-item-delivered":                   `[{"code":"AGIFT-7F3K-9QXM-2LPD","pin":"AGIFT-PIN-48213"}]`,
	"inferred-inventory-item-delivered":          `"STEAM-QW7E-RT9Y-UI3O"`,
	"inventory-item-delivered-base64-body":       `{"codes":["AGIFT-7F3K-9QXM-2LPD"]}`,
	"inventory-item-delivered-secret-key-header": `["AGIFT-PIN-48213"]`,
}

var rejectStatus = map[string]struct {
	status int
	code   string
}{
	"invalid-token":                        {401, "unauthorized"},
	"tampered-token":                       {401, "unauthorized"},
	"invalid-secret-key-header":            {401, "unauthorized"},
	"invalid-empty-secret-key-header":      {401, "unauthorized"},
	"invalid-unknown-event-slug":           {404, "not_found"},
	"invalid-malformed-json":               {400, "malformed_json"},
	"invalid-not-an-object":                {400, "malformed_json"},
	"invalid-unknown-body-shape":           {400, "unknown_event"},
	"invalid-ambiguous-body":               {400, "unknown_event"},
	"invalid-missing-field":                {400, "missing_field"},
	"invalid-field-type":                   {400, "invalid_field"},
	"invalid-body-does-not-fit-event":      {400, "missing_field"},
	"invalid-delivered-missing-ciphertext": {400, "missing_field"},
}

func isQuarantineSample(name string) bool { return strings.HasPrefix(name, "quarantined-") }

// Every sample file behaves as its name says, against a real AWS API.
func TestSamplesAgainstAWS(t *testing.T) {
	raw, _ := devSecret(t)
	stack := awstest.NewStack(t, apigift.Name, raw)
	h := awstest.Handler(t, stack, apigift.New())
	all := loadSamples(t)
	queued, quarantined := 0, 0
	idByName := map[string]string{}
	for name, ev := range all {
		res := awstest.Invoke(t, h, ev)
		if devkit.MustReject(name) {
			want, ok := rejectStatus[name]
			if !ok {
				t.Errorf("%s: no expectation", name)
				continue
			}
			if res.StatusCode != want.status || awstest.ErrorCode(t, res.Body) != want.code || !strings.Contains(res.Body, `"success":false`) {
				t.Errorf("%s: %d %s, want %d %s", name, res.StatusCode, res.Body, want.status, want.code)
			}
			continue
		}
		if res.StatusCode != 200 || res.Body != `{"success":true}` {
			t.Errorf("%s: %d %s, want 200 {\"success\":true}", name, res.StatusCode, res.Body)
		}
		if want := sampleTypes[name]; want == "" || res.Headers["X-Webhook-Event-Type"] != want {
			t.Errorf("%s: type %q, want %q", name, res.Headers["X-Webhook-Event-Type"], want)
		}
		idByName[name] = res.Headers["X-Webhook-Event-Id"]
		outcome := res.Headers["X-Webhook-Outcome"]
		if isQuarantineSample(name) {
			quarantined++
			if outcome != "quarantined" {
				t.Errorf("%s: outcome %q, want quarantined", name, outcome)
			}
		} else {
			queued++
			if outcome != "accepted" {
				t.Errorf("%s: outcome %q, want accepted", name, outcome)
			}
		}
	}
	if queued < 16 || quarantined != 2 {
		t.Errorf("%d accepted and %d quarantined samples", queued, quarantined)
	}
	items := stack.EventItems(t)
	if len(items) != queued+quarantined {
		t.Errorf("%d items stored, want %d", len(items), queued+quarantined)
	}
	for name, id := range idByName {
		it := items[id]
		wantStatus := "queued"
		if isQuarantineSample(name) {
			wantStatus = "quarantined"
			if r := awskit.Str(it, "reason"); !strings.Contains(r, "encryptedVirtualCollections") {
				t.Errorf("%s: reason %q", name, r)
			}
		}
		if got := awskit.Str(it, "status"); got != wantStatus {
			t.Errorf("%s: status %q, want %s", name, got, wantStatus)
		}
		dep, _ := it["deprecated"].(*ddb.AttributeValueMemberBOOL)
		if wantDep := sampleTypes[name] == apigift.TypeDepositStatus; (dep != nil && dep.Value) != wantDep {
			t.Errorf("%s: deprecated %v, want %v", name, dep, wantDep)
		}
		if sampleTypes[name] == apigift.TypeInventoryItemDelivered && !strings.Contains(awskit.Str(it, "data"), `"encryptedVirtualCollections":"`) {
			t.Errorf("%s: stored data lacks the ciphertext", name)
		}
	}

	msgs := stack.Messages(t)
	if len(msgs) != queued {
		t.Fatalf("%d messages queued, want %d", len(msgs), queued)
	}
	byID := map[string]map[string]any{}
	for _, m := range msgs {
		ce := awstest.CloudEvent(t, m.Body)
		id, _ := ce["id"].(string)
		byID[id] = ce
		if ce["specversion"] != "1.0" || ce["source"] != "webhooks/apigift" || ce["datacontenttype"] != "application/json" {
			t.Errorf("envelope %v", ce)
		}
		if m.DeduplicationID != id || m.GroupID != ce["subject"] {
			t.Errorf("dedup %q group %q, want id %q subject %v", m.DeduplicationID, m.GroupID, id, ce["subject"])
		}
		if m.Attributes["provider"] != "apigift" || m.Attributes["type"] != ce["type"] {
			t.Errorf("attributes %v", m.Attributes)
		}
	}
	for name, id := range idByName {
		ce, ok := byID[id]
		if isQuarantineSample(name) {
			if ok {
				t.Errorf("%s: quarantined event was queued", name)
			}
			continue
		}
		if !ok {
			t.Errorf("%s: not queued", name)
			continue
		}
		if ce["type"] != sampleTypes[name] {
			t.Errorf("%s: type %v", name, ce["type"])
		}
		data, _ := ce["data"].(map[string]any)
		wantSubject := map[string]string{
			apigift.TypeSellReviewRequestCreated: "sourceOrderNumber", apigift.TypeSupportTicketUpdated: "supportTicketId",
			apigift.TypeOrderInvoiceStatus: "orderId", apigift.TypeProductStatus: "id",
			apigift.TypeInventoryItemDelivered: "inventoryId", apigift.TypeInventoryItemRefunded: "inventoryId",
		}[sampleTypes[name]]
		subject, _ := data[wantSubject].(string)
		if subject == "" {
			subject = id // absent or null entity (and the deposit): the event id
		}
		if ce["subject"] != subject {
			t.Errorf("%s: subject %v, want %s", name, ce["subject"], subject)
		}
		if sampleTypes[name] != apigift.TypeInventoryItemDelivered {
			continue
		}
		if _, has := data["encryptedVirtualCollections"]; has {
			t.Errorf("%s: message keeps the ciphertext", name)
		}
		got, _ := json.Marshal(data["virtualCollections"])
		if string(got) != samplePlaintexts[name] {
			t.Errorf("%s: virtualCollections %s, want %s", name, got, samplePlaintexts[name])
		}
	}
	// Numbers and enums as the provider sent them, in the message body itself.
	for _, m := range msgs {
		if strings.Contains(m.Body, `"orderId":"5e8f1c2a`) && !strings.Contains(m.Body, `"status":4,"price":19.90`) {
			t.Errorf("invoice numbers changed: %s", m.Body)
		}
		if strings.Contains(m.Body, `"id":"7d6c5b4a`) && !strings.Contains(m.Body, `"price":12.00,"status":2`) {
			t.Errorf("product numbers changed: %s", m.Body)
		}
	}
	stack.CheckNoCardNumbers(t, apigiftdev.Kit, msgs)
}

// Card numbers planted wherever APIGift's data does not keep them (free
// text, source, deliveryKey, productId, entryPrice, a reply's text and
// attachments, undocumented and nested fields, keys, numbers, the whole of a
// deposit; spaced, dashed, in the digits of other scripts) survive nowhere:
// not in an item (any attribute), a message (body, group, ids, attributes)
// or a log line, read by the reference reader. The Luhn-valid ids the
// contract keeps stay as sent, and a delivery's decrypted goods travel in
// its message as they are.
func TestNoFullCardNumberAnywhere(t *testing.T) {
	raw, sec := devSecret(t)
	stack := awstest.NewStack(t, apigift.Name, raw)
	h := awstest.Handler(t, stack, apigift.New())
	const luhnID = "1002172318746911234" // kept as sent
	ct, err := apigift.Encrypt([]byte(sec.SecretKey), []byte(`[{"code":"GIFT 4111 1111 1111 1111"}]`))
	if err != nil {
		t.Fatal(err)
	}
	deliveries := []struct{ slug, body string }{
		{"sell-review-request-created", `{"sourceOrderNumber":"` + luhnID + `","source":"4111-1111-1111-1111",` +
			`"requestDescription":"my card ٤١١١ ١١١١ ١١١١ ١١١١ was charged twice"}`},
		{"support-ticket-updated", `{"supportTicketId":"T-1","closed":false,"newReply":{"replyId":"r1","text":"５５５５ ５５５５ ５５５５ ４４４４",` +
			`"replier":"4१1١ 1111 ๑๑๑๑ 1111","attachmentUrls":["https://x.example/5555_5555.5555/4444"]}}`},
		{"order-invoice-status-changed", `{"orderId":"` + luhnID + `","status":1,"price":47.99,"note":{"deep":[{"4111 1111 1111 1111":true}]}}`},
		{"product-status-changed", `{"id":"P-1","status":0,"price":10,"supplier":4111111111111111}`},
		{"inventory-item-delivered", `{"takeoutInventoryId":"` + luhnID + `","inventoryId":"I-1","encryptedVirtualCollections":"` + ct + `",` +
			`"entryPrice":4111111111111111,"deliveryKey":"५५५५ ५५५५ ५५५५ ४४४४","productId":"5555-5555-5555-4444","cardNumber":"5554 7488 0091 2345"}`},
		{"inventory-item-refunded", `{"inventoryId":"I-2","reason":"refund to 4111 1111 1111 1111","pan":"5554748800912345","copy":"card 5554-7488-0091-2345"}`},
		{"deposit-status-changed", `{"depositId":"4111111111111111","status":"٥٥٥٥-٥٥٥٥-٥٥٥٥-٤٤٤٤"}`},
	}
	for _, d := range deliveries {
		res := awstest.Invoke(t, h, apigiftEvent(sec.URLToken, d.slug, d.body, nil))
		if res.StatusCode != 200 || res.Headers["X-Webhook-Outcome"] != "accepted" {
			t.Fatalf("%s: %d %s %v", d.body, res.StatusCode, res.Body, res.Headers)
		}
	}
	msgs := stack.Messages(t)
	if len(msgs) != len(deliveries) {
		t.Fatalf("%d messages, want %d", len(msgs), len(deliveries))
	}
	// The goods hold a card number of their own: not webhook payment data,
	// they travel unmasked in the message only (not planted: not looked for).
	stack.CheckNoCardNumbers(t, apigiftdev.Kit, msgs, "5555555555554444", "5554748800912345")
	goods, subjects := false, map[string]bool{}
	for _, m := range msgs {
		ce := awstest.CloudEvent(t, m.Body)
		subjects[ce["subject"].(string)] = true
		goods = goods || strings.Contains(m.Body, `"virtualCollections":[{"code":"GIFT 4111 1111 1111 1111"}]`)
	}
	if !goods {
		t.Error("the delivery's goods are not in its message as decrypted")
	}
	if !subjects[luhnID] {
		t.Errorf("subjects %v: a kept id must stay as sent", subjects)
	}
	for _, it := range stack.Items(t) {
		if strings.Contains(awskit.Str(it, "data"), "GIFT") {
			t.Error("the goods' plaintext is stored")
		}
	}
}

// Every accepted sample delivered three times is enqueued once; the same event on
// the other route form, or re-serialised, is the same event.
func TestDuplicatesAreEnqueuedOnce(t *testing.T) {
	raw, sec := devSecret(t)
	stack := awstest.NewStack(t, apigift.Name, raw)
	h := awstest.Handler(t, stack, apigift.New())
	want := 0
	for name, ev := range loadSamples(t) {
		if devkit.MustReject(name) {
			continue
		}
		if !isQuarantineSample(name) {
			want++
		}
		var ids []string
		for i := 0; i < 3; i++ {
			res := awstest.Invoke(t, h, ev)
			if res.StatusCode != 200 {
				t.Fatalf("%s delivery %d: %d %s", name, i, res.StatusCode, res.Body)
			}
			ids = append(ids, res.Headers["X-Webhook-Event-Id"])
			if i > 0 && res.Headers["X-Webhook-Outcome"] != "duplicate" {
				t.Errorf("%s delivery %d: outcome %q, want duplicate", name, i, res.Headers["X-Webhook-Outcome"])
			}
		}
		if ids[0] == "" || ids[0] != ids[1] || ids[1] != ids[2] {
			t.Errorf("%s: event ids differ across deliveries: %v", name, ids)
		}
	}
	// The slug route's invoice, posted on the generic route and re-serialised.
	body := `{ "price": 47.99, "status": 1, "orderId": "b3c09d58-6ac6-4b20-9286-601c1d62f4e2" }`
	res := awstest.Invoke(t, h, apigiftEvent(sec.URLToken, "", body, nil))
	if res.StatusCode != 200 || res.Headers["X-Webhook-Outcome"] != "duplicate" {
		t.Errorf("same invoice on the generic route: %d %v", res.StatusCode, res.Headers)
	}
	if n := len(stack.Messages(t)); n != want {
		t.Errorf("%d messages, want %d", n, want)
	}
}

// Events without an id or time are states of an entity: a return to an
// earlier state is a new event, an immediate redelivery of the latest state is
// not. Available → Unavailable → Available gives three messages, in order, in
// the entity's message group, each with its own id.
func TestStateEventsKeepEveryTransition(t *testing.T) {
	raw, sec := devSecret(t)
	stack := awstest.NewStack(t, apigift.Name, raw)
	h := awstest.Handler(t, stack, apigift.New())
	for _, c := range []struct {
		slug   string
		bodies []string // delivered in order; a repeat of the previous body is a redelivery
		want   []string // outcome of each delivery
	}{
		{"product-status-changed",
			[]string{`{"id":"p-1","status":0,"price":10}`, `{"id":"p-1","status":2,"price":10}`, `{"id":"p-1","status":0,"price":10}`, `{"id":"p-1","status":0,"price":10}`},
			[]string{"accepted", "accepted", "accepted", "duplicate"}},
		{"order-invoice-status-changed",
			[]string{`{"orderId":"o-1","status":0,"price":5}`, `{"orderId":"o-1","status":0,"price":5}`, `{"orderId":"o-1","status":2,"price":5}`, `{"orderId":"o-1","status":0,"price":5}`},
			[]string{"accepted", "duplicate", "accepted", "accepted"}},
		{"support-ticket-updated",
			[]string{`{"supportTicketId":"t-1","closed":false}`, `{"supportTicketId":"t-1","closed":true}`, `{"supportTicketId":"t-1","closed":false}`, `{"closed":false,"supportTicketId":"t-1"}`},
			[]string{"accepted", "accepted", "accepted", "duplicate"}},
		{"sell-review-request-created",
			[]string{`{"sourceOrderNumber":"s-1","requestDescription":"a"}`, `{"sourceOrderNumber":"s-1","requestDescription":"b"}`, `{"sourceOrderNumber":"s-1","requestDescription":"a"}`, `{"sourceOrderNumber":"s-1","requestDescription":"a"}`},
			[]string{"accepted", "accepted", "accepted", "duplicate"}},
	} {
		t.Run(c.slug, func(t *testing.T) {
			ids := map[string]bool{}
			for i, body := range c.bodies {
				res := awstest.Invoke(t, h, apigiftEvent(sec.URLToken, c.slug, body, nil))
				if res.StatusCode != 200 || res.Headers["X-Webhook-Outcome"] != c.want[i] {
					t.Fatalf("delivery %d %s: %d %s, want %s", i, body, res.StatusCode, res.Headers["X-Webhook-Outcome"], c.want[i])
				}
				ids[res.Headers["X-Webhook-Event-Id"]] = true
			}
			accepted := 0
			for _, w := range c.want {
				if w == "accepted" {
					accepted++
				}
			}
			msgs := stack.Messages(t)
			if len(msgs) != accepted || len(ids) != accepted {
				t.Fatalf("%d messages with %d ids, want %d", len(msgs), len(ids), accepted)
			}
			var got []string
			for _, m := range msgs {
				ce := awstest.CloudEvent(t, m.Body)
				data, _ := json.Marshal(ce["data"])
				got = append(got, string(data))
			}
			var want []string
			for i, b := range c.bodies {
				if c.want[i] == "accepted" {
					var v any
					_ = json.Unmarshal([]byte(b), &v)
					d, _ := json.Marshal(v)
					want = append(want, string(d))
				}
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("messages out of order or wrong:\n got %v\nwant %v", got, want)
			}
		})
	}
	// The same body on the generic route is the same state: a duplicate.
	if res := awstest.Invoke(t, h, apigiftEvent(sec.URLToken, "", `{"id":"p-1","price":10,"status":0}`, nil)); res.Headers["X-Webhook-Outcome"] != "duplicate" {
		t.Errorf("latest product state on the generic route: %v", res.Headers)
	}
}

func apigiftEvent(token, slug, body string, headers map[string]string) events.APIGatewayV2HTTPRequest {
	route, path := "POST /webhooks/apigift/{token}", "/webhooks/apigift/"+token
	p := map[string]string{"token": token}
	if slug != "" {
		route, path = route+"/{event}", path+"/"+slug
		p["event"] = slug
	}
	return devkit.HTTPEvent(devkit.Request{Name: "t", RouteKey: route, Path: path, PathParams: p, Headers: headers, Body: []byte(body)}).Event
}

func TestAllowList(t *testing.T) {
	all := loadSamples(t)
	for _, c := range []struct {
		name, list string
		sample     string
		status     int
	}{
		{"source outside the list", `["198.51.100.0/24","2001:db8::/32"]`, "product-status-changed", 403},
		{"outside the list with a bad token is 403", `["198.51.100.0/24"]`, "invalid-token", 403},
		{"source inside the list", `["198.51.100.0/24","203.0.113.0/24"]`, "product-status-changed", 200},
		{"single address", `["203.0.113.10"]`, "inventory-item-delivered", 200},
		{"inside the list with a bad token is 401", `["203.0.113.0/24"]`, "invalid-token", 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			stack := awstest.NewStack(t, apigift.Name, secretWith(t, "", `,"allowedIps":`+c.list))
			h := awstest.Handler(t, stack, apigift.New())
			res := awstest.Invoke(t, h, all[c.sample])
			if res.StatusCode != c.status {
				t.Fatalf("%d %s, want %d", res.StatusCode, res.Body, c.status)
			}
			if c.status == 403 && awstest.ErrorCode(t, res.Body) != "forbidden" {
				t.Errorf("code %s", res.Body)
			}
			wantItems := map[bool]int{true: 1, false: 0}[c.status == 200]
			if n := len(stack.EventItems(t)); n != wantItems {
				t.Errorf("%d items, want %d", n, wantItems)
			}
		})
	}
}

// Ciphertext under another key: 200, stored as quarantined with the reason and
// a metric, nothing queued; after the operator fixes the key, Reprocess queues
// exactly one message with the plaintext.
func TestQuarantineThenReprocess(t *testing.T) {
	ctx := context.Background()
	good, _ := devSecret(t)
	stack := awstest.NewStack(t, apigift.Name, secretWith(t, "wrongApiGiftAes256Key0123456789z", ""))
	h := awstest.Handler(t, stack, apigift.New())
	ev := loadSamples(t)["inventory-item-delivered"]
	var id string
	for i := 0; i < 2; i++ { // the provider's retry finds it quarantined, still 200
		res := awstest.Invoke(t, h, ev)
		if res.StatusCode != 200 || res.Body != `{"success":true}` {
			t.Fatalf("delivery %d: %d %s", i, res.StatusCode, res.Body)
		}
		id = res.Headers["X-Webhook-Event-Id"]
	}
	items := stack.EventItems(t)
	it := items[id]
	if len(items) != 1 || awskit.Str(it, "status") != "quarantined" {
		t.Fatalf("items %v", items)
	}
	if r := awskit.Str(it, "reason"); r != "encryptedVirtualCollections does not decrypt with the configured key" {
		t.Errorf("reason %q", r)
	}
	if awskit.Str(it, "quarantine_pk") != apigift.Name {
		t.Errorf("quarantine index key %q", awskit.Str(it, "quarantine_pk"))
	}
	if n := len(stack.Messages(t)); n != 0 {
		t.Fatalf("%d messages for a quarantined event", n)
	}
	if !hasLine(stack.Logs.String(), `"CloudWatchMetrics"`, `"outcome":"quarantined"`) {
		t.Errorf("no quarantine metric in %s", stack.Logs.String())
	}

	// Reprocess before the fix: still quarantined, nothing queued.
	r, err := h.Reprocess(ctx, id)
	if err != nil || r.Status != "quarantined" {
		t.Fatalf("reprocess before fix: %+v, %v", r, err)
	}
	if _, err := stack.AWS.PutSecret(ctx, stack.SecretID, good); err != nil {
		t.Fatal(err)
	}
	r, err = h.Reprocess(ctx, id)
	if err != nil || r.Status != "queued" {
		t.Fatalf("reprocess after fix: %+v, %v", r, err)
	}
	msgs := stack.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	ce := awstest.CloudEvent(t, msgs[0].Body)
	data, _ := ce["data"].(map[string]any)
	got, _ := json.Marshal(data["virtualCollections"])
	if ce["id"] != id || string(got) != samplePlaintexts["inventory-item-delivered"] {
		t.Errorf("message %s", msgs[0].Body)
	}
	if s := awskit.Str(stack.EventItems(t)[id], "status"); s != "queued" {
		t.Errorf("status %q after reprocess", s)
	}
	// Later deliveries and reprocess requests change nothing.
	if res := awstest.Invoke(t, h, ev); res.StatusCode != 200 || res.Headers["X-Webhook-Outcome"] != "duplicate" {
		t.Errorf("redelivery: %d %v", res.StatusCode, res.Headers)
	}
	if _, err := h.Reprocess(ctx, id); !errors.Is(err, pipeline.ErrNoReprocess) {
		t.Errorf("second reprocess: %v", err)
	}
	if n := len(stack.Messages(t)); n != 0 {
		t.Errorf("%d more messages", n)
	}
}

// The operator's direct invoke {"reprocess":{"eventId":...}} goes through the
// Lambda handler; a redelivery to a new instance after the fix also releases it.
func TestQuarantineReleasedByInvokeAndByRedelivery(t *testing.T) {
	ctx := context.Background()
	good, _ := devSecret(t)
	stack := awstest.NewStack(t, apigift.Name, secretWith(t, "wrongApiGiftAes256Key0123456789z", ""))
	h := awstest.Handler(t, stack, apigift.New())
	all := loadSamples(t)
	a := awstest.Invoke(t, h, all["inventory-item-delivered"])
	b := awstest.Invoke(t, h, all["inferred-inventory-item-delivered"])
	if a.Headers["X-Webhook-Outcome"] != "quarantined" || b.Headers["X-Webhook-Outcome"] != "quarantined" {
		t.Fatalf("outcomes %v %v", a.Headers, b.Headers)
	}
	if _, err := stack.AWS.PutSecret(ctx, stack.SecretID, good); err != nil {
		t.Fatal(err)
	}
	out, err := lambda.NewHandler(h).Invoke(ctx, []byte(`{"reprocess":{"eventId":"`+a.Headers["X-Webhook-Event-Id"]+`"}}`))
	if err != nil || !strings.Contains(string(out), `"status":"queued"`) {
		t.Fatalf("invoke reprocess: %s, %v", out, err)
	}
	// A fresh instance (new secrets cache) receiving the provider's retry.
	h2 := awstest.Handler(t, stack, apigift.New())
	if res := awstest.Invoke(t, h2, all["inferred-inventory-item-delivered"]); res.StatusCode != 200 || res.Headers["X-Webhook-Outcome"] != "accepted" {
		t.Fatalf("redelivery after fix: %d %v", res.StatusCode, res.Headers)
	}
	if n := len(stack.Messages(t)); n != 2 {
		t.Errorf("%d messages, want 2", n)
	}
}

// A reprocess right after other requests failed authentication (which uses up
// the rate-limited early secret refresh) still reads the fixed secret.
func TestReprocessAfterAuthFailures(t *testing.T) {
	ctx := context.Background()
	good, _ := devSecret(t)
	stack := awstest.NewStack(t, apigift.Name, secretWith(t, "wrongApiGiftAes256Key0123456789z", ""))
	h := awstest.Handler(t, stack, apigift.New())
	all := loadSamples(t)
	res := awstest.Invoke(t, h, all["inventory-item-delivered"])
	awstest.Invoke(t, h, all["invalid-token"])
	if _, err := stack.AWS.PutSecret(ctx, stack.SecretID, good); err != nil {
		t.Fatal(err)
	}
	r, err := h.Reprocess(ctx, res.Headers["X-Webhook-Event-Id"])
	if err != nil || r.Status != "queued" {
		t.Fatalf("reprocess: %+v, %v", r, err)
	}
	if n := len(stack.Messages(t)); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

// Nothing stored (every item, every attribute) and nothing logged carries the
// plaintext; the queue does.
func TestPlaintextOnlyOnTheQueue(t *testing.T) {
	ctx := context.Background()
	good, sec := devSecret(t)
	stack := awstest.NewStack(t, apigift.Name, good)
	h := awstest.Handler(t, stack, apigift.New())
	var responses strings.Builder
	for _, ev := range loadSamples(t) {
		res := awstest.Invoke(t, h, ev)
		fmt.Fprintf(&responses, "%v %s\n", res.Headers, res.Body)
	}
	// A quarantine and its reprocess go through storage too.
	stack2 := awstest.NewStack(t, apigift.Name, secretWith(t, "wrongApiGiftAes256Key0123456789z", ""))
	h2 := awstest.Handler(t, stack2, apigift.New())
	q := awstest.Invoke(t, h2, loadSamples(t)["inventory-item-delivered"])
	if _, err := stack2.AWS.PutSecret(ctx, stack2.SecretID, good); err != nil {
		t.Fatal(err)
	}
	if r, err := h2.Reprocess(ctx, q.Headers["X-Webhook-Event-Id"]); err != nil || r.Status != "queued" {
		t.Fatalf("reprocess: %+v, %v", r, err)
	}

	codes := append([]string{}, apigiftdev.Codes...)
	for _, c := range apigiftdev.Codes {
		codes = append(codes, base64.StdEncoding.EncodeToString([]byte(c)))
	}
	var stored strings.Builder
	for _, s := range []*awstest.Stack{stack, stack2} {
		for _, it := range s.Items(t) {
			for k, v := range it {
				stored.WriteString(k + "=")
				dump(&stored, v)
				stored.WriteByte('\n')
			}
		}
	}
	logs := stack.Logs.String() + stack2.Logs.String()
	for _, c := range codes {
		if strings.Contains(stored.String(), c) {
			t.Errorf("DynamoDB holds plaintext %q", c)
		}
		if strings.Contains(logs, c) {
			t.Errorf("logs hold plaintext %q", c)
		}
		if strings.Contains(responses.String(), c) {
			t.Errorf("responses hold plaintext %q", c)
		}
	}
	for _, s := range []string{sec.SecretKey, sec.URLToken} {
		if strings.Contains(logs, s) || strings.Contains(stored.String(), s) {
			t.Errorf("a secret value is logged or stored")
		}
	}
	if !strings.Contains(stored.String(), "encryptedVirtualCollections") {
		t.Error("scan found no ciphertext: is it scanning anything?")
	}
	var queued strings.Builder
	for _, s := range []*awstest.Stack{stack, stack2} {
		msgs := s.Messages(t)
		for _, m := range msgs {
			queued.WriteString(m.Body)
		}
		s.CheckNoCardNumbers(t, apigiftdev.Kit, msgs)
	}
	for _, c := range apigiftdev.Codes {
		if !strings.Contains(queued.String(), c) {
			t.Errorf("the queue lacks plaintext %q", c)
		}
	}
	for _, want := range []string{`"provider":"apigift"`, `"outcome":"accepted"`, `"outcome":"rejected"`, `"outcome":"quarantined"`, `"CloudWatchMetrics"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s", want)
		}
	}
}

// hasLine reports whether one line of logs contains every part.
func hasLine(logs string, parts ...string) bool {
	for _, line := range strings.Split(logs, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

func dump(b *strings.Builder, v ddb.AttributeValue) {
	switch x := v.(type) {
	case *ddb.AttributeValueMemberS:
		b.WriteString(x.Value)
	case *ddb.AttributeValueMemberN:
		b.WriteString(x.Value)
	case *ddb.AttributeValueMemberB:
		b.Write(x.Value)
	case *ddb.AttributeValueMemberBOOL:
		fmt.Fprint(b, x.Value)
	case *ddb.AttributeValueMemberNULL:
		b.WriteString("null")
	case *ddb.AttributeValueMemberSS:
		b.WriteString(strings.Join(x.Value, ","))
	case *ddb.AttributeValueMemberNS:
		b.WriteString(strings.Join(x.Value, ","))
	case *ddb.AttributeValueMemberBS:
		for _, e := range x.Value {
			b.Write(e)
		}
	case *ddb.AttributeValueMemberL:
		for _, e := range x.Value {
			dump(b, e)
			b.WriteByte(',')
		}
	case *ddb.AttributeValueMemberM:
		for k, e := range x.Value {
			b.WriteString(k + ":")
			dump(b, e)
			b.WriteByte(',')
		}
	default:
		fmt.Fprintf(b, "%v", v)
	}
}

func TestSecretConfigurationErrors(t *testing.T) {
	for _, c := range []struct{ name, secret string }{
		{"no secret", ""},
		{"placeholder", `{"placeholder":"set with aws secretsmanager put-secret-value"}`},
		{"empty token", `{"secretKey":"devApiGiftAes256Key0123456789abc","urlToken":""}`},
		{"no key", `{"urlToken":"dev-apigift-3kF9qL2xVb7TzR8mW1nY"}`},
		{"20-byte key", `{"secretKey":"devApiGiftAes256Key0","urlToken":"dev-apigift-3kF9qL2xVb7TzR8mW1nY"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			stack := awstest.NewStack(t, apigift.Name, c.secret)
			h := awstest.Handler(t, stack, apigift.New())
			res := awstest.Invoke(t, h, loadSamples(t)["product-status-changed"])
			if res.StatusCode != 500 || awstest.ErrorCode(t, res.Body) != "configuration_error" {
				t.Errorf("%d %s, want 500 configuration_error", res.StatusCode, res.Body)
			}
			if strings.Contains(stack.Logs.String(), "devApiGiftAes256Key0") {
				t.Error("logs contain the key")
			}
			if n := len(stack.Items(t)); n != 0 {
				t.Errorf("%d items", n)
			}
		})
	}
}

// Rotation: a delivery authenticated and encrypted with the previous secret
// (AWSPREVIOUS) still decrypts.
func TestRotatedKeyStillDecrypts(t *testing.T) {
	ctx := context.Background()
	const oldKey, newKey = "oldApiGiftAes256Key0123456789abc", "newApiGiftAes256Key0123456789abc"
	stack := awstest.NewStack(t, apigift.Name, `{"secretKey":"`+oldKey+`","urlToken":"tok-old-0123456789abcdefghij"}`)
	h := awstest.Handler(t, stack, apigift.New())
	body := func(takeout, key, pt string) string {
		ct, err := apigift.Encrypt([]byte(key), []byte(pt))
		if err != nil {
			t.Fatal(err)
		}
		return `{"takeoutInventoryId":"` + takeout + `","inventoryId":"i-` + takeout + `","encryptedVirtualCollections":"` + ct + `"}`
	}
	if res := awstest.Invoke(t, h, apigiftEvent("tok-old-0123456789abcdefghij", "", body("1", oldKey, "OLD-1"), nil)); res.Headers["X-Webhook-Outcome"] != "accepted" {
		t.Fatalf("before rotation: %d %v", res.StatusCode, res.Headers)
	}
	if _, err := stack.AWS.PutSecret(ctx, stack.SecretID, `{"secretKey":"`+newKey+`","urlToken":"tok-new-0123456789abcdefghij"}`); err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct{ token, key string }{{"tok-new-0123456789abcdefghij", newKey}, {"tok-old-0123456789abcdefghij", oldKey}} {
		res := awstest.Invoke(t, h, apigiftEvent(c.token, "inventory-item-delivered", body(fmt.Sprint(i+2), c.key, "CODE"), map[string]string{"secret-key": c.key}))
		if res.Headers["X-Webhook-Outcome"] != "accepted" {
			t.Errorf("%s: %d %s %v", c.token, res.StatusCode, res.Body, res.Headers)
		}
	}
	// The new token with the old key in the header is not authentic.
	if res := awstest.Invoke(t, h, apigiftEvent("tok-new-0123456789abcdefghij", "", body("9", newKey, "X"), map[string]string{"secret-key": oldKey})); res.StatusCode != 401 {
		t.Errorf("mixed versions: %d, want 401", res.StatusCode)
	}
	if n := len(stack.Messages(t)); n != 3 {
		t.Errorf("%d messages, want 3", n)
	}
}

// A delivery whose stored form DynamoDB cannot hold is quarantined with its
// data dropped (200): its redeliveries are answered 200 duplicate, never 5xx
// (nothing can be sent from the table, and a 5xx would be for ever). Each
// cardNumber member `1,` is masked into `"*",`: a 250 KB body stores as
// about 500 KB, over DynamoDB's item limit.
func TestRedeliveryOfADroppedDeliveryIsAnswered(t *testing.T) {
	secret, sec := devSecret(t)
	stack := awstest.NewStack(t, apigift.Name, secret)
	h := awstest.Handler(t, stack, apigift.New())
	ct, err := apigift.Encrypt([]byte(sec.SecretKey), []byte("CODE"))
	if err != nil {
		t.Fatal(err)
	}
	pad := strings.TrimSuffix(strings.Repeat("1,", 125_000), ",")
	body := `{"takeoutInventoryId":"t1","inventoryId":"i1","encryptedVirtualCollections":"` + ct + `","cardNumber":[` + pad + `]}`
	ev := apigiftEvent(sec.URLToken, "inventory-item-delivered", body, nil)
	if first := awstest.Invoke(t, h, ev); first.StatusCode != 200 || first.Headers["X-Webhook-Outcome"] != "quarantined" {
		t.Fatalf("first: %d %v", first.StatusCode, first.Headers)
	}
	for i := range 2 {
		if again := awstest.Invoke(t, h, ev); again.StatusCode != 200 || again.Headers["X-Webhook-Outcome"] != "duplicate" {
			t.Errorf("redelivery %d: %d %s %v", i, again.StatusCode, again.Body, again.Headers)
		}
	}
	items := stack.EventItems(t)
	if len(items) != 1 || len(stack.Messages(t)) != 0 {
		t.Fatalf("%d items, %d messages", len(items), len(stack.Messages(t)))
	}
	for _, it := range items {
		if awskit.Str(it, "status") != "quarantined" || awskit.Str(it, "data") != "null" {
			t.Errorf("stored: status %s, data %.40s", awskit.Str(it, "status"), awskit.Str(it, "data"))
		}
	}
}
