package alchemypay

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"webhooks/shared/apigw"
	"webhooks/shared/pipeline"
	"webhooks/shared/verify"
)

const token = "tok-0123456789abcdefghijklmnop"

const seedBody = `{"applyFee":"0","cardAmount":"55","cardCurrency":"EUR","cardId":"1232330814012345678","cardNumber":"5554748800912345","cardType":"2","cryptoAddress":"","cryptoCurrency":"USDT","cryptoCurrencyExchangeRate":"1","currencyExchangeRate":"1.092759","deliveryFee":"0","email":"[email protected]","failReason":"","network":"TRX","orderAmount":"61.91","orderNo":"100217231874691123456","orderTime":"2024-08-09 15:11:09","orderType":"2","paymentAmount":"61.91","rechargeFee":"0.72122094","rechargeMarkup":"0.99","status":"SUCCESS","voucherCode":""}`

func req(tok, ip, body string) *apigw.Request {
	r := &apigw.Request{Method: http.MethodPost, Headers: apigw.Headers{}, PathParams: map[string]string{}, Body: []byte(body)}
	if tok != "" {
		r.PathParams[TokenParam] = tok
	}
	if ip != "" {
		r.SourceIP = netip.MustParseAddr(ip)
	}
	return r
}

func TestParseSecret(t *testing.T) {
	s, err := New().ParseSecret([]byte(`{"urlToken":" ` + token + ` ","allowedIps":["203.0.113.0/24","198.51.100.7"]}`))
	if err != nil || s.URLToken != token || len(s.AllowedIPs) != 2 {
		t.Fatalf("%+v %v", s, err)
	}
	if s, err := New().ParseSecret([]byte(`{"urlToken":"` + token + `","allowedIps":null}`)); err != nil || s.AllowedIPs != nil {
		t.Errorf("null allow-list: %+v %v", s, err)
	}
	for name, raw := range map[string]string{
		"empty":             ``,
		"array":             `[]`,
		"placeholder":       `{"placeholder":"set me"}`,
		"null token":        `{"urlToken":null}`,
		"empty token":       `{"urlToken":"  "}`,
		"number token":      `{"urlToken":123}`,
		"token with slash":  `{"urlToken":"abc/def-0123456789abcdefghij"}`,
		"short token":       `{"urlToken":"short-token"}`,
		"bad allow-list":    `{"urlToken":"abc","allowedIps":["not-an-ip"]}`,
		"allow-list string": `{"urlToken":"abc","allowedIps":"203.0.113.0/24"}`,
		"empty entry":       `{"urlToken":"abc","allowedIps":[""]}`,
	} {
		if _, err := New().ParseSecret([]byte(raw)); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "abc") {
			t.Errorf("%s: error echoes the token: %v", name, err)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	open := Secret{URLToken: token}
	list, _ := verify.ParseAllowList([]string{"203.0.113.0/24"})
	fenced := Secret{URLToken: token, AllowedIPs: list}
	for _, tc := range []struct {
		name    string
		s       Secret
		tok, ip string
		want    error
	}{
		{"right token", open, token, "192.0.2.1", nil},
		{"right token, no source IP, no list", open, token, "", nil},
		{"wrong token", open, token + "x", "192.0.2.1", verify.ErrInvalidCredential},
		{"prefix of token", open, token[:10], "192.0.2.1", verify.ErrInvalidCredential},
		{"token differs in case", open, strings.ToUpper(token), "192.0.2.1", verify.ErrInvalidCredential},
		{"no token", open, "", "192.0.2.1", verify.ErrMissingCredential},
		{"allowed IP", fenced, token, "203.0.113.9", nil},
		{"IPv4-mapped allowed IP", fenced, token, "::ffff:203.0.113.9", nil},
		{"IP outside the list, right token", fenced, token, "192.0.2.1", verify.ErrSourceNotAllowed},
		{"IP outside the list, wrong token", fenced, "nope", "192.0.2.1", verify.ErrSourceNotAllowed},
		{"unknown source IP with a list", fenced, token, "", verify.ErrSourceNotAllowed},
		{"zero secret never matches", Secret{}, "", "192.0.2.1", verify.ErrMissingCredential},
		{"zero secret, any token", Secret{}, "x", "192.0.2.1", verify.ErrInvalidCredential},
	} {
		r := req(tc.tok, tc.ip, seedBody)
		if tc.ip != "" {
			r.SourceIP = netip.MustParseAddr(tc.ip).Unmap()
		}
		// As the pipeline runs them: the source check (with AWSCURRENT), then the token.
		err := New().CheckSource(r, tc.s)
		if err == nil {
			err = New().Authenticate(r, tc.s)
		}
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestDecodeSeed(t *testing.T) {
	ev, err := pipeline.DecodeBody(New(), req(token, "", seedBody), Secret{URLToken: token})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type != TypeCardOrder || ev.Subject != "100217231874691123456" {
		t.Errorf("%+v", ev)
	}
	var data map[string]any
	if err := json.Unmarshal(ev.Data, &data); err != nil {
		t.Fatal(err)
	}
	if data["cardNumber"] != "555474******2345" || data["cardId"] != "1232330814012345678" || data["email"] != "[email protected]" || data["orderAmount"] != "61.91" {
		t.Errorf("data %s", ev.Data)
	}
	if len(data) != 23 {
		t.Errorf("%d fields, want the seed's 23", len(data))
	}
	if strings.Contains(string(ev.Data), "5554748800912345") || strings.Contains(ev.Key, "5554748800912345") {
		t.Error("full card number survived")
	}
}

// An event is a state (the status) of an entity (the order and its type):
// retries and re-serialisations agree, a new status or another order does not.
func TestDecodeKeys(t *testing.T) {
	key := func(body string) string {
		ev, err := pipeline.DecodeBody(New(), req(token, "", body), Secret{URLToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if ev.Entity == "" {
			t.Fatalf("%s: not a state of an entity", body)
		}
		return pipeline.Key(ev.Entity, ev.Key)
	}
	k := key(seedBody)
	same := []string{
		strings.Replace(seedBody, `"failReason":""`, `"failReason":"retry"`, 1),
		`{"status":"SUCCESS","orderType":"2","orderNo":"100217231874691123456"}`,
	}
	for _, b := range same {
		if key(b) != k {
			t.Errorf("same order and status, different key: %s", b)
		}
	}
	for _, b := range []string{
		strings.Replace(seedBody, `"SUCCESS"`, `"FAIL"`, 1),
		strings.Replace(seedBody, `"orderType":"2"`, `"orderType":"1"`, 1),
		strings.Replace(seedBody, `123456"`, `123457"`, 1),
	} {
		if key(b) == k {
			t.Errorf("different event, same key: %s", b)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, tc := range []struct{ body, code string }{
		{`{"status":"SUCCESS"}`, pipeline.CodeMissingField},
		{`{"orderNo":null,"status":"SUCCESS"}`, pipeline.CodeMissingField},
		{`{"orderNo":" ","status":"SUCCESS"}`, pipeline.CodeMissingField},
		{`{"orderNo":"1"}`, pipeline.CodeMissingField},
		{`{"orderNo":"1","status":""}`, pipeline.CodeMissingField},
		{`{"orderNo":1,"status":"SUCCESS"}`, pipeline.CodeInvalidField},
		{`{"orderNo":"1","status":true}`, pipeline.CodeInvalidField},
		{`{"orderNo":"1","status":"SUCCESS","orderType":2}`, pipeline.CodeInvalidField},
		{`{"orderNo":"1","status":"SUCCESS","cardNumber":5554748800912345}`, pipeline.CodeInvalidField},
		{`{"orderNo":"1","status":"SUCCESS","email":{"a":1}}`, pipeline.CodeInvalidField},
		{`[]`, pipeline.CodeMalformedJSON},
	} {
		_, err := pipeline.DecodeBody(New(), req(token, "", tc.body), Secret{URLToken: token})
		var pe *pipeline.Error
		if !errors.As(err, &pe) || pe.Code != tc.code || pe.Status != 400 {
			t.Errorf("%s: got %v, want 400 %s", tc.body, err, tc.code)
			continue
		}
		if strings.Contains(pe.Error(), "5554748800912345") {
			t.Errorf("%s: error echoes the card number", tc.body)
		}
	}
	// Any status string, null optional fields, extra fields of any type are fine.
	for _, b := range []string{
		`{"orderNo":"1","status":"SOMETHING_NEW"}`,
		`{"orderNo":"1","status":"INIT","cardNumber":null,"email":null}`,
		`{"orderNo":"1","status":"INIT","extra":{"n":1},"list":[1,2]}`,
	} {
		if _, err := pipeline.DecodeBody(New(), req(token, "", b), Secret{URLToken: token}); err != nil {
			t.Errorf("%s: %v", b, err)
		}
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"seed card number", `{"cardNumber":"5554748800912345"}`, `{"cardNumber":"555474******2345"}`},
		{"19 digits", `{"cardNumber":"6212345678901234567"}`, `{"cardNumber":"621234*********4567"}`},
		{"grouped", `{"cardNumber":"5554 7488 0091 2345"}`, `{"cardNumber":"5554 74** **** 2345"}`},
		{"too short to show 6+4", `{"cardNumber":"41111111111111"}`, `{"cardNumber":"**************"}`},
		{"already masked", `{"cardNumber":"555474******2345"}`, `{"cardNumber":"555474******2345"}`},
		{"empty", `{"cardNumber":""}`, `{"cardNumber":""}`},
		{"other spellings", `{"card_no":"4111111111111111","PAN":"5555555555554444"}`, `{"card_no":"411111******1111","PAN":"555555******4444"}`},
		{"nested and numeric", `{"extra":{"cardNum":4111111111111111}}`, `{"extra":{"cardNum":"411111******1111"}}`},
		{"in free text", `{"failReason":"card 4111 1111 1111 1111 declined"}`, `{"failReason":"card 4111 11** **** 1111 declined"}`},
		{"in an unknown field", `{"note":"4111111111111111"}`, `{"note":"411111******1111"}`},
		{"cardId kept even if Luhn-valid", `{"cardId":"4111111111111111"}`, `{"cardId":"4111111111111111"}`},
		{"orderNo kept", `{"orderNo":"4111111111111111"}`, `{"orderNo":"4111111111111111"}`},
		{"only orderNo and cardId are exempt", `{"cryptoAddress":"4111111111111111","voucherCode":"4111-1111-1111-1111"}`, `{"cryptoAddress":"411111******1111","voucherCode":"4111-11**-****-1111"}`},
		{"exempt only at the top level", `{"extra":{"orderNo":"4111111111111111"}}`, `{"extra":{"orderNo":"411111******1111"}}`},
		{"number in an undocumented field", `{"n":4111111111111111}`, `{"n":"411111******1111"}`},
		{"touching letters", `{"failReason":"card4111111111111111x"}`, `{"failReason":"card411111******1111x"}`},
		{"dots, underscores, slashes, doubled spaces", `{"a":"4111.1111.1111.1111","b":"4111_1111_1111_1111","c":"4111/1111/1111/1111","d":"4111  1111  1111  1111"}`,
			`{"a":"4111.11**.****.1111","b":"4111_11**_****_1111","c":"4111/11**/****/1111","d":"4111  11**  ****  1111"}`},
		{"object key", `{"4111111111111111":"x"}`, `{"411111******1111":"x"}`},
		{"HTML not escaped", `{"email":"a<b>@example.com"}`, `{"email":"a<b>@example.com"}`},
	} {
		got, err := Redactor.Redact([]byte(tc.in))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if string(got) != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

// orderTime, a documented time, is kept as sent when it is a valid time in
// Alchemy Pay's layout, even when its 14 digits pass the Luhn check
// (2024-08-09 15:11:19 does); anything else under that name is redacted.
func TestOrderTimeKeptAsSent(t *testing.T) {
	for _, c := range []struct {
		orderTime string
		kept      bool
	}{
		{"2024-08-09 15:11:19", true}, // Luhn-valid digits
		{"2024-08-09 15:11:09", true},
		{"4111 1111 1111 1111", false},
		{"2024-08-09 15:11:19 4111111111111111", false},
		{"2024-13-09 15:11:12", false}, // Luhn-valid digits, but no month 13: not a time
	} {
		body := strings.Replace(seedBody, `"orderTime":"2024-08-09 15:11:09"`, `"orderTime":"`+c.orderTime+`"`, 1)
		ev, err := pipeline.DecodeBody(New(), req(token, "", body), Secret{URLToken: token})
		if err != nil {
			t.Fatal(err)
		}
		var data map[string]any
		_ = json.Unmarshal(ev.Data, &data)
		if got := data["orderTime"]; (got == c.orderTime) != c.kept || (!c.kept && strings.Contains(fmt.Sprint(got), "4111111111111111")) {
			t.Errorf("orderTime %q stored as %q, kept %v", c.orderTime, got, c.kept)
		}
	}
}
