package alchemypay_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
	"webhooks/internal/devkit"
	"webhooks/internal/devkit/alchemypaydev"
	"webhooks/shared/lambdamain"
	"webhooks/shared/providers/alchemypay"
)

func TestMain(m *testing.M) { awstest.Main(m) }

const eventsDir = "../../../events"

// planted are the card numbers the samples and test bodies carry outside
// the fields the contract keeps, as digits: the provider's documented sample
// (which fails the Luhn check, so only its digits betray it) and two
// Luhn-valid numbers. Any other Luhn-valid number is found by the reference
// reader anyway.
var planted = []string{"5554748800912345", "4111111111111111", "5555555555554444"}

func devSecret(t *testing.T) string {
	t.Helper()
	return awstest.DevSecret(t, eventsDir, alchemypay.Name, nil)
}

func devToken(t *testing.T) string {
	var s struct {
		URLToken string `json:"urlToken"`
	}
	if err := json.Unmarshal([]byte(devSecret(t)), &s); err != nil {
		t.Fatal(err)
	}
	return s.URLToken
}

func loadSamples(t *testing.T) []devkit.Sample {
	t.Helper()
	return awstest.Samples(t, eventsDir, alchemypay.Name, 10) // sorted by name
}

func sample(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	for _, s := range loadSamples(t) {
		if s.Name == name {
			return s.Event
		}
	}
	t.Fatalf("no sample %s", name)
	return events.APIGatewayV2HTTPRequest{}
}

// assertNoPAN runs the reference reader (cardref.CardRuns, through awskit)
// over every attribute of every item, every message (body, group, ids,
// attributes) and every log line: no card number outside what the contract
// keeps, and no planted number at all.
func assertNoPAN(t *testing.T, stack *awstest.Stack, msgs []awskit.Message) {
	t.Helper()
	stack.CheckNoCardNumbers(t, alchemypaydev.Kit, msgs, planted...)
}

func messageTexts(t *testing.T, stack *awstest.Stack) ([]awskit.Message, []map[string]any) {
	msgs := stack.Messages(t)
	var ces []map[string]any
	for _, m := range msgs {
		ce := awstest.CloudEvent(t, m.Body)
		ce["_group"], ce["_dedup"], ce["_attrs"] = m.GroupID, m.DeduplicationID, m.Attributes
		ces = append(ces, ce)
	}
	return msgs, ces
}

// Every sample behaves as its name says; accepted ones are stored and queued
// once with the card number masked; nothing of a rejected one is kept.
func TestSamplesAgainstAWS(t *testing.T) {
	stack := awstest.NewStack(t, alchemypay.Name, devSecret(t))
	h := awstest.Handler(t, stack, alchemypay.New())
	want := map[string]struct {
		status int
		code   string
	}{
		"invalid-token":                  {401, "unauthorized"},
		"invalid-empty-token":            {401, "unauthorized"},
		"invalid-malformed-json":         {400, "malformed_json"},
		"invalid-missing-order-no":       {400, "missing_field"},
		"invalid-missing-status":         {400, "missing_field"},
		"invalid-order-type-not-string":  {400, "invalid_field"},
		"invalid-card-number-not-string": {400, "invalid_field"},
	}
	accepted := 0
	for _, s := range loadSamples(t) {
		res := awstest.Invoke(t, h, s.Event)
		if devkit.MustReject(s.Name) {
			w, ok := want[s.Name]
			if !ok {
				t.Errorf("%s: no expectation", s.Name)
				continue
			}
			if res.StatusCode != w.status || awstest.ErrorCode(t, res.Body) != w.code {
				t.Errorf("%s: %d %s, want %d %s", s.Name, res.StatusCode, res.Body, w.status, w.code)
			}
			continue
		}
		accepted++
		if res.StatusCode != 200 || res.Body != `{"success":true}` || res.Headers["X-Webhook-Outcome"] != "accepted" {
			t.Errorf("%s: %d %s %v, want 200 {\"success\":true} accepted", s.Name, res.StatusCode, res.Body, res.Headers)
		}
	}
	// Every card order is a state of its order: its event is its only item
	// (the entity's partition holds its states; no record beside them).
	items := stack.EventItems(t)
	if len(items) != accepted || len(stack.Items(t)) != accepted {
		t.Errorf("%d event items (%d in all), want %d events and nothing else", len(items), len(stack.Items(t)), accepted)
	}
	texts, ces := messageTexts(t, stack)
	if len(ces) != accepted {
		t.Fatalf("%d messages, want %d", len(ces), accepted)
	}
	groups := map[string]int{}
	for _, ce := range ces {
		id, _ := ce["id"].(string)
		it, ok := items[id]
		if !ok || awskit.Str(it, "status") != "queued" {
			t.Errorf("message %s: item %v", id, ok)
		}
		data, _ := ce["data"].(map[string]any)
		if ce["type"] != alchemypay.TypeCardOrder || ce["source"] != "webhooks/alchemypay" || ce["subject"] != data["orderNo"] {
			t.Errorf("envelope %v", ce)
		}
		if ce["_group"] != data["orderNo"] || ce["_dedup"] != id {
			t.Errorf("group %v dedup %v", ce["_group"], ce["_dedup"])
		}
		attrs, _ := ce["_attrs"].(map[string]string)
		if attrs["provider"] != "alchemypay" || attrs["type"] != alchemypay.TypeCardOrder {
			t.Errorf("attributes %v", attrs)
		}
		pan, _ := data["cardNumber"].(string)
		if !strings.Contains(pan, "****") {
			t.Errorf("card number %q not masked", pan)
		}
		groups[ce["_group"].(string)]++
		var stored map[string]any
		if err := json.Unmarshal([]byte(awskit.Str(it, "data")), &stored); err != nil || fmt.Sprint(stored) != fmt.Sprint(data) {
			t.Errorf("stored data %v differs from queued %v", stored, data)
		}
	}
	if groups["100217231874691200001"] != 2 {
		t.Errorf("the two statuses of the virtual-card order should share a group: %v", groups)
	}
	assertNoPAN(t, stack, texts)
}

// Alchemy Pay retries for 25 hours (~30 deliveries): one event. A new status of
// the order is a second event in the same message group.
func TestRetriesAreOneEventAndNewStatusIsAnother(t *testing.T) {
	stack := awstest.NewStack(t, alchemypay.Name, devSecret(t))
	h := awstest.Handler(t, stack, alchemypay.New())
	tok := devToken(t)
	var ids []string
	for i := 0; i < 30; i++ {
		// Some retries re-serialise the body; it is the same event.
		body := alchemypaydev.Order(map[string]any{"orderNo": "900000000000000000001", "status": "INIT"})
		if i%2 == 1 {
			var m map[string]any
			_ = json.Unmarshal(body, &m)
			body, _ = json.Marshal(m)
		}
		res := awstest.Invoke(t, h, alchemypaydev.Event("retry", tok, body).Event)
		if res.StatusCode != 200 || res.Body != `{"success":true}` {
			t.Fatalf("delivery %d: %d %s", i, res.StatusCode, res.Body)
		}
		if want := map[bool]string{true: "accepted", false: "duplicate"}[i == 0]; res.Headers["X-Webhook-Outcome"] != want {
			t.Errorf("delivery %d outcome %q, want %q", i, res.Headers["X-Webhook-Outcome"], want)
		}
		ids = append(ids, res.Headers["X-Webhook-Event-Id"])
	}
	for _, id := range ids {
		if id != ids[0] || id == "" {
			t.Fatalf("event ids differ across retries: %v", ids)
		}
	}
	for _, status := range []string{"SUCCESS", "SUCCESS", "REFUNDING"} {
		res := awstest.Invoke(t, h, alchemypaydev.Event("next", tok, alchemypaydev.Order(map[string]any{"orderNo": "900000000000000000001", "status": status})).Event)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d %s", status, res.StatusCode, res.Body)
		}
	}
	texts, ces := messageTexts(t, stack)
	if len(ces) != 3 {
		t.Fatalf("%d messages, want 3 (INIT, SUCCESS, REFUNDING)", len(ces))
	}
	var statuses []string
	for _, ce := range ces {
		if ce["_group"] != "900000000000000000001" || ce["subject"] != "900000000000000000001" {
			t.Errorf("group %v subject %v", ce["_group"], ce["subject"])
		}
		statuses = append(statuses, ce["data"].(map[string]any)["status"].(string))
	}
	if strings.Join(statuses, ",") != "INIT,SUCCESS,REFUNDING" {
		t.Errorf("statuses in order %v", statuses)
	}
	if n := len(stack.EventItems(t)); n != 3 {
		t.Errorf("%d items, want 3", n)
	}
	assertNoPAN(t, stack, texts)
}

// The card number is masked everywhere: items (every attribute), messages,
// logs; also when it is spelled differently, nested, in a key, in an
// undocumented field, written in free text or in the digits of other
// scripts (one script, or several within one number).
func TestNoFullCardNumberAnywhere(t *testing.T) {
	stack := awstest.NewStack(t, alchemypay.Name, devSecret(t))
	h := awstest.Handler(t, stack, alchemypay.New())
	tok := devToken(t)
	for _, s := range loadSamples(t) {
		awstest.Invoke(t, h, s.Event)
	}
	bodies := []string{
		`{"orderNo":"800000000000000000001","status":"SUCCESS","cardNumber":"4111 1111 1111 1111","failReason":"card 5555-5555-5555-4444 was declined"}`,
		`{"orderNo":"800000000000000000002","status":"FAIL","card_number":"5554748800912345","extra":{"pan":5555555555554444,"list":["4111111111111111"]}}`,
		`{"orderNo":"800000000000000000003","status":"FAIL","failReason":"carte ٤١١١ ١١١١ ١١١١ ١١١١ refusée","voucherCode":"４１１１－１１１１－１１１１－１１１１",` +
			`"extra":{"nested":[{"deep":"५५५५ ५५५५ ५५५५ ४४४४"}]},"4१1١ 1111 ๑๑๑๑ 1111":"a key","email":"4111_1111.1111/1111@example.com","cardNumber":"๕๕๕๔ ๗๔๘๘ ๐๐๙๑ ๒๓๔๕"}`,
	}
	for _, b := range bodies {
		if res := awstest.Invoke(t, h, alchemypaydev.Event("x", tok, []byte(b)).Event); res.StatusCode != 200 {
			t.Fatalf("%d %s", res.StatusCode, res.Body)
		}
	}
	// A replay of the same bodies, and a failing storage path, must not leak either.
	for _, b := range bodies {
		awstest.Invoke(t, h, alchemypaydev.Event("x", tok, []byte(b)).Event)
	}
	texts, ces := messageTexts(t, stack)
	if len(ces) != 9 {
		t.Errorf("%d messages, want 9", len(ces))
	}
	assertNoPAN(t, stack, texts)
	for _, it := range stack.EventItems(t) {
		// The stored digest is of the redacted data stored beside it, not of the raw body.
		sum := sha256.Sum256([]byte(awskit.Str(it, "data")))
		if d := awskit.Str(it, "data_sha256"); d != hex.EncodeToString(sum[:]) {
			t.Errorf("data_sha256 %q is not the digest of the stored data", d)
		}
	}
}

func TestAllowList(t *testing.T) {
	tok := devToken(t)
	stack := awstest.NewStack(t, alchemypay.Name, `{"urlToken":"`+tok+`","allowedIps":["198.51.100.0/24"]}`)
	h := awstest.Handler(t, stack, alchemypay.New())
	ev := sample(t, "recharge-success") // from 203.0.113.10
	res := awstest.Invoke(t, h, ev)
	if res.StatusCode != 403 || awstest.ErrorCode(t, res.Body) != "forbidden" {
		t.Errorf("outside the list: %d %s, want 403 forbidden", res.StatusCode, res.Body)
	}
	// The allow-list is checked first: a wrong token from outside is 403 too.
	if res := awstest.Invoke(t, h, sample(t, "invalid-token")); res.StatusCode != 403 {
		t.Errorf("outside the list, wrong token: %d", res.StatusCode)
	}
	if n := len(stack.Items(t)); n != 0 {
		t.Fatalf("%d items stored for refused sources", n)
	}
	ev.RequestContext.HTTP.SourceIP = "198.51.100.77"
	if res := awstest.Invoke(t, h, ev); res.StatusCode != 200 {
		t.Errorf("inside the list: %d %s", res.StatusCode, res.Body)
	}
	bad := sample(t, "invalid-token")
	bad.RequestContext.HTTP.SourceIP = "198.51.100.77"
	if res := awstest.Invoke(t, h, bad); res.StatusCode != 401 {
		t.Errorf("inside the list, wrong token: %d, want 401", res.StatusCode)
	}
	if n := len(stack.Messages(t)); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

func TestTokenRotation(t *testing.T) {
	stack := awstest.NewStack(t, alchemypay.Name, `{"urlToken":"old-token-0123456789abcdef"}`)
	h := awstest.Handler(t, stack, alchemypay.New())
	body := func(n string) []byte {
		return alchemypaydev.Order(map[string]any{"orderNo": "70000000000000000000" + n})
	}
	if res := awstest.Invoke(t, h, alchemypaydev.Event("a", "old-token-0123456789abcdef", body("1")).Event); res.StatusCode != 200 {
		t.Fatalf("before rotation: %d", res.StatusCode)
	}
	if _, err := stack.AWS.PutSecret(t.Context(), stack.SecretID, `{"urlToken":"new-token-0123456789abcdef"}`); err != nil {
		t.Fatal(err)
	}
	for tok, want := range map[string]int{"new-token-0123456789abcdef": 200, "old-token-0123456789abcdef": 200, "other-token-0123456789abcd": 401} {
		if res := awstest.Invoke(t, h, alchemypaydev.Event("b", tok, body(fmt.Sprint(len(tok)%10))).Event); res.StatusCode != want {
			t.Errorf("token %s: %d, want %d", tok[:5], res.StatusCode, want)
		}
	}
}

func TestConfigurationErrors(t *testing.T) {
	dev := devToken(t)
	for name, secret := range map[string]string{"missing": "", "placeholder": `{"placeholder":"x"}`, "empty token": `{"urlToken":""}`,
		"weak token": `{"urlToken":"short-token"}`, "23 characters": `{"urlToken":"abcdefghij0123456789xyz"}`,
		// Fail closed: a misspelt allow-list must never leave none, a grace
		// in another case never the default, an unknown field never pass.
		"allow-list misspelt":         `{"urlToken":"` + dev + `","allowedIp":["10.0.0.0/8"]}`,
		"allow-list in caps":          `{"urlToken":"` + dev + `","AllowedIps":["10.0.0.0/8"]}`,
		"grace in another case":       `{"urlToken":"` + dev + `","PreviousVersionGraceHours":0}`,
		"token in another case":       `{"URLToken":"` + dev + `"}`,
		"a field not in the contract": `{"urlToken":"` + dev + `","note":"203.0.113.7"}`} {
		stack := awstest.NewStack(t, alchemypay.Name, secret)
		h := awstest.Handler(t, stack, alchemypay.New())
		// Logged when the function starts, naming the problem but not the value.
		lambdamain.CheckSecret(t.Context(), h, lambdamain.NewLogger(stack.Logs))
		if logs := stack.Logs.String(); !strings.Contains(logs, "configuration error") || strings.Contains(logs, "short-token") || strings.Contains(logs, "abcdefghij") ||
			strings.Contains(logs, dev) || strings.Contains(logs, "10.0.0.0") || strings.Contains(logs, "203.0.113.7") {
			t.Errorf("%s: start-up log %s", name, logs)
		}
		// Even the empty token that an empty secret would "match" is refused,
		// and a weak token is never a working password.
		for _, tok := range []string{"", devToken(t), "short-token", "abcdefghij0123456789xyz"} {
			res := awstest.Invoke(t, h, alchemypaydev.Event("x", tok, alchemypaydev.Order(nil)).Event)
			if res.StatusCode != 500 || awstest.ErrorCode(t, res.Body) != "configuration_error" {
				t.Errorf("%s, token %q: %d %s, want 500 configuration_error", name, tok, res.StatusCode, res.Body)
			}
		}
		if n := len(stack.Items(t)); n != 0 {
			t.Errorf("%s: %d items", name, n)
		}
	}
}

func TestLogsCarryNoTokenOrPersonalData(t *testing.T) {
	stack := awstest.NewStack(t, alchemypay.Name, devSecret(t))
	h := awstest.Handler(t, stack, alchemypay.New())
	for _, s := range loadSamples(t) {
		awstest.Invoke(t, h, s.Event)
	}
	logs := stack.Logs.String()
	for _, s := range []string{devToken(t), "not-the-configured-token", "[email protected]", "555474", "1232330814012345678"} {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain %q", s)
		}
	}
	for _, want := range []string{`"provider":"alchemypay"`, `"outcome":"accepted"`, `"outcome":"rejected"`, `"routeKey":"POST /webhooks/alchemypay/{token}"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s", want)
		}
	}
}

func TestOversizedBodyIs413(t *testing.T) {
	stack := awstest.NewStack(t, alchemypay.Name, devSecret(t))
	h := awstest.Handler(t, stack, alchemypay.New())
	body := alchemypaydev.Order(map[string]any{"failReason": strings.Repeat("a", 300<<10)})
	res := awstest.Invoke(t, h, alchemypaydev.Event("big", devToken(t), body).Event)
	if res.StatusCode != 413 || awstest.ErrorCode(t, res.Body) != "payload_too_large" {
		t.Errorf("%d %s", res.StatusCode, res.Body)
	}
	if n := len(stack.Items(t)); n != 0 {
		t.Errorf("%d items", n)
	}
}
