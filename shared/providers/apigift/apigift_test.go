package apigift_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"webhooks/shared/apigw"
	"webhooks/shared/jsonx"
	"webhooks/shared/pipeline"
	"webhooks/shared/providers/apigift"
	"webhooks/shared/verify"
)

const (
	testToken = "tok-Zq81mXc2Lp0Vw7Rb-4kD9sWq"
	testKey   = key32
)

func testSecret(t *testing.T, extra string) apigift.Secret {
	t.Helper()
	s, err := apigift.New().ParseSecret([]byte(`{"secretKey":"` + testKey + `","urlToken":"` + testToken + `"` + extra + `}`))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func request(token, slug string, headers map[string]string, body string) *apigw.Request {
	p := map[string]string{"token": token}
	if slug != "" {
		p["event"] = slug
	}
	h := apigw.Headers{}
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	return &apigw.Request{Method: "POST", PathParams: p, Headers: h, Body: []byte(body), SourceIP: netip.MustParseAddr("203.0.113.10")}
}

func TestParseSecret(t *testing.T) {
	p := apigift.New()
	for _, c := range []struct {
		name, raw string
		ok        bool
	}{
		{"AES-256 key", `{"secretKey":"` + key32 + `","urlToken":"tok-0123456789abcdefghijklm"}`, true},
		{"AES-192 key", `{"secretKey":"` + key24 + `","urlToken":"tok-0123456789abcdefghijklm"}`, true},
		{"AES-128 key", `{"secretKey":"` + key16 + `","urlToken":"tok-0123456789abcdefghijklm"}`, true},
		{"with allow-list", `{"secretKey":"` + key16 + `","urlToken":"tok-0123456789abcdefghijklm","allowedIps":["203.0.113.0/24","2001:db8::/32","198.51.100.7"]}`, true},
		{"null allow-list", `{"secretKey":"` + key16 + `","urlToken":"tok-0123456789abcdefghijklm","allowedIps":null}`, true},
		{"20-byte key", `{"secretKey":"01234567890123456789","urlToken":"tok-0123456789abcdefghijklm"}`, false},
		{"33-byte key", `{"secretKey":"` + key32 + `X","urlToken":"tok-0123456789abcdefghijklm"}`, false},
		{"missing key", `{"urlToken":"tok-0123456789abcdefghijklm"}`, false},
		{"empty key", `{"secretKey":"","urlToken":"tok-0123456789abcdefghijklm"}`, false},
		{"null key", `{"secretKey":null,"urlToken":"tok-0123456789abcdefghijklm"}`, false},
		{"numeric key", `{"secretKey":1234567890123456,"urlToken":"tok-0123456789abcdefghijklm"}`, false},
		{"missing token", `{"secretKey":"` + key32 + `"}`, false},
		{"empty token", `{"secretKey":"` + key32 + `","urlToken":""}`, false},
		{"blank token", `{"secretKey":"` + key32 + `","urlToken":"   "}`, false},
		{"bad CIDR", `{"secretKey":"` + key32 + `","urlToken":"tok-0123456789abcdefghijklm","allowedIps":["203.0.113.0/33"]}`, false},
		{"allow-list not an array", `{"secretKey":"` + key32 + `","urlToken":"tok-0123456789abcdefghijklm","allowedIps":"203.0.113.0/24"}`, false},
		{"placeholder", `{"placeholder":"set with aws secretsmanager put-secret-value"}`, false},
		{"not JSON", `secretKey=abc`, false},
		{"empty", ``, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := p.ParseSecret([]byte(c.raw))
			if c.ok != (err == nil) {
				t.Fatalf("err %v, want ok=%v", err, c.ok)
			}
			if err != nil {
				for _, secret := range []string{key32, key24, key16, "01234567890123456789"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q contains the secret key", err)
					}
				}
				return
			}
			if s.URLToken != "tok-0123456789abcdefghijklm" || s.SecretKey == "" {
				t.Errorf("parsed %+v", s)
			}
		})
	}
}

func TestSecretNeverFormatsItsValues(t *testing.T) {
	s := testSecret(t, `,"allowedIps":["203.0.113.0/24"]`)
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("x", "secret", s)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s), fmt.Sprintf("%v", &s), b.String()} {
		if strings.Contains(out, testKey) || strings.Contains(out, testToken) {
			t.Errorf("formatted secret reveals a value: %s", out)
		}
	}
}

// Authentication paths. Both secrets are compared with verify.EqualSecret
// (constant time, length-independent), both comparisons always run, and every
// mismatch is the same error: the caller cannot tell which part was wrong.
func TestAuthenticate(t *testing.T) {
	p := apigift.New()
	open := testSecret(t, "")
	listed := testSecret(t, `,"allowedIps":["198.51.100.0/24"]`)
	body := `{"inventoryId":"x"}`
	for _, c := range []struct {
		name    string
		sec     apigift.Secret
		token   string
		headers map[string]string
		slug    string
		ip      string
		want    error // nil, a verify sentinel, or errNotFound
	}{
		{"token only", open, testToken, nil, "", "", nil},
		{"token and secret-key header", open, testToken, map[string]string{"secret-key": testKey}, "", "", nil},
		{"header name in other case", open, testToken, map[string]string{"Secret-Key": testKey}, "", "", nil},
		{"with slug", open, testToken, nil, "inventory-item-refunded", "", nil},
		{"wrong token", open, testToken + "x", nil, "", "", verify.ErrInvalidCredential},
		{"token prefix", open, testToken[:len(testToken)-1], nil, "", "", verify.ErrInvalidCredential},
		{"token other case", open, strings.ToUpper(testToken), nil, "", "", verify.ErrInvalidCredential},
		{"empty token", open, "", nil, "", "", verify.ErrMissingCredential},
		{"secret key as token", open, testKey, nil, "", "", verify.ErrInvalidCredential},
		{"right token, wrong header", open, testToken, map[string]string{"secret-key": "nope"}, "", "", verify.ErrInvalidCredential},
		{"right token, empty header", open, testToken, map[string]string{"secret-key": ""}, "", "", verify.ErrInvalidCredential},
		{"right token, token as header", open, testToken, map[string]string{"secret-key": testToken}, "", "", verify.ErrInvalidCredential},
		{"wrong token, right header", open, "nope", map[string]string{"secret-key": testKey}, "", "", verify.ErrInvalidCredential},
		{"allow-listed source", listed, testToken, nil, "", "198.51.100.7", nil},
		{"source outside allow-list", listed, testToken, nil, "", "203.0.113.10", verify.ErrSourceNotAllowed},
		{"allow-list checked before token", listed, "nope", nil, "", "203.0.113.10", verify.ErrSourceNotAllowed},
		{"no source address with allow-list", listed, testToken, nil, "", "-", verify.ErrSourceNotAllowed},
		{"unknown slug, authentic", open, testToken, nil, "wallet-topped-up", "", errNotFound},
		{"unknown slug, not authentic", open, "nope", nil, "wallet-topped-up", "", verify.ErrInvalidCredential},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := request(c.token, c.slug, c.headers, body)
			switch c.ip {
			case "":
			case "-":
				req.SourceIP = netip.Addr{}
			default:
				req.SourceIP = netip.MustParseAddr(c.ip)
			}
			// As the pipeline runs them: the route, the source (with
			// AWSCURRENT), the credential, then the route's answer to an
			// authentic request.
			route, err := p.Route(req)
			if err != nil {
				t.Fatalf("route: %v", err)
			}
			req.Variant = route.Variant
			err = p.CheckSource(req, c.sec)
			if err == nil {
				err = p.Authenticate(req, c.sec)
			}
			if err == nil && route.NotFound != nil {
				err = route.NotFound
			}
			switch {
			case c.want == nil && err != nil:
				t.Fatalf("err %v, want nil", err)
			case c.want == errNotFound:
				var pe *pipeline.Error
				if !errors.As(err, &pe) || pe.Status != 404 || pe.Code != pipeline.CodeNotFound {
					t.Fatalf("err %v, want 404 not_found", err)
				}
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if err != nil && (strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), testKey)) {
				t.Errorf("error %q reveals a secret", err)
			}
		})
	}
}

var errNotFound = errors.New("404")

// The documented bodies (seed 000) and variants.
const (
	bodySellReview = `{"source":"Marketplace","sourceOrderNumber":"ORD-458236","requestDescription":"The product was not as described."}`
	bodyTicket     = `{"supportTicketId":"b3f32b90-89b1-4636-85d0-e5f9a12e06b4","underMediationChanged":true,"closed":false,"newReply":{"replyId":"693eb7a2-07b9-4ab4-afe0-2b07a2c5d841","createAt":"2025-07-20T15:04:12Z","text":"Can you provide more details about the issue?","replier":"Mediation","attachmentUrls":["https://cdn.example.com/replies/abc123.jpg"]}}`
	bodyInvoice    = `{"orderId":"b3c09d58-6ac6-4b20-9286-601c1d62f4e2","status":1,"price":47.99}`
	bodyProduct    = `{"id":"fa29855a-5d0e-4e2e-b7c7-120cb98c19fb","price":39.99,"status":1}`
	bodyRefunded   = `{"inventoryId":"f71c2b48-82b9-48de-9a94-3db452cd1733"}`
	bodyDeposit    = `{"depositId":"d-1","status":"Confirmed"}`
)

func bodyDelivered(t testing.TB, key, plaintext string) string {
	t.Helper()
	ct, err := apigift.Encrypt([]byte(key), []byte(plaintext))
	if err != nil {
		t.Fatal(err)
	}
	return `{"takeoutInventoryId":"21f2d0c8-7a4d-4ea9-bd7c-34df10b38d1a","inventoryId":"9a4b7b3e-6f5c-4d94-a087-d11e6c8754f7","entryPrice":25.50,"encryptedVirtualCollections":"` + ct + `","deliveryKey":"TKO-20250720-ABCD1234","productId":"e69a7f45-6e39-4e12-8ad6-dad09397d72d"}`
}

func TestClassify(t *testing.T) {
	delivered := bodyDelivered(t, testKey, "X")
	for _, c := range []struct {
		name, body, want string // want "" means 400 unknown_event
	}{
		{"sell review", bodySellReview, apigift.TypeSellReviewRequestCreated},
		{"sell review, null order number", `{"source":null,"sourceOrderNumber":null,"requestDescription":"x"}`, apigift.TypeSellReviewRequestCreated},
		{"sell review, description only", `{"requestDescription":"x"}`, apigift.TypeSellReviewRequestCreated},
		{"support ticket", bodyTicket, apigift.TypeSupportTicketUpdated},
		{"support ticket without reply", `{"supportTicketId":"t1","underMediationChanged":false,"closed":true,"newReply":null}`, apigift.TypeSupportTicketUpdated},
		{"invoice", bodyInvoice, apigift.TypeOrderInvoiceStatus},
		{"product", bodyProduct, apigift.TypeProductStatus},
		{"delivered", delivered, apigift.TypeInventoryItemDelivered},
		{"delivered, takeout id only", `{"takeoutInventoryId":"a","inventoryId":"b"}`, apigift.TypeInventoryItemDelivered},
		{"delivered, ciphertext only", `{"inventoryId":"b","encryptedVirtualCollections":"abc"}`, apigift.TypeInventoryItemDelivered},
		{"refunded", bodyRefunded, apigift.TypeInventoryItemRefunded},
		{"refunded with an unknown extra field", `{"inventoryId":"x","refundedAt":"2025-01-01"}`, apigift.TypeInventoryItemRefunded},
		{"deposit (deprecated)", bodyDeposit, apigift.TypeDepositStatus},
		{"empty object", `{}`, ""},
		{"unknown fields", `{"walletId":"w","amount":5}`, ""},
		{"id without status", `{"id":"p1","price":3}`, ""},
		{"status without id", `{"status":1,"price":3}`, ""},
		{"invoice and refund fields", `{"orderId":"o","status":1,"inventoryId":"i"}`, ""},
		{"ticket and sell review fields", `{"supportTicketId":"t","requestDescription":"x"}`, ""},
		{"invoice and product fields", `{"orderId":"o","id":"p","status":1}`, ""},
		{"delivered and ticket fields", `{"takeoutInventoryId":"a","supportTicketId":"t"}`, ""},
		{"refund and deposit fields", `{"inventoryId":"i","depositStatus":1}`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc, err := jsonx.Parse([]byte(c.body))
			if err != nil {
				t.Fatal(err)
			}
			defer doc.Release()
			got, err := apigift.TypeOf(doc.Root())
			if c.want == "" {
				var pe *pipeline.Error
				if !errors.As(err, &pe) || pe.Status != 400 || pe.Code != pipeline.CodeUnknownEvent {
					t.Fatalf("Classify = %q, %v; want 400 unknown_event", got, err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("Classify = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

// Every event on both route forms: type, subject, key, deprecated, data.
func TestDecodeBothRouteForms(t *testing.T) {
	p := apigift.New()
	sec := testSecret(t, "")
	delivered := bodyDelivered(t, testKey, `[{"code":"A"}]`)
	for _, c := range []struct {
		slug, body, typ, subject string
		deprecated               bool
	}{
		{"sell-review-request-created", bodySellReview, apigift.TypeSellReviewRequestCreated, "ORD-458236", false},
		{"support-ticket-updated", bodyTicket, apigift.TypeSupportTicketUpdated, "b3f32b90-89b1-4636-85d0-e5f9a12e06b4", false},
		{"order-invoice-status-changed", bodyInvoice, apigift.TypeOrderInvoiceStatus, "b3c09d58-6ac6-4b20-9286-601c1d62f4e2", false},
		{"product-status-changed", bodyProduct, apigift.TypeProductStatus, "fa29855a-5d0e-4e2e-b7c7-120cb98c19fb", false},
		{"inventory-item-delivered", delivered, apigift.TypeInventoryItemDelivered, "9a4b7b3e-6f5c-4d94-a087-d11e6c8754f7", false},
		{"inventory-item-refunded", bodyRefunded, apigift.TypeInventoryItemRefunded, "f71c2b48-82b9-48de-9a94-3db452cd1733", false},
		{"deposit-status-changed", bodyDeposit, apigift.TypeDepositStatus, "", true},
	} {
		t.Run(c.slug, func(t *testing.T) {
			bySlug, err := pipeline.DecodeBody(p, request(testToken, c.slug, nil, c.body), sec)
			if err != nil {
				t.Fatal(err)
			}
			inferred, err := pipeline.DecodeBody(p, request(testToken, "", nil, c.body), sec)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range []*pipeline.Event{bySlug, inferred} {
				if ev.Type != c.typ || ev.Subject != c.subject || ev.Deprecated != c.deprecated || ev.Key == "" {
					t.Errorf("got type %q subject %q deprecated %v key %q", ev.Type, ev.Subject, ev.Deprecated, ev.Key)
				}
				if string(ev.Data) != c.body {
					t.Errorf("data %s, want the body as sent", ev.Data)
				}
			}
			if bySlug.Key != inferred.Key {
				t.Errorf("the same event has different keys on the two routes")
			}
		})
	}
}

func TestDecodeTicketTime(t *testing.T) {
	ev, err := pipeline.DecodeBody(apigift.New(), request(testToken, "", nil, bodyTicket), testSecret(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	if got := ev.Time.UTC().Format("2006-01-02T15:04:05Z"); got != "2025-07-20T15:04:12Z" {
		t.Errorf("time %s, want newReply.createAt", got)
	}
}

// The deprecated event is acknowledged whatever its (object) body.
func TestDeprecatedDepositNeverFails(t *testing.T) {
	p := apigift.New()
	for _, body := range []string{`{}`, `{"status":"x"}`, bodyInvoice, `{"a":[1,{"b":null}]}`, bodyDelivered(t, "wrongkey--wrongkey--wrongkey--32", "x")} {
		ev, err := pipeline.DecodeBody(p, request(testToken, "deposit-status-changed", nil, body), testSecret(t, ""))
		if err != nil || !ev.Deprecated || ev.Type != apigift.TypeDepositStatus || ev.Subject != "" {
			t.Errorf("%s: %+v, %v", body, ev, err)
			continue
		}
		if data, err := pipeline.EnrichData(p, ev, testSecret(t, "")); err != nil || string(data) != body {
			t.Errorf("%s: enrich %s, %v", body, data, err)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	p := apigift.New()
	sec := testSecret(t, "")
	for _, c := range []struct {
		name, slug, body, code string
	}{
		{"unknown shape", "", `{"walletId":"w"}`, pipeline.CodeUnknownEvent},
		{"ambiguous", "", `{"orderId":"o","status":1,"inventoryId":"i"}`, pipeline.CodeUnknownEvent},
		{"invoice without orderId", "order-invoice-status-changed", `{"status":1,"price":47.99}`, pipeline.CodeMissingField},
		{"invoice status as string", "order-invoice-status-changed", `{"orderId":"o","status":"1","price":47.99}`, pipeline.CodeInvalidField},
		{"invoice status null", "order-invoice-status-changed", `{"orderId":"o","status":null}`, pipeline.CodeMissingField},
		{"invoice price as string", "", `{"orderId":"o","status":1,"price":"47.99"}`, pipeline.CodeInvalidField},
		{"invoice orderId number", "", `{"orderId":17,"status":1}`, pipeline.CodeInvalidField},
		{"invoice orderId empty", "", `{"orderId":"","status":1}`, pipeline.CodeMissingField},
		{"product body on refund slug", "inventory-item-refunded", bodyProduct, pipeline.CodeMissingField},
		{"refund body on product slug", "product-status-changed", bodyRefunded, pipeline.CodeMissingField},
		{"product status bool", "product-status-changed", `{"id":"p","status":true}`, pipeline.CodeInvalidField},
		{"product id object", "", `{"id":{"x":1},"status":1}`, pipeline.CodeInvalidField},
		{"ticket without id", "support-ticket-updated", `{"closed":true}`, pipeline.CodeMissingField},
		{"ticket closed as string", "", `{"supportTicketId":"t","closed":"false"}`, pipeline.CodeInvalidField},
		{"ticket reply not object", "", `{"supportTicketId":"t","newReply":"hi"}`, pipeline.CodeInvalidField},
		{"ticket reply without id", "", `{"supportTicketId":"t","newReply":{"text":"hi"}}`, pipeline.CodeMissingField},
		{"ticket attachments not strings", "", `{"supportTicketId":"t","newReply":{"replyId":"r","attachmentUrls":[1]}}`, pipeline.CodeInvalidField},
		{"sell review without description", "sell-review-request-created", `{"source":"M","sourceOrderNumber":"O"}`, pipeline.CodeMissingField},
		{"sell review order number as number", "", `{"sourceOrderNumber":458236,"requestDescription":"x"}`, pipeline.CodeInvalidField},
		{"delivered without ciphertext", "inventory-item-delivered", `{"takeoutInventoryId":"a","inventoryId":"b"}`, pipeline.CodeMissingField},
		{"delivered ciphertext null", "", `{"takeoutInventoryId":"a","inventoryId":"b","encryptedVirtualCollections":null}`, pipeline.CodeMissingField},
		{"delivered ciphertext number", "", `{"takeoutInventoryId":"a","inventoryId":"b","encryptedVirtualCollections":12}`, pipeline.CodeInvalidField},
		{"delivered without takeout id", "inventory-item-delivered", `{"inventoryId":"b","encryptedVirtualCollections":"abc"}`, pipeline.CodeMissingField},
		{"delivered without inventory id", "", `{"takeoutInventoryId":"a","encryptedVirtualCollections":"abc"}`, pipeline.CodeMissingField},
		{"delivered entryPrice string", "", `{"takeoutInventoryId":"a","inventoryId":"b","encryptedVirtualCollections":"abc","entryPrice":"25.50"}`, pipeline.CodeInvalidField},
		{"delivered with a plaintext field", "", `{"takeoutInventoryId":"a","inventoryId":"b","encryptedVirtualCollections":"abc","virtualCollections":"CODE"}`, pipeline.CodeInvalidField},
		{"not an object", "deposit-status-changed", `[1]`, pipeline.CodeMalformedJSON},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev, err := pipeline.DecodeBody(p, request(testToken, c.slug, nil, c.body), sec)
			var pe *pipeline.Error
			if !errors.As(err, &pe) || pe.Status != 400 || pe.Code != c.code {
				t.Fatalf("Decode = %+v, %v; want 400 %s", ev, err, c.code)
			}
			if strings.Contains(pe.Message, "CODE") {
				t.Errorf("message %q echoes a value", pe.Message)
			}
		})
	}
	if _, err := pipeline.DecodeBody(p, request(testToken, "nope", nil, bodyRefunded), sec); err == nil {
		t.Error("unknown slug decoded")
	}
}

// Numbers and enums are kept exactly as sent: never round-tripped through float64.
func TestNumbersKeptAsSent(t *testing.T) {
	p := apigift.New()
	sec := testSecret(t, "")
	body := `{"orderId":"o","status":7,"price":12345678901234567890.10}`
	ev, err := pipeline.DecodeBody(p, request(testToken, "", nil, body), sec)
	if err != nil {
		t.Fatal(err)
	}
	data, err := pipeline.EnrichData(p, ev, sec)
	if err != nil || string(data) != body {
		t.Errorf("data %s, %v", data, err)
	}
	d := bodyDelivered(t, testKey, "c")
	d = strings.Replace(d, `"entryPrice":25.50`, `"entryPrice":25.500`, 1)
	ev, err = pipeline.DecodeBody(p, request(testToken, "", nil, d), sec)
	if err != nil {
		t.Fatal(err)
	}
	data, err = pipeline.EnrichData(p, ev, sec)
	if err != nil || !strings.Contains(string(data), `"entryPrice":25.500,`) {
		t.Errorf("data %s, %v", data, err)
	}
}

// What identifies an event: its type, and its key — for state events (no id or
// time in the body) the entity and its state.
func TestKeys(t *testing.T) {
	p := apigift.New()
	sec := testSecret(t, "")
	key := func(slug, body string) string {
		t.Helper()
		ev, err := pipeline.DecodeBody(p, request(testToken, slug, nil, body), sec)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		state := ev.Type == apigift.TypeOrderInvoiceStatus || ev.Type == apigift.TypeProductStatus ||
			ev.Type == apigift.TypeSupportTicketUpdated || ev.Type == apigift.TypeSellReviewRequestCreated
		if state != (ev.Entity != "") {
			t.Errorf("%s: %s with entity %q", body, ev.Type, ev.Entity)
		}
		return ev.Type + "|" + ev.Entity + "|" + ev.Key
	}
	same := [][2]string{
		{bodyInvoice, `{ "price": 47.99, "status": 1, "orderId": "b3c09d58-6ac6-4b20-9286-601c1d62f4e2" }`},
		{bodySellReview, `{"requestDescription":"The product was not as described.","sourceOrderNumber":"ORD-458236","source":"Marketplace"}`},
		{bodyDeposit, `{"status":"Confirmed", "depositId":"d-1"}`},
		// Delivered: the takeout is the event, whatever else the retry carries.
		{bodyDelivered(t, testKey, "a"), bodyDelivered(t, testKey, "a")},
		// A ticket reply is the reply.
		{bodyTicket, strings.Replace(bodyTicket, `"text":"Can you`, `"text":"Could you`, 1)},
		// \u escapes are the same string.
		{bodyRefunded, `{"inventoryId":"f71c2b48-82b9-48de-9a94-3db452cd173\u0033"}`},
	}
	for _, s := range same {
		if key("", s[0]) != key("", s[1]) {
			t.Errorf("keys differ:\n%s\n%s", s[0], s[1])
		}
	}
	differ := [][2]string{
		{bodyInvoice, strings.Replace(bodyInvoice, `"status":1`, `"status":4`, 1)},
		{bodyInvoice, strings.Replace(bodyInvoice, `47.99`, `49.99`, 1)},
		{bodyProduct, strings.Replace(bodyProduct, `"status":1`, `"status":2`, 1)},
		{bodyTicket, strings.Replace(bodyTicket, `693eb7a2`, `793eb7a2`, 1)},
		{bodyTicket, strings.Replace(bodyTicket, `"closed":false`, `"closed":true`, 1)},
		{`{"supportTicketId":"t","closed":false}`, `{"supportTicketId":"t","closed":true}`},
		{bodySellReview, strings.Replace(bodySellReview, "described.", "described!", 1)},
		{bodyDeposit, `{"depositId":"d-2","status":"Confirmed"}`},
		// The same inventory item delivered, then refunded: two events.
		{`{"takeoutInventoryId":"x","inventoryId":"i","encryptedVirtualCollections":"a"}`, `{"inventoryId":"i"}`},
		// An order id that equals a product id: types keep them apart.
		{`{"orderId":"same","status":1,"price":1}`, `{"id":"same","status":1,"price":1}`},
	}
	for _, d := range differ {
		if key("", d[0]) == key("", d[1]) {
			t.Errorf("same key for different events:\n%s\n%s", d[0], d[1])
		}
	}
}

func TestEnrichDecrypts(t *testing.T) {
	p := apigift.New()
	sec := testSecret(t, "")
	for _, c := range []struct{ name, plaintext, want string }{
		{"JSON array", `[{"code":"GIFT-1","pin":"0042"}]`, `[{"code":"GIFT-1","pin":"0042"}]`},
		{"JSON object", `{"codes":["A","B"]}`, `{"codes":["A","B"]}`},
		{"plain text", `GIFT-XXXX-YYYY`, `"GIFT-XXXX-YYYY"`},
		{"text with quotes and newline", "a\"b\nc", `"a\"b\nc"`},
		{"leading-zero code is text", `0042`, `"0042"`},
		{"unicode text", `código €`, `"código €"`},
		{"empty", ``, `""`},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := bodyDelivered(t, testKey, c.plaintext)
			ev, err := pipeline.DecodeBody(p, request(testToken, "inventory-item-delivered", nil, body), sec)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(ev.Data), "virtualCollections\"") && !strings.Contains(string(ev.Data), "encryptedVirtualCollections") {
				t.Fatal("stored data lost the ciphertext")
			}
			data, err := pipeline.EnrichData(p, ev, sec)
			if err != nil {
				t.Fatal(err)
			}
			want := `{"takeoutInventoryId":"21f2d0c8-7a4d-4ea9-bd7c-34df10b38d1a","inventoryId":"9a4b7b3e-6f5c-4d94-a087-d11e6c8754f7","entryPrice":25.50,"virtualCollections":` + c.want + `,"deliveryKey":"TKO-20250720-ABCD1234","productId":"e69a7f45-6e39-4e12-8ad6-dad09397d72d"}`
			if string(data) != want {
				t.Errorf("data\n%s\nwant\n%s", data, want)
			}
			if !json.Valid(data) {
				t.Error("data is not JSON")
			}
			if ev.Data == nil || strings.Contains(string(ev.Data), c.want) && c.want != `""` {
				t.Errorf("stored data holds the plaintext: %s", ev.Data)
			}
		})
	}
}

func TestEnrichQuarantines(t *testing.T) {
	p := apigift.New()
	sec := testSecret(t, "")
	other, err := p.ParseSecret([]byte(`{"secretKey":"0123456789abcdef0123456789abcdef","urlToken":"tok-0123456789abcdefghijklm"}`))
	if err != nil {
		t.Fatal(err)
	}
	good := bodyDelivered(t, testKey, "SECRET-CODE-1")
	with := func(ct string) string {
		return `{"takeoutInventoryId":"a","inventoryId":"b","encryptedVirtualCollections":"` + ct + `"}`
	}
	for _, c := range []struct {
		name, body string
		sec        apigift.Secret
		reason     string
	}{
		{"wrong key", good, other, "does not decrypt with the configured key"},
		{"bad base64", with("%%%not-base64%%%"), sec, "is not valid base64"},
		{"truncated", with("craIa2DFzWUGlufk"), sec, "does not decrypt with the configured key"},
		{"empty", with(""), sec, "does not decrypt with the configured key"},
		{"bad padding", with("NAdf1MPq0tZsPftVe7oaiw=="), sec, "does not decrypt with the configured key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev, err := pipeline.DecodeBody(p, request(testToken, "", nil, c.body), c.sec)
			if err != nil {
				t.Fatal(err)
			}
			data, err := pipeline.EnrichData(p, ev, c.sec)
			var q *pipeline.QuarantineError
			if !errors.As(err, &q) || data != nil {
				t.Fatalf("Enrich = %s, %v; want a quarantine", data, err)
			}
			if !strings.Contains(q.Reason, c.reason) || strings.Contains(q.Error(), "SECRET-CODE") {
				t.Errorf("reason %q", q.Reason)
			}
		})
	}
}

// Enrich works from the stored form alone, as Reprocess calls it (no Key).
func TestEnrichFromStoredForm(t *testing.T) {
	p := apigift.New()
	body := bodyDelivered(t, testKey, `["C-1"]`)
	data, err := pipeline.EnrichData(p, &pipeline.Event{Type: apigift.TypeInventoryItemDelivered, Data: json.RawMessage(body)}, testSecret(t, ""))
	if err != nil || !strings.Contains(string(data), `"virtualCollections":["C-1"]`) || strings.Contains(string(data), "encrypted") {
		t.Errorf("%s, %v", data, err)
	}
}

// Card numbers in APIGift's free text are masked before anything is stored;
// the identifiers and the ciphertext of the goods are kept as sent.
func TestDecodeRedactsFreeText(t *testing.T) {
	p := apigift.New()
	sec := testSecret(t, "")
	ticket := strings.Replace(bodyTicket, "Can you provide more details about the issue?", "my card is 4111-1111-1111-1111", 1)
	ev, err := pipeline.DecodeBody(p, request(testToken, "support-ticket-updated", nil, ticket), sec)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(ev.Data), "4111-1111-1111-1111") || !strings.Contains(string(ev.Data), "4111-11**-****-1111") {
		t.Errorf("ticket data %s", ev.Data)
	}
	if ev.Subject != "b3f32b90-89b1-4636-85d0-e5f9a12e06b4" {
		t.Errorf("subject %s", ev.Subject)
	}
	delivered := bodyDelivered(t, testKey, `["4111111111111111"]`) // the goods: not masked, never stored
	ev, err = pipeline.DecodeBody(p, request(testToken, "inventory-item-delivered", nil, delivered), sec)
	if err != nil {
		t.Fatal(err)
	}
	var in, stored map[string]any
	_ = json.Unmarshal([]byte(delivered), &in)
	_ = json.Unmarshal(ev.Data, &stored)
	if stored["encryptedVirtualCollections"] != in["encryptedVirtualCollections"] {
		t.Error("ciphertext changed")
	}
	msg, err := pipeline.EnrichData(p, ev, sec)
	if err != nil || !strings.Contains(string(msg), `"4111111111111111"`) {
		t.Errorf("delivered goods altered: %s %v", msg, err)
	}
}

// Enrich writes every field name escaped no more than JSON needs: a key of
// '<' characters is not inflated six times into a message SQS refuses.
func TestEnrichDoesNotInflateKeys(t *testing.T) {
	p := apigift.New()
	sec := testSecret(t, "")
	key := strings.Repeat("<", 1000)
	body := strings.Replace(bodyDelivered(t, testKey, "code"), "{", `{"`+key+`":1,`, 1)
	ev, err := pipeline.DecodeBody(p, request(testToken, "inventory-item-delivered", nil, body), sec)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := pipeline.EnrichData(p, ev, sec)
	if err != nil || !strings.Contains(string(msg), `"`+key+`":1`) || len(msg) > len(body)+100 {
		t.Errorf("%d-byte body gave a %d-byte message: %v", len(body), len(msg), err)
	}
}

// A delivery's ciphertext is kept as sent only when it decrypts under the
// secret that authenticated the request: real ciphertext reaches decryption
// byte for byte, while a card number (or a run of digits) sent in its place
// is masked before it is stored, and the delivery is quarantined as not
// decrypting.
func TestCiphertextKeptOnlyWhenItDecrypts(t *testing.T) {
	s := testSecret(t, "")
	p := apigift.New()
	good := bodyDelivered(t, testKey, "CODE-1")
	for _, c := range []struct {
		name, body string
		kept       bool
	}{
		{"real ciphertext", good, true},
		{"a card number", strings.Replace(good, `"encryptedVirtualCollections":"`, `"encryptedVirtualCollections":"4111111111111111`, 1), false},
		{"digits only, whole blocks of base64", `{"takeoutInventoryId":"t","inventoryId":"i","encryptedVirtualCollections":"` + strings.Repeat("4111111111111111", 4) + `"}`, false},
	} {
		ev, err := pipeline.DecodeBody(p, request(testToken, "inventory-item-delivered", nil, c.body), s)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var sent, stored map[string]any
		_ = json.Unmarshal([]byte(c.body), &sent)
		_ = json.Unmarshal(ev.Data, &stored)
		if (stored["encryptedVirtualCollections"] == sent["encryptedVirtualCollections"]) != c.kept {
			t.Errorf("%s: stored %v, kept %v", c.name, stored["encryptedVirtualCollections"], c.kept)
		}
		if strings.Contains(string(ev.Data), "4111111111111111") {
			t.Errorf("%s: a card number is stored: %s", c.name, ev.Data)
		}
		_, err = pipeline.EnrichData(p, ev, s)
		var q *pipeline.QuarantineError
		if c.kept != (err == nil) || (!c.kept && !errors.As(err, &q)) {
			t.Errorf("%s: enrich %v", c.name, err)
		}
	}
}
