package tiki_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"webhooks/shared/apigw"
	"webhooks/shared/pipeline"
	"webhooks/shared/providers/tiki"
	"webhooks/shared/verify"
)

// The key is the example secret_key of Tiki's register-webhooks document; the
// expected values were computed independently of this code with:
//
//	printf '%s' "$BODY" | openssl dgst -sha1 -hmac 'sjYKaAFXDaS4qxeykux4WL1qMI0gzAc0'
const docKey = "sjYKaAFXDaS4qxeykux4WL1qMI0gzAc0"

var vectors = []struct{ name, body, hex string }{
	{"order example", `{"data":{"date":"2022-10-26T14:22:05+07:00","ref_code":"TR22","order_code":"347171821","main_state":"processing","main_substate":"ready_for_pickup"}}`, "e30bff63bb4a3cb3c236f0506bfdcc0591a179ab"},
	{"stock example", `{"data":{"date":"2023-05-15T15:36:37+07:00","sku":"1377286379376","warehouse":"sgn","qty_salable":60,"seller_product_code":"HOB-8735"}}`, "4201d61c6bde223a6cfe790d3c8f8e5727b264f5"},
	{"empty body", ``, "38f28fb1a4839e8c6bac6d4f0ec536dda3c56bf2"},
}

func TestSignMatchesIndependentVectors(t *testing.T) {
	for _, v := range vectors {
		if got := tiki.Sign(docKey, []byte(v.body)); got != "sha1="+v.hex {
			t.Errorf("%s: Sign = %s, want sha1=%s", v.name, got, v.hex)
		}
	}
}

// authenticate runs what the pipeline runs before the body is read: the
// route (Router), then Authenticate.
func authenticate(r *apigw.Request, sec tiki.Secret) error {
	p := tiki.New()
	route, err := p.Route(r)
	if err != nil {
		return err
	}
	r.Variant = route.Variant
	return p.Authenticate(r, sec)
}

func req(kind, body string, headers map[string]string) *apigw.Request {
	ev := events.APIGatewayV2HTTPRequest{Body: body, Headers: headers, PathParameters: map[string]string{"kind": kind}}
	ev.RequestContext.HTTP.Method = "POST"
	r, err := apigw.Adapt(ev, 0, time.Time{})
	if err != nil {
		panic(err)
	}
	return r
}

func TestAuthenticate(t *testing.T) {
	sec := tiki.Secret{Order: docKey, Stock: "stockKey0123456789abcdefghijklmn"}
	body := vectors[0].body
	good := "sha1=" + vectors[0].hex
	cases := []struct {
		name    string
		kind    string
		headers map[string]string
		body    string
		want    error // nil: accepted
		status  int   // for *pipeline.Error
	}{
		{"valid", "order", map[string]string{"x-signature": good}, body, nil, 0},
		{"header name in any case", "order", map[string]string{"X-Signature": good}, body, nil, 0},
		{"uppercase hex", "order", map[string]string{"x-signature": "sha1=" + strings.ToUpper(vectors[0].hex)}, body, nil, 0},
		{"prefix in upper case", "order", map[string]string{"x-signature": "SHA1=" + vectors[0].hex}, body, nil, 0},
		{"surrounding spaces", "order", map[string]string{"x-signature": " " + good + " "}, body, nil, 0},
		{"missing header", "order", nil, body, verify.ErrMissingCredential, 0},
		{"empty header", "order", map[string]string{"x-signature": ""}, body, verify.ErrMissingCredential, 0},
		{"no prefix", "order", map[string]string{"x-signature": vectors[0].hex}, body, verify.ErrMalformedCredential, 0},
		{"sha256 prefix", "order", map[string]string{"x-signature": "sha256=" + vectors[0].hex}, body, verify.ErrMalformedCredential, 0},
		{"not hex", "order", map[string]string{"x-signature": "sha1=zz"}, body, verify.ErrMalformedCredential, 0},
		{"truncated", "order", map[string]string{"x-signature": good[:len(good)-2]}, body, verify.ErrInvalidCredential, 0},
		{"body changed by one byte", "order", map[string]string{"x-signature": good}, strings.Replace(body, "TR22", "TR23", 1), verify.ErrInvalidCredential, 0},
		{"body with trailing newline", "order", map[string]string{"x-signature": good}, body + "\n", verify.ErrInvalidCredential, 0},
		{"signed with another kind's key", "stock", map[string]string{"x-signature": tiki.Sign(docKey, []byte(body))}, body, verify.ErrInvalidCredential, 0},
		{"kind without a key", "aftersale", map[string]string{"x-signature": tiki.Sign("", []byte(body))}, body, verify.ErrNotConfigured, 0},
		{"unknown kind", "refund", map[string]string{"x-signature": good}, body, nil, 404},
		{"empty kind", "", map[string]string{"x-signature": good}, body, nil, 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := authenticate(req(c.kind, c.body, c.headers), sec)
			switch {
			case c.status != 0:
				var pe *pipeline.Error
				if !errors.As(err, &pe) || pe.Status != c.status {
					t.Fatalf("err = %v, want status %d", err, c.status)
				}
			case c.want == nil && err != nil:
				t.Fatalf("rejected: %v", err)
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

// A base64-encoded body (API Gateway does this for some content types) is
// verified over the decoded bytes.
func TestAuthenticateBase64Body(t *testing.T) {
	body := vectors[1].body
	ev := events.APIGatewayV2HTTPRequest{
		Body: base64.StdEncoding.EncodeToString([]byte(body)), IsBase64Encoded: true,
		Headers: map[string]string{"x-signature": "sha1=" + vectors[1].hex}, PathParameters: map[string]string{"kind": "stock"},
	}
	r, err := apigw.Adapt(ev, 0, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if err := authenticate(r, tiki.Secret{Stock: docKey}); err != nil {
		t.Fatalf("base64 body rejected: %v", err)
	}
}

func TestParseSecret(t *testing.T) {
	p := tiki.New()
	for _, c := range []struct {
		raw string
		ok  bool
	}{
		{`{"order":"a","stock":"b","aftersale":"c"}`, true},
		{`{"order":"a"}`, true},
		{`{"stock":"b","extra":1}`, false}, // a field the contract does not define: fail closed
		{`{"Order":"a"}`, false},
		{`{"order":"a","previousVersionGraceHours":0}`, true},
		{`{"order":"a","PreviousVersionGraceHours":0}`, false},
		{`{}`, false},
		{`{"order":"","stock":"  "}`, false},
		{`{"placeholder":"set me"}`, false},
		{`{"order":42}`, false},
		{`["order"]`, false},
		{``, false},
		{`not json`, false},
	} {
		_, err := p.ParseSecret([]byte(c.raw))
		if (err == nil) != c.ok {
			t.Errorf("ParseSecret(%s) err = %v, want ok=%v", c.raw, err, c.ok)
		}
		if err != nil && strings.Contains(err.Error(), "set me") {
			t.Errorf("error leaks the secret value: %v", err)
		}
	}
}

func TestDecode(t *testing.T) {
	p := tiki.New()
	cases := []struct {
		name, kind, body   string
		typ, subject, code string // code: expected error code
	}{
		{"order", "order", vectors[0].body, tiki.TypeOrder, "347171821", ""},
		{"order without substate", "order", `{"data":{"order_code":"9","main_state":"canceled","extra_info":{"cancel_reason_code":"x"}}}`, tiki.TypeOrder, "9", ""},
		{"stock", "stock", vectors[1].body, tiki.TypeStock, "sgn/1377286379376", ""},
		{"stock negative decimal qty kept", "stock", `{"data":{"sku":"s","warehouse":"w","qty_salable":-1.5e3}}`, tiki.TypeStock, "w/s", ""},
		{"aftersale", "aftersale", `{"data":{"date":"2023-06-01T10:00:00+07:00","ref_code":"FD1","order_code":"77","status":"approved","type":"fd"}}`, tiki.TypeAftersale, "77", ""},
		{"no data", "order", `{"order_code":"1"}`, "", "", pipeline.CodeMissingField},
		{"null data", "order", `{"data":null}`, "", "", pipeline.CodeMissingField},
		{"data not object", "order", `{"data":[1]}`, "", "", pipeline.CodeInvalidField},
		{"missing order_code", "order", `{"data":{"main_state":"x"}}`, "", "", pipeline.CodeMissingField},
		{"empty order_code", "order", `{"data":{"order_code":" ","main_state":"x"}}`, "", "", pipeline.CodeMissingField},
		{"order_code number", "order", `{"data":{"order_code":1,"main_state":"x"}}`, "", "", pipeline.CodeInvalidField},
		{"missing qty", "stock", `{"data":{"sku":"s","warehouse":"w"}}`, "", "", pipeline.CodeMissingField},
		{"qty as string", "stock", `{"data":{"sku":"s","warehouse":"w","qty_salable":"60"}}`, "", "", pipeline.CodeInvalidField},
		{"aftersale missing status", "aftersale", `{"data":{"order_code":"1"}}`, "", "", pipeline.CodeMissingField},
		{"optional field wrong type", "order", `{"data":{"order_code":"1","main_state":"x","reason":5}}`, "", "", pipeline.CodeInvalidField},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev, err := pipeline.DecodeBody(p, req(c.kind, c.body, nil), tiki.Secret{})
			if c.code != "" {
				var pe *pipeline.Error
				if !errors.As(err, &pe) || pe.Code != c.code || pe.Status != 400 {
					t.Fatalf("err = %v, want 400 %s", err, c.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type != c.typ || ev.Subject != c.subject || ev.Key == "" {
				t.Fatalf("got type %q subject %q key %q", ev.Type, ev.Subject, ev.Key)
			}
			if strings.Contains(string(ev.Data), `"data"`) || !strings.HasPrefix(string(ev.Data), "{") {
				t.Errorf("data should be the inner object, got %s", ev.Data)
			}
		})
	}
}

func TestDecodeKeepsNumbersExactlyAndParsesTime(t *testing.T) {
	ev, err := pipeline.DecodeBody(tiki.New(), req("stock", `{"data":{"date":"2023-05-15T15:36:37+07:00","sku":"s","warehouse":"w","qty_salable":12345678901234567890}}`, nil), tiki.Secret{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ev.Data), "12345678901234567890") {
		t.Errorf("number changed: %s", ev.Data)
	}
	if ev.Time.UTC().Format(time.RFC3339) != "2023-05-15T08:36:37Z" {
		t.Errorf("time %v", ev.Time)
	}
}

// Two different status changes of one order are two events; the same change
// is the same event whatever the JSON formatting.
func TestDecodeKeys(t *testing.T) {
	p := tiki.New()
	key := func(body string) string {
		ev, err := pipeline.DecodeBody(p, req("order", body, nil), tiki.Secret{})
		if err != nil {
			t.Fatal(err)
		}
		return ev.Key
	}
	a := key(`{"data":{"date":"2022-10-26T14:22:05+07:00","order_code":"1","main_state":"processing","main_substate":"picking"}}`)
	b := key(`{"data": {"main_substate": "picking", "main_state": "processing", "order_code": "1", "date": "2022-10-26T14:22:05+07:00"}}`)
	c := key(`{"data":{"date":"2022-10-26T15:00:00+07:00","order_code":"1","main_state":"processing","main_substate":"packed"}}`)
	if a != b {
		t.Errorf("same event, different keys")
	}
	if a == c {
		t.Errorf("different status changes share a key")
	}
}

// Card numbers in Tiki's free text are masked before anything is stored; its
// identifiers are kept as sent, even a Luhn-valid 13-digit SKU.
func TestDecodeRedactsFreeText(t *testing.T) {
	body := `{"data":{"date":"2022-10-26T14:22:05+07:00","order_code":"347171821","main_state":"failed","reason":"card 4111 1111 1111 1111 declined","extra_info":{"cancel_reason":"4111111111111111"},"note":4111111111111111}}`
	ev, err := pipeline.DecodeBody(tiki.New(), req(tiki.KindOrder, body, nil), tiki.Secret{Order: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.NewReplacer(" ", "").Replace(string(ev.Data)), "4111111111111111") {
		t.Errorf("card number survives: %s", ev.Data)
	}
	if !strings.Contains(string(ev.Data), `"reason":"card 4111 11** **** 1111 declined"`) || !strings.Contains(string(ev.Data), `"order_code":"347171821"`) {
		t.Errorf("data %s", ev.Data)
	}
	stock := `{"data":{"date":"2023-05-15T15:36:37+07:00","sku":"1377286379376","warehouse":"sgn","qty_salable":60,"seller_product_code":"HOB-8735"}}`
	ev, err = pipeline.DecodeBody(tiki.New(), req(tiki.KindStock, stock, nil), tiki.Secret{Stock: "k"})
	if err != nil || ev.Subject != "sgn/1377286379376" || !strings.Contains(string(ev.Data), `"sku":"1377286379376"`) {
		t.Errorf("stock: %v %+v", err, ev)
	}
}

// Tiki's date is kept as sent when it is a time in the documented layout
// (RFC 3339 to the second); a card number hidden in a fraction of a second,
// or anywhere else under that name, is redacted.
func TestDateKeptOnlyInTheDocumentedLayout(t *testing.T) {
	for date, kept := range map[string]bool{
		"2022-10-26T14:22:05+07:00":                  true,
		"2022-10-26T14:22:05Z":                       true,
		"2022-10-26T14:22:05.4111111111111111+07:00": false,
		"4111 1111 1111 1111":                        false,
	} {
		ev, err := pipeline.DecodeBody(tiki.New(), req("order", `{"data":{"date":"`+date+`","order_code":"1","main_state":"processing"}}`, nil), tiki.Secret{})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(ev.Data), `"date":"`+date+`"`) != kept || strings.Contains(string(ev.Data), "4111111111111111") {
			t.Errorf("date %q stored as %s, want kept %v", date, ev.Data, kept)
		}
		if tiki.IsDate(date) != kept {
			t.Errorf("IsDate(%q) = %v", date, !kept)
		}
	}
}
