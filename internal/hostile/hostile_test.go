// Package hostile feeds every receiver hostile input — empty, truncated, deeply
// nested, huge numbers, invalid UTF-8, duplicate keys, wrong types, nulls,
// wrong content types, oversized bodies, header tricks — through the real
// handlers against a real AWS API, and checks that each one is answered with a
// 4xx and a stable error code and that nothing is stored or enqueued.
package hostile

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"webhooks/internal/devkit"
	"webhooks/internal/devkit/kits"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
	"webhooks/shared/eventstore"
	"webhooks/shared/pipeline"
	"webhooks/shared/providers/alchemypay"
	"webhooks/shared/providers/apigift"
	"webhooks/shared/providers/oslpay"
	"webhooks/shared/providers/tiki"
)

func TestMain(m *testing.M) { awstest.Main(m) }

const eventsDir = "../../events"

type hostileCase struct {
	name     string
	provider string
	variant  string // Tiki kind, APIGift slug
	body     string
	mutate   func(*events.APIGatewayV2HTTPRequest)
	status   int
	code     string
}

// Valid bodies, one per provider, that the hostile variants start from.
var valid = map[string]struct{ variant, body string }{
	"tiki":       {"order", `{"data":{"date":"2022-10-26T14:22:05+07:00","order_code":"1","main_state":"processing"}}`},
	"apigift":    {"order-invoice-status-changed", `{"orderId":"b3c09d58","status":1,"price":47.99}`},
	"alchemypay": {"", `{"orderNo":"100217","orderType":"2","status":"SUCCESS","cardNumber":"5554748800912345"}`},
	"oslpay":     {"", `{"type":"order_status_change","data":{"orderId":"o1","userId":"u1","state":"COMPLETED","updateTime":"2024-01-01 00:00:00"}}`},
}

func setHeader(k, v string) func(*events.APIGatewayV2HTTPRequest) {
	return func(e *events.APIGatewayV2HTTPRequest) { e.Headers[k] = v }
}

func asBase64(e *events.APIGatewayV2HTTPRequest) {
	e.Body = base64.StdEncoding.EncodeToString([]byte(e.Body))
	e.IsBase64Encoded = true
}

// generic are hostile bodies every provider must refuse with the same code.
func generic(provider string) []hostileCase {
	v := valid[provider]
	deep := strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)
	bad := func(name, body, code string) hostileCase {
		return hostileCase{name: name, provider: provider, variant: v.variant, body: body, status: 400, code: code}
	}
	return []hostileCase{
		bad("empty body", ``, pipeline.CodeMalformedJSON),
		bad("whitespace only", " \n\t ", pipeline.CodeMalformedJSON),
		bad("truncated", v.body[:len(v.body)/2], pipeline.CodeMalformedJSON),
		bad("top-level array", `[`+v.body+`]`, pipeline.CodeMalformedJSON),
		bad("top-level string", `"`+strings.ReplaceAll(v.body, `"`, `\"`)+`"`, pipeline.CodeMalformedJSON),
		bad("null", `null`, pipeline.CodeMalformedJSON),
		bad("nested 100 deep", deep, pipeline.CodeMalformedJSON),
		bad("number out of float64 range", strings.Replace(v.body, "{", `{"n":1e400,`, 1), pipeline.CodeMalformedJSON),
		bad("duplicate key", strings.Replace(v.body, "{", `{"x":1,"x":2,`, 1), pipeline.CodeDuplicateKey),
		bad("byte order mark", "\ufeff"+v.body, pipeline.CodeMalformedJSON),
		bad("NaN literal", strings.Replace(v.body, "{", `{"n":NaN,`, 1), pipeline.CodeMalformedJSON),
		bad("trailing garbage", v.body+`}`, pipeline.CodeMalformedJSON),
		bad("two objects", v.body+v.body, pipeline.CodeMalformedJSON),
		bad("single quotes", strings.ReplaceAll(v.body, `"`, `'`), pipeline.CodeMalformedJSON),
		bad("raw control character", strings.Replace(v.body, "{", "{\"c\":\"a\x01b\",", 1), pipeline.CodeMalformedJSON),
		{name: "invalid UTF-8", provider: provider, variant: v.variant, body: strings.Replace(v.body, "{", "{\"u\":\"\xff\xfe\",", 1), mutate: asBase64, status: 400, code: pipeline.CodeInvalidEncoding},
		{name: "bad base64 transport", provider: provider, variant: v.variant, body: v.body, mutate: func(e *events.APIGatewayV2HTTPRequest) { e.Body = "%%%"; e.IsBase64Encoded = true }, status: 400, code: pipeline.CodeInvalidEncoding},
		{name: "form content type", provider: provider, variant: v.variant, body: v.body, mutate: setHeader("content-type", "application/x-www-form-urlencoded"), status: 415, code: pipeline.CodeUnsupportedMedia},
		{name: "xml content type", provider: provider, variant: v.variant, body: v.body, mutate: setHeader("content-type", "application/xml"), status: 415, code: pipeline.CodeUnsupportedMedia},
		{name: "unparsable content type", provider: provider, variant: v.variant, body: v.body, mutate: setHeader("content-type", "application/json; ;;="), status: 415, code: pipeline.CodeUnsupportedMedia},
		{name: "oversized", provider: provider, variant: v.variant, body: strings.Replace(v.body, "{", `{"pad":"`+strings.Repeat("a", 300<<10)+`",`, 1), status: 413, code: pipeline.CodePayloadTooLarge},
		{name: "GET", provider: provider, variant: v.variant, body: v.body, mutate: func(e *events.APIGatewayV2HTTPRequest) { e.RequestContext.HTTP.Method = "GET" }, status: 405, code: pipeline.CodeMethodNotAllowed},
	}
}

func specific() []hostileCase {
	c := func(provider, variant, name, body string, status int, code string, mutate func(*events.APIGatewayV2HTTPRequest)) hostileCase {
		return hostileCase{name: name, provider: provider, variant: variant, body: body, status: status, code: code, mutate: mutate}
	}
	return []hostileCase{
		// Tiki: wrong types, nulls, header tricks.
		c("tiki", "order", "data is a string", `{"data":"x"}`, 400, pipeline.CodeInvalidField, nil),
		c("tiki", "order", "order_code null", `{"data":{"order_code":null,"main_state":"x"}}`, 400, pipeline.CodeMissingField, nil),
		c("tiki", "order", "order_code object", `{"data":{"order_code":{"$gt":""},"main_state":"x"}}`, 400, pipeline.CodeInvalidField, nil),
		c("tiki", "stock", "qty boolean", `{"data":{"sku":"s","warehouse":"w","qty_salable":true}}`, 400, pipeline.CodeInvalidField, nil),
		c("tiki", "order", "two signatures joined", valid["tiki"].body, 401, pipeline.CodeUnauthorized, func(e *events.APIGatewayV2HTTPRequest) {
			e.Headers["x-signature"] = e.Headers["x-signature"] + ",sha1=00"
		}),
		c("tiki", "order", "signature with inner space", valid["tiki"].body, 401, pipeline.CodeUnauthorized, func(e *events.APIGatewayV2HTTPRequest) {
			e.Headers["x-signature"] = strings.Replace(e.Headers["x-signature"], "=", "= ", 1)
		}),
		c("tiki", "order", "kind in upper case", valid["tiki"].body, 404, pipeline.CodeNotFound, func(e *events.APIGatewayV2HTTPRequest) { e.PathParameters["kind"] = "ORDER" }),
		c("tiki", "order", "path traversal kind", valid["tiki"].body, 404, pipeline.CodeNotFound, func(e *events.APIGatewayV2HTTPRequest) { e.PathParameters["kind"] = "../order" }),
		// APIGift.
		c("apigift", "", "matches no event", `{"foo":"bar"}`, 400, pipeline.CodeUnknownEvent, nil),
		c("apigift", "order-invoice-status-changed", "status as string", `{"orderId":"o","status":"1","price":1}`, 400, pipeline.CodeInvalidField, nil),
		c("apigift", "order-invoice-status-changed", "orderId null", `{"orderId":null,"status":1,"price":1}`, 400, pipeline.CodeMissingField, nil),
		c("apigift", "inventory-item-delivered", "ciphertext is a number", `{"takeoutInventoryId":"t","inventoryId":"i","encryptedVirtualCollections":12}`, 400, pipeline.CodeInvalidField, nil),
		c("apigift", "no-such-event", "unknown slug", valid["apigift"].body, 404, pipeline.CodeNotFound, nil),
		c("apigift", "", "token in another case", valid["apigift"].body, 401, pipeline.CodeUnauthorized, func(e *events.APIGatewayV2HTTPRequest) {
			e.PathParameters["token"] = strings.ToUpper(e.PathParameters["token"])
		}),
		c("apigift", "", "token with a trailing space", valid["apigift"].body, 401, pipeline.CodeUnauthorized, func(e *events.APIGatewayV2HTTPRequest) {
			e.PathParameters["token"] += " "
		}),
		// Alchemy Pay.
		c("alchemypay", "", "orderNo a number", `{"orderNo":100217,"status":"SUCCESS"}`, 400, pipeline.CodeInvalidField, nil),
		c("alchemypay", "", "status null", `{"orderNo":"1","status":null}`, 400, pipeline.CodeMissingField, nil),
		c("alchemypay", "", "cardNumber an object", `{"orderNo":"1","status":"SUCCESS","cardNumber":{"n":"5554748800912345"}}`, 400, pipeline.CodeInvalidField, nil),
		c("alchemypay", "", "empty token", valid["alchemypay"].body, 401, pipeline.CodeUnauthorized, func(e *events.APIGatewayV2HTTPRequest) { e.PathParameters["token"] = "" }),
		// OSL Pay.
		c("oslpay", "", "type a number", `{"type":7,"data":{"orderId":"o"}}`, 400, pipeline.CodeInvalidField, nil),
		c("oslpay", "", "data an array", `{"type":"order_status_change","data":[1]}`, 400, pipeline.CodeInvalidField, nil),
		c("oslpay", "", "no type", `{"data":{"orderId":"o"}}`, 400, pipeline.CodeMissingField, nil),
		c("oslpay", "", "timestamp with a plus sign", valid["oslpay"].body, 401, pipeline.CodeUnauthorized, func(e *events.APIGatewayV2HTTPRequest) { e.Headers["timestamp"] = "+" + e.Headers["timestamp"] }),
		c("oslpay", "", "signature twice", valid["oslpay"].body, 401, pipeline.CodeUnauthorized, func(e *events.APIGatewayV2HTTPRequest) {
			e.Headers["signature"] = e.Headers["signature"] + "," + e.Headers["signature"]
		}),
		c("oslpay", "", "appId in another case", valid["oslpay"].body, 401, pipeline.CodeUnauthorized, func(e *events.APIGatewayV2HTTPRequest) { e.Headers["appid"] = strings.ToUpper(e.Headers["appid"]) }),
		c("oslpay", "", "foreign appid in body", `{"type":"order_status_change","data":{"orderId":"o","appid":"someone-else"}}`, 401, pipeline.CodeUnauthorized, nil),
	}
}

// errorCode reads the stable code of either error shape.
func errorCode(body string) string {
	var b struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal([]byte(body), &b) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(b.Error, &s) == nil {
		return s // OSL Pay: {"code":"0000x", ..., "error":"<code>"}
	}
	var o struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(b.Error, &o)
	return o.Code
}

// devKeys returns the development signing keys and secrets.
func devKeys(t *testing.T) (devkit.Signers, devkit.DevSecrets) {
	t.Helper()
	keys, err := devkit.DevSigners(kits.All, eventsDir)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := devkit.LoadDevSecrets(eventsDir)
	if err != nil {
		t.Fatal(err)
	}
	return keys, dev
}

// The source address is API Gateway's sourceIp and nothing else: headers a
// sender chooses (X-Forwarded-For, X-Real-Ip, Forwarded) never get a request
// past an allow-list.
func TestForwardedHeadersNeverCount(t *testing.T) {
	keys, dev := devKeys(t)
	withList := func(p string) string {
		var m map[string]any
		_ = json.Unmarshal(dev[p], &m)
		m["allowedIps"] = []string{"198.51.100.0/24"}
		b, _ := json.Marshal(m)
		return string(b)
	}
	for _, p := range []string{apigift.Name, "alchemypay"} {
		stack := awstest.NewStack(t, p, withList(p))
		var h lambda.Handler = awstest.Handler(t, stack, alchemypay.New())
		if p == apigift.Name {
			h = awstest.Handler(t, stack, apigift.New())
		}
		req, err := keys.Request(p, valid[p].variant, []byte(valid[p].body), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		ev := devkit.HTTPEvent(req).Event
		ev.RequestContext.HTTP.SourceIP = "203.0.113.9"
		ev.Headers["x-forwarded-for"] = "198.51.100.7"
		ev.Headers["x-real-ip"] = "198.51.100.7"
		ev.Headers["forwarded"] = "for=198.51.100.7"
		if res := awstest.Invoke(t, h, ev); res.StatusCode != 403 {
			t.Errorf("%s: spoofed forwarding headers got %d %s", p, res.StatusCode, res.Body)
		}
		ev.RequestContext.HTTP.SourceIP = "198.51.100.7"
		ev.Headers["x-forwarded-for"] = "203.0.113.9"
		if res := awstest.Invoke(t, h, ev); res.StatusCode != 200 {
			t.Errorf("%s: allowed source with other forwarding headers got %d %s", p, res.StatusCode, res.Body)
		}
	}
}

func TestHostileInputIsRefusedAndNothingIsKept(t *testing.T) {
	keys, dev := devKeys(t)
	stacks := map[string]*awstest.Stack{}
	handlers := map[string]lambda.Handler{}
	for _, p := range []string{tiki.Name, apigift.Name, "alchemypay", "oslpay"} {
		stacks[p] = awstest.NewStack(t, p, string(dev[p]))
	}
	handlers["tiki"] = awstest.Handler(t, stacks["tiki"], tiki.New())
	handlers["apigift"] = awstest.Handler(t, stacks["apigift"], apigift.New())
	handlers["alchemypay"] = awstest.Handler(t, stacks["alchemypay"], alchemypay.New())
	handlers["oslpay"] = awstest.Handler(t, stacks["oslpay"], oslpay.New())

	var cases []hostileCase
	for _, p := range []string{"tiki", "apigift", "alchemypay", "oslpay"} {
		cases = append(cases, generic(p)...)
	}
	cases = append(cases, specific()...)
	if len(cases) < 60 {
		t.Fatalf("only %d hostile cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.provider+"/"+c.name, func(t *testing.T) {
			req, err := keys.Request(c.provider, c.variant, []byte(c.body), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			ev := devkit.HTTPEvent(req).Event
			if c.mutate != nil {
				c.mutate(&ev)
			}
			res := awstest.Invoke(t, handlers[c.provider], ev)
			if res.StatusCode != c.status || errorCode(res.Body) != c.code {
				t.Errorf("got %d %s, want %d %s", res.StatusCode, res.Body, c.status, c.code)
			}
			for k := range res.Headers {
				if strings.HasPrefix(strings.ToLower(k), "x-webhook-event-") {
					t.Errorf("a %d carries %s", res.StatusCode, k)
				}
			}
		})
	}
	for p, s := range stacks {
		// Nothing but OSL Pay's single-use records, which bind a verified
		// signature to the body it came with and hold only a keyed digest of it.
		n := 0
		for _, it := range s.Items(t) {
			if awskit.Str(it, "sk") != "replay" {
				n++
				continue
			}
			for k := range it {
				switch k {
				case "pk", "sk", "provider", "body_mac", "received_at", "expires_at":
				default:
					t.Errorf("%s: single-use record holds %s", p, k)
				}
			}
		}
		if n != 0 {
			t.Errorf("%s: %d items stored from hostile input", p, n)
		}
		if n := len(s.Messages(t)); n != 0 {
			t.Errorf("%s: %d messages enqueued from hostile input", p, n)
		}
	}
	t.Logf("%d hostile inputs refused", len(cases))
}

// Rejected bodies are never stored, and what is logged about them never holds
// a card number either: a card number in a duplicate key, a field of the wrong
// type, a broken body or a route parameter, in ASCII or in the digits of
// other scripts, leaves no trace in any log line, read by the reference
// reader (cardref.CardRuns).
func TestNoCardNumberInLogsOfRejectedRequests(t *testing.T) {
	keys, dev := devKeys(t)
	const pan = "4111111111111111"
	bodies := []string{
		`{"` + pan + `":1,"` + pan + `":2}`,
		`{"a":{"` + pan + `":1,"` + pan + `":2}}`,
		`{"orderNo":` + pan + `,"status":"` + pan + `"}`,
		`{"type":` + pan + `,"data":{"orderId":"` + pan + `"}}`,
		`{"data":{"order_code":` + pan + `,"main_state":"` + pan + `"}}`,
		`{"orderId":` + pan + `,"status":"` + pan + `"}`,
		`{"` + pan + `":`,
		`{"a":"` + pan + `"` + pan + `}`,
		`{"a":1e` + pan + pan + `}`,
		`{"a":"\u` + pan[:3] + `x"}`,
		`{"٤١١١ ١١١١ ١١١١ ١١١١":1,"٤١١١ ١١١١ ١١١١ ١١١١":2}`,
		`{"orderNo":1,"status":2,"type":3,"data":"４１１１-１１１１-１１１１-１１１１","id":[]}`,
		`{"4१1١ 1111 ๑๑๑๑ 1111":`,
	}
	for _, p := range []string{tiki.Name, apigift.Name, "alchemypay", "oslpay"} {
		stack := awstest.NewStack(t, p, string(dev[p]))
		var h lambda.Handler
		switch p {
		case tiki.Name:
			h = awstest.Handler(t, stack, tiki.New())
		case apigift.Name:
			h = awstest.Handler(t, stack, apigift.New())
		case "alchemypay":
			h = awstest.Handler(t, stack, alchemypay.New())
		default:
			h = awstest.Handler(t, stack, oslpay.New())
		}
		for i, body := range bodies {
			req, err := keys.Request(p, valid[p].variant, []byte(body), time.Now().Add(time.Duration(i)*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			if res := awstest.Invoke(t, h, devkit.HTTPEvent(req).Event); res.StatusCode < 400 || res.StatusCode >= 500 {
				t.Errorf("%s %s: %d", p, body, res.StatusCode)
			}
		}
		for _, l := range awskit.LogLeaks(stack.Logs.String(), pan) {
			t.Errorf("%s: %v", p, l)
		}
		if n := len(stack.EventItems(t)); n != 0 {
			t.Errorf("%s: %d events stored", p, n)
		}
	}
}

// An operator command sent over HTTP is just a webhook body, even signed with
// the provider's own credential: it is refused as one (4xx), and nothing runs —
// an event left stranded beside it is neither sent nor changed.
func TestOperatorCommandsOverHTTPAreWebhooks(t *testing.T) {
	keys, dev := devKeys(t)
	stacks := map[string]*awstest.Stack{}
	for _, p := range []string{tiki.Name, apigift.Name, "alchemypay", "oslpay"} {
		stacks[p] = awstest.NewStack(t, p, string(dev[p]))
	}
	handlers := map[string]lambda.Handler{
		"tiki":       awstest.Handler(t, stacks["tiki"], tiki.New()),
		"apigift":    awstest.Handler(t, stacks["apigift"], apigift.New()),
		"alchemypay": awstest.Handler(t, stacks["alchemypay"], alchemypay.New()),
		"oslpay":     awstest.Handler(t, stacks["oslpay"], oslpay.New()),
	}
	now := time.Now()
	commands := []string{
		`{"redrive":{"olderThan":"0s","sweep":true}}`,
		`{"replay":{"from":"` + now.Add(-time.Hour).UTC().Format(time.RFC3339) + `","to":"` + now.Add(time.Hour).UTC().Format(time.RFC3339) + `"}}`,
		`{"reprocess":{"eventId":"stranded"}}`,
	}
	for p, s := range stacks {
		store := eventstore.New(s.AWS.DynamoDB, s.Table)
		data := []byte(`{}`)
		stranded := &eventstore.Item{Provider: p, EventID: "stranded", Type: p + ".x", Time: now, Data: data, DataSHA256: eventstore.Digest(data),
			Status: eventstore.StatusStored, ReceivedAt: now.Add(-time.Minute)}
		if _, err := store.Create(t.Context(), stranded); err != nil {
			t.Fatal(err)
		}
		if err := store.MarkUnsent(t.Context(), p, "stranded", stranded.ReceivedAt, false); err != nil {
			t.Fatal(err)
		}
		for _, body := range commands {
			for _, signed := range []bool{true, false} {
				req, err := keys.Request(p, valid[p].variant, []byte(body), time.Now())
				if err != nil {
					t.Fatal(err)
				}
				ev := devkit.HTTPEvent(req).Event
				if !signed {
					for k := range ev.Headers {
						if k != "content-type" {
							delete(ev.Headers, k)
						}
					}
				}
				res := awstest.Invoke(t, handlers[p], ev)
				if res.StatusCode < 400 || res.StatusCode >= 500 || strings.Contains(res.Body, `"found"`) || strings.Contains(res.Body, `"matched"`) {
					t.Errorf("%s: %s over HTTP (signed %v): %d %s", p, body, signed, res.StatusCode, res.Body)
				}
			}
		}
		it, err := store.Get(t.Context(), p, "stranded")
		if err != nil || it.Status != eventstore.StatusStored {
			t.Errorf("%s: the stranded event changed: %+v %v", p, it, err)
		}
		if n := len(s.Messages(t)); n != 0 {
			t.Errorf("%s: %d messages sent by commands over HTTP", p, n)
		}
	}
}
