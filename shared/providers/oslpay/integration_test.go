package oslpay_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
	"webhooks/internal/devkit"
	"webhooks/internal/devkit/oslpaydev"
	"webhooks/shared/providers/oslpay"
)

func TestMain(m *testing.M) { awstest.Main(m) }

const eventsDir = "../../../events"

type devSecretT struct {
	AppID     string `json:"appId"`
	PublicKey string `json:"publicKey"`
}

func devSecret(t *testing.T) (string, devSecretT) {
	t.Helper()
	var s devSecretT
	return awstest.DevSecret(t, eventsDir, oslpay.Name, &s), s
}

// prodSecret is the development key pair with the production default tolerance.
func prodSecret(t *testing.T) string {
	_, s := devSecret(t)
	b, _ := json.Marshal(map[string]any{"appId": s.AppID, "publicKey": s.PublicKey})
	return string(b)
}

func devKey(t *testing.T) *rsa.PrivateKey {
	k, err := oslpaydev.DevKey(eventsDir)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func loadSamples(t *testing.T) []devkit.Sample {
	t.Helper()
	return awstest.Samples(t, eventsDir, oslpay.Name, 20) // sorted by name
}

func sampleEvent(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	for _, s := range loadSamples(t) {
		if s.Name == name {
			return s.Event
		}
	}
	t.Fatalf("no sample %s", name)
	return events.APIGatewayV2HTTPRequest{}
}

type reply struct {
	Code        string `json:"code"`
	Msg         string `json:"msg"`
	Data        any    `json:"data"`
	RequestTime int64  `json:"requestTime"`
	Error       string `json:"error"`
	raw         map[string]json.RawMessage
}

func parseReply(t *testing.T, body string) reply {
	t.Helper()
	var r reply
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("reply is not JSON: %s", body)
	}
	_ = json.Unmarshal([]byte(body), &r.raw)
	if _, ok := r.raw["data"]; !ok || string(r.raw["data"]) != "null" {
		t.Errorf("reply lacks data: null: %s", body)
	}
	if r.RequestTime < time.Now().Add(-time.Minute).UnixMilli() || r.RequestTime > time.Now().Add(time.Minute).UnixMilli() {
		t.Errorf("requestTime %d is not now", r.RequestTime)
	}
	return r
}

// deliver signs body at the given time with the development key.
func deliver(t *testing.T, appID string, at time.Time, body []byte) events.APIGatewayV2HTTPRequest {
	t.Helper()
	hd, err := oslpay.SignedHeaders(devKey(t), crypto.SHA256, appID, at)
	if err != nil {
		t.Fatal(err)
	}
	return oslpaydev.Event("t", hd, body).Event
}

func withBody(ev events.APIGatewayV2HTTPRequest, body []byte) events.APIGatewayV2HTTPRequest {
	ev.Body = string(body)
	h := map[string]string{}
	for k, v := range ev.Headers {
		h[k] = v
	}
	ev.Headers = h
	return ev
}

// Every sample file behaves as named (in file-name order, as a runner would).
func TestSamplesAgainstAWS(t *testing.T) {
	secret, _ := devSecret(t)
	stack := awstest.NewStack(t, oslpay.Name, secret)
	h := awstest.Handler(t, stack, oslpay.New())
	want := map[string]struct {
		status    int
		code, osl string
	}{
		"invalid-forged-signature":               {401, "unauthorized", "00003"},
		"invalid-signature-for-other-timestamp":  {401, "unauthorized", "00003"},
		"invalid-signature-not-base64":           {401, "unauthorized", "00003"},
		"invalid-missing-signature":              {401, "unauthorized", "00003"},
		"invalid-missing-timestamp":              {401, "unauthorized", "00003"},
		"invalid-missing-app-id":                 {401, "unauthorized", "00003"},
		"invalid-timestamp-not-numeric":          {401, "unauthorized", "00003"},
		"invalid-stale-timestamp":                {401, "unauthorized", "00003"},
		"invalid-future-timestamp":               {401, "unauthorized", "00003"},
		"invalid-foreign-app-id":                 {401, "unauthorized", "00003"},
		"invalid-foreign-body-appid":             {401, "unauthorized", "00003"},
		"tampered-captured-headers-foreign-body": {401, "unauthorized", "00003"},
		"invalid-malformed-json":                 {400, "malformed_json", "00002"},
		"invalid-missing-type":                   {400, "missing_field", "00002"},
		"invalid-missing-order-id":               {400, "missing_field", "00002"},
		"invalid-data-not-object":                {400, "invalid_field", "00002"},
	}
	wantType := map[string]string{
		"order-processing": oslpay.TypeOrderStatus, "order-completed": oslpay.TypeOrderStatus, "order-createed": oslpay.TypeOrderStatus,
		"order-failed": oslpay.TypeOrderStatus, "order-unknown-state": oslpay.TypeOrderStatus, "kyc-status-change": oslpay.TypeKYCStatus,
		"defi-account-bind-status": oslpay.TypeDefiAccountBind, "defi-account-auth-status": oslpay.TypeDefiAccountAuth,
		"unknown-type": "oslpay.wallet_freeze_status", "unknown-type-unsafe-characters": "oslpay.Risk_Alert_v2_",
	}
	accepted := 0
	for _, s := range loadSamples(t) {
		res := awstest.Invoke(t, h, s.Event)
		r := parseReply(t, res.Body)
		if devkit.MustReject(s.Name) {
			w, ok := want[s.Name]
			if !ok {
				t.Errorf("%s: no expectation", s.Name)
				continue
			}
			if res.StatusCode != w.status || r.Error != w.code || r.Code != w.osl || r.Msg == "" {
				t.Errorf("%s: %d %s, want %d %s %s", s.Name, res.StatusCode, res.Body, w.status, w.code, w.osl)
			}
			continue
		}
		accepted++
		if res.StatusCode != 200 || r.Code != "00000" || r.Msg != "success" || r.Error != "" {
			t.Errorf("%s: %d %s", s.Name, res.StatusCode, res.Body)
		}
		if got := res.Headers["X-Webhook-Event-Type"]; got != wantType[s.Name] {
			t.Errorf("%s: type %q, want %q", s.Name, got, wantType[s.Name])
		}
	}
	if accepted != len(wantType) {
		t.Errorf("%d accepted samples, want %d", accepted, len(wantType))
	}
	items := stack.EventItems(t)
	if len(items) != accepted {
		t.Errorf("%d items, want %d", len(items), accepted)
	}
	msgs := stack.Messages(t)
	if len(msgs) != accepted {
		t.Fatalf("%d messages, want %d", len(msgs), accepted)
	}
	for _, m := range msgs {
		ce := awstest.CloudEvent(t, m.Body)
		id, _ := ce["id"].(string)
		if it, ok := items[id]; !ok || awskit.Str(it, "status") != "queued" {
			t.Errorf("message %s without a queued item", id)
		}
		data, _ := ce["data"].(map[string]any)
		var subject any
		switch ce["type"] {
		case oslpay.TypeOrderStatus, "oslpay.Risk_Alert_v2_":
			subject = data["orderId"]
		default:
			subject = data["userId"]
		}
		if ce["subject"] != subject || m.GroupID != subject || m.DeduplicationID != id || ce["source"] != "webhooks/oslpay" {
			t.Errorf("%v: subject %v group %s, want %v", ce["type"], ce["subject"], m.GroupID, subject)
		}
		if m.Attributes["provider"] != "oslpay" || m.Attributes["type"] != ce["type"] {
			t.Errorf("attributes %v", m.Attributes)
		}
		if _, has := data["privateSecret"]; has {
			t.Errorf("%v keeps privateSecret", ce["type"])
		}
	}
	assertNothingContains(t, stack, msgs, "dev-app-private-secret-do-not-store")
	stack.CheckNoCardNumbers(t, oslpaydev.Kit, msgs)
}

func assertNothingContains(t *testing.T, stack *awstest.Stack, msgs any, needles ...string) {
	t.Helper()
	b, _ := json.Marshal(stack.Items(t))
	m, _ := json.Marshal(msgs)
	for _, n := range needles {
		for where, text := range map[string]string{"items": string(b), "messages": string(m), "logs": stack.Logs.String()} {
			if strings.Contains(text, n) {
				t.Errorf("%s contain %q", where, n)
			}
		}
	}
}

// The signature does not cover the body: captured headers with a new body are
// refused and leave nothing behind; the same headers with the same body are a
// duplicate; a re-signed retry of the same event is a duplicate.
func TestCapturedHeadersWithNewBody(t *testing.T) {
	stack := awstest.NewStack(t, oslpay.Name, prodSecret(t))
	h := awstest.Handler(t, stack, oslpay.New())
	_, dev := devSecret(t)
	body := oslpaydev.Body(oslpay.KindOrderStatus, oslpaydev.Order(dev.AppID, "R1", "PROCESSING", nil))
	orig := deliver(t, dev.AppID, time.Now(), body)
	res := awstest.Invoke(t, h, orig)
	if res.StatusCode != 200 || parseReply(t, res.Body).Code != "00000" {
		t.Fatalf("original: %d %s", res.StatusCode, res.Body)
	}
	before := len(stack.Items(t))

	for name, nb := range map[string][]byte{
		"new state":            oslpaydev.Body(oslpay.KindOrderStatus, oslpaydev.Order(dev.AppID, "R1", "COMPLETED", nil)),
		"other order":          oslpaydev.Body(oslpay.KindOrderStatus, oslpaydev.Order(dev.AppID, "R2", "COMPLETED", nil)),
		"other type":           oslpaydev.Body(oslpay.KindKYCStatus, map[string]any{"userId": "U9", "kycStatus": "APPROVED"}),
		"same event re-spaced": []byte(strings.ReplaceAll(string(body), "\n", "")),
	} {
		res := awstest.Invoke(t, h, withBody(orig, nb))
		r := parseReply(t, res.Body)
		if res.StatusCode != 401 || r.Code != "00003" || r.Error != "unauthorized" {
			t.Errorf("%s: %d %s, want 401", name, res.StatusCode, res.Body)
		}
	}
	if after := len(stack.Items(t)); after != before {
		t.Errorf("%d items after the replays, want %d", after, before)
	}
	// The captured request itself, again: a duplicate.
	res = awstest.Invoke(t, h, orig)
	if res.StatusCode != 200 || res.Headers["X-Webhook-Outcome"] != "duplicate" || parseReply(t, res.Body).Code != "00000" {
		t.Errorf("same headers and body: %d %s %v", res.StatusCode, res.Body, res.Headers)
	}
	// OSL re-signs its retry: new timestamp, same event → duplicate.
	res = awstest.Invoke(t, h, deliver(t, dev.AppID, time.Now().Add(2*time.Second), body))
	if res.StatusCode != 200 || res.Headers["X-Webhook-Outcome"] != "duplicate" {
		t.Errorf("re-signed retry: %d %s %v", res.StatusCode, res.Body, res.Headers)
	}
	// A new state, properly signed: a new event in the same group.
	res = awstest.Invoke(t, h, deliver(t, dev.AppID, time.Now().Add(3*time.Second),
		oslpaydev.Body(oslpay.KindOrderStatus, oslpaydev.Order(dev.AppID, "R1", "COMPLETED", nil))))
	if res.StatusCode != 200 || res.Headers["X-Webhook-Outcome"] != "accepted" {
		t.Errorf("new state: %d %s", res.StatusCode, res.Body)
	}
	msgs := stack.Messages(t)
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	for i, state := range []string{"PROCESSING", "COMPLETED"} {
		ce := awstest.CloudEvent(t, msgs[i].Body)
		if msgs[i].GroupID != "R1" || ce["data"].(map[string]any)["state"] != state {
			t.Errorf("message %d: group %s data %v", i, msgs[i].GroupID, ce["data"])
		}
	}
	// The replay guard stores a digest of the credential, not the signature.
	for _, it := range stack.Items(t) {
		if awskit.Str(it, "sk") == "replay" && strings.Contains(awskit.Str(it, "pk"), "timestamp=") {
			t.Errorf("replay item keeps the credential in clear: %s", awskit.Str(it, "pk"))
		}
	}
}

// Headers captured from a delivery that was answered 400 (bad field,
// malformed JSON, wrong content type, foreign body appid) cannot carry another
// body: the signature is bound to the first body before anything parses it.
// The 401 carries no event header.
func TestCapturedHeadersAfterARejection(t *testing.T) {
	_, dev := devSecret(t)
	good := oslpaydev.Body(oslpay.KindOrderStatus, oslpaydev.Order(dev.AppID, "F1", "COMPLETED", nil))
	for name, first := range map[string][]byte{
		"malformed JSON":     []byte(`{"type":"order_status_change","data":{`),
		"missing orderId":    []byte(`{"type":"order_status_change","data":{"state":"COMPLETED"}}`),
		"wrong field type":   []byte(`{"type":5,"data":{}}`),
		"duplicate key":      []byte(`{"type":"a","type":"b"}`),
		"not an object":      []byte(`[1]`),
		"foreign body appid": oslpaydev.Body(oslpay.KindOrderStatus, oslpaydev.Order("someone-else", "F1", "COMPLETED", nil)),
	} {
		t.Run(name, func(t *testing.T) {
			stack := awstest.NewStack(t, oslpay.Name, prodSecret(t))
			h := awstest.Handler(t, stack, oslpay.New())
			orig := deliver(t, dev.AppID, time.Now(), first)
			if res := awstest.Invoke(t, h, orig); res.StatusCode < 400 || res.StatusCode >= 500 {
				t.Fatalf("first delivery: %d %s", res.StatusCode, res.Body)
			}
			res := awstest.Invoke(t, h, withBody(orig, good))
			if res.StatusCode != 401 || parseReply(t, res.Body).Code != "00003" {
				t.Fatalf("captured headers with a forged body: %d %s", res.StatusCode, res.Body)
			}
			for k := range res.Headers {
				if strings.HasPrefix(strings.ToLower(k), "x-webhook-event-") {
					t.Errorf("the 401 carries %s", k)
				}
			}
			if n := len(stack.EventItems(t)); n != 0 {
				t.Errorf("%d events stored", n)
			}
			if n := len(stack.Messages(t)); n != 0 {
				t.Errorf("%d messages", n)
			}
		})
	}
}

// Property: whatever the first body with a set of signed headers was —
// generated at random: valid, malformed, truncated, a wrong type, another
// order — the same headers with any other body are refused 401 and leave
// nothing stored or queued; the same headers with the same body get the
// answer they got the first time.
func TestSignedHeadersCarryOneBodyOnly(t *testing.T) {
	stack := awstest.NewStack(t, oslpay.Name, prodSecret(t))
	h := awstest.Handler(t, stack, oslpay.New())
	_, dev := devSecret(t)
	rng := rand.New(rand.NewPCG(10, 3))
	gen := func(i int) []byte {
		order := oslpaydev.Body(oslpay.KindOrderStatus, oslpaydev.Order(dev.AppID, fmt.Sprintf("P%d-%d", i, rng.IntN(1000)), "COMPLETED", nil))
		switch rng.IntN(6) {
		case 0:
			return order
		case 1:
			return order[:rng.IntN(len(order))] // truncated
		case 2:
			return []byte(strings.Replace(string(order), `"orderId"`, `"orderID"`, 1)) // missing field
		case 3:
			return []byte(`{"type":` + fmt.Sprint(rng.IntN(100)) + `}`)
		case 4:
			return append([]byte(" \n"), order...) // the same JSON, other bytes
		default:
			return []byte(strings.Replace(string(order), `"COMPLETED"`, `"FAILED"`, 1))
		}
	}
	accepted := 0
	at := time.Now()
	for i := 0; i < 24; i++ {
		first, second := gen(i), gen(i+1000)
		if string(first) == string(second) {
			continue
		}
		orig := deliver(t, dev.AppID, at.Add(time.Duration(i)*time.Millisecond), first)
		r1 := awstest.Invoke(t, h, orig)
		if r1.StatusCode == 200 {
			accepted++
		}
		if r := awstest.Invoke(t, h, withBody(orig, second)); r.StatusCode != 401 {
			t.Fatalf("case %d: first %q got %d; then %q got %d, want 401", i, first, r1.StatusCode, second, r.StatusCode)
		}
		if r := awstest.Invoke(t, h, orig); r.StatusCode != r1.StatusCode {
			t.Fatalf("case %d: the same delivery again got %d, first %d", i, r.StatusCode, r1.StatusCode)
		}
	}
	if n := len(stack.EventItems(t)); n != accepted {
		t.Errorf("%d events stored, %d deliveries accepted", n, accepted)
	}
	if n := len(stack.Messages(t)); n != accepted {
		t.Errorf("%d messages, %d deliveries accepted", n, accepted)
	}
}

// The stored digest is of the stored (sanitised) data, never of the raw body,
// whose secret fields the data drops: reading the table must not let anyone
// test guesses of privateSecret.
func TestStoredDigestIsOfTheStoredForm(t *testing.T) {
	stack := awstest.NewStack(t, oslpay.Name, prodSecret(t))
	h := awstest.Handler(t, stack, oslpay.New())
	_, dev := devSecret(t)
	body := oslpaydev.Body(oslpay.KindOrderStatus, oslpaydev.Order(dev.AppID, "D1", "COMPLETED", map[string]any{"privateSecret": "guess-me-123"}))
	res := awstest.Invoke(t, h, deliver(t, dev.AppID, time.Now(), body))
	if res.StatusCode != 200 {
		t.Fatalf("%d %s", res.StatusCode, res.Body)
	}
	rawSum := sha256.Sum256(body)
	for _, it := range stack.Items(t) {
		for k, v := range it {
			b, _ := json.Marshal(v)
			if strings.Contains(string(b), hex.EncodeToString(rawSum[:])) {
				t.Errorf("attribute %s holds the SHA-256 of the raw body", k)
			}
		}
		if awskit.Str(it, "sk") == "event" {
			data := awskit.Str(it, "data")
			sum := sha256.Sum256([]byte(data))
			if awskit.Str(it, "data_sha256") != hex.EncodeToString(sum[:]) || strings.Contains(data, "guess-me") {
				t.Errorf("data_sha256 %s is not the digest of the stored data %s", awskit.Str(it, "data_sha256"), data)
			}
		}
	}
	assertNothingContains(t, stack, stack.Messages(t), "guess-me-123")
}

// With the production tolerance (300 s), timestamps further than that in
// either direction are refused.
func TestTimestampWindow(t *testing.T) {
	stack := awstest.NewStack(t, oslpay.Name, prodSecret(t))
	h := awstest.Handler(t, stack, oslpay.New())
	_, dev := devSecret(t)
	for i, tc := range []struct {
		skew time.Duration
		want int
	}{
		{-10 * time.Minute, 401}, {-301 * time.Second, 401}, {10 * time.Minute, 401}, {301 * time.Second, 401},
		{-4 * time.Minute, 200}, {4 * time.Minute, 200}, {0, 200},
		{-20 * 365 * 24 * time.Hour, 401}, {20 * 365 * 24 * time.Hour, 401},
	} {
		body := oslpaydev.Body(oslpay.KindKYCStatus, map[string]any{"userId": "W" + string(rune('A'+i)), "kycStatus": "PENDING"})
		res := awstest.Invoke(t, h, deliver(t, dev.AppID, time.Now().Add(tc.skew), body))
		if res.StatusCode != tc.want {
			t.Errorf("skew %v: %d %s, want %d", tc.skew, res.StatusCode, res.Body, tc.want)
		}
	}
	if n := len(stack.Messages(t)); n != 3 {
		t.Errorf("%d messages, want 3", n)
	}
	// The committed samples carry fixed timestamps: with the production tolerance
	// they are refused as stale (the development secret's 10-year tolerance is
	// what keeps them valid for the local run).
	if res := awstest.Invoke(t, h, sampleEvent(t, "order-processing")); res.StatusCode != 401 {
		t.Errorf("fixed-time sample under the 300 s window: %d", res.StatusCode)
	}
}

func TestForeignAppID(t *testing.T) {
	stack := awstest.NewStack(t, oslpay.Name, prodSecret(t))
	h := awstest.Handler(t, stack, oslpay.New())
	_, dev := devSecret(t)
	own := oslpaydev.Body(oslpay.KindOrderStatus, oslpaydev.Order(dev.AppID, "F1", "PROCESSING", nil))
	foreign := oslpaydev.Body(oslpay.KindOrderStatus, oslpaydev.Order("someone-else", "F1", "PROCESSING", nil))
	topLevel := []byte(`{"type":"kyc_status_change","appId":"someone-else","data":{"userId":"U1","kycStatus":"APPROVED"}}`)
	now := time.Now()
	for name, ev := range map[string]events.APIGatewayV2HTTPRequest{
		"header appId of another app": deliver(t, "someone-else", now, own),
		"body appid of another app":   deliver(t, dev.AppID, now.Add(time.Millisecond), foreign),
		"top-level appId":             deliver(t, dev.AppID, now.Add(2*time.Millisecond), topLevel),
	} {
		res := awstest.Invoke(t, h, ev)
		if res.StatusCode != 401 || parseReply(t, res.Body).Error != "unauthorized" {
			t.Errorf("%s: %d %s", name, res.StatusCode, res.Body)
		}
	}
	if n := len(stack.EventItems(t)); n != 0 {
		t.Errorf("%d events stored", n)
	}
	// A signature that verified is bound to the first body it came with, before
	// the body is looked at: its headers with another body are refused too,
	// whatever became of the first body (here: refused for its appid).
	if res := awstest.Invoke(t, h, withBody(deliver(t, dev.AppID, now.Add(time.Millisecond), foreign), own)); res.StatusCode != 401 {
		t.Errorf("own body under the headers of a refused delivery: %d %s", res.StatusCode, res.Body)
	}
	// A header signature that never verified binds nothing.
	if res := awstest.Invoke(t, h, deliver(t, dev.AppID, now.Add(5*time.Millisecond), own)); res.StatusCode != 200 {
		t.Errorf("own body, freshly signed: %d %s", res.StatusCode, res.Body)
	}
}

func TestUnknownTypesAreRecorded(t *testing.T) {
	stack := awstest.NewStack(t, oslpay.Name, prodSecret(t))
	h := awstest.Handler(t, stack, oslpay.New())
	_, dev := devSecret(t)
	now := time.Now()
	bodies := []string{
		`{"type":"wallet_freeze_status","data":{"userId":"U7","freezeStatus":"FROZEN"}}`,
		`{"type":"card.refund/status","data":{"orderId":"O7","refundState":"DONE"}}`,
		`{"type":"no_entity","data":{"something":true}}`,
		`{"type":"scalar_data","data":42}`,
		`{"type":"no_data"}`,
	}
	for i, b := range bodies {
		res := awstest.Invoke(t, h, deliver(t, dev.AppID, now.Add(time.Duration(i)*time.Millisecond), []byte(b)))
		if res.StatusCode != 200 || parseReply(t, res.Body).Code != "00000" {
			t.Errorf("%s: %d %s", b, res.StatusCode, res.Body)
		}
	}
	msgs := stack.Messages(t)
	if len(msgs) != len(bodies) {
		t.Fatalf("%d messages, want %d", len(msgs), len(bodies))
	}
	got := map[string]string{}
	for _, m := range msgs {
		ce := awstest.CloudEvent(t, m.Body)
		got[ce["type"].(string)] = ce["subject"].(string)
		if ce["subject"] == "" || m.GroupID == "" {
			t.Errorf("%v: empty subject", ce["type"])
		}
	}
	if got["oslpay.wallet_freeze_status"] != "U7" || got["oslpay.card_refund_status"] != "O7" {
		t.Errorf("types and subjects %v", got)
	}
	for _, typ := range []string{"oslpay.no_entity", "oslpay.scalar_data", "oslpay.no_data"} {
		if s, ok := got[typ]; !ok || len(s) != 32 {
			t.Errorf("%s: subject %q, want the event id", typ, s)
		}
	}
	stack.CheckNoCardNumbers(t, oslpaydev.Kit, msgs)
}

// Card numbers planted wherever OSL Pay's data does not keep them (userId on
// an order, free text, undocumented fields, nested, in a key, as a
// number, in an undocumented type; spaced, dashed, in the digits of other
// scripts) survive nowhere: not in an item (any attribute), a message (body,
// group, ids, attributes) or a log line, read by the reference reader. The
// ids and times the contract keeps stay as sent, Luhn-valid or not.
func TestNoFullCardNumberAnywhere(t *testing.T) {
	stack := awstest.NewStack(t, oslpay.Name, prodSecret(t))
	h := awstest.Handler(t, stack, oslpay.New())
	_, dev := devSecret(t)
	const luhnOrderID, luhnMillis = "1002172318746911234", "1723187479007" // kept as sent
	bodies := [][]byte{
		oslpaydev.Body(oslpay.KindOrderStatus, oslpaydev.Order(dev.AppID, luhnOrderID, "COMPLETED", map[string]any{
			"userId": "4111111111111111", "updateTime": luhnMillis, "errorMessage": "card 5555-5555-5555-4444 declined",
			"merchantUser": "٤١١١ ١١١١ ١١١١ ١١١١", "txId": "４１１１１１１１１１１１１１１１",
			"riskInfo": map[string]any{"cards": []any{map[string]any{"last": "5555 5555 5555 4444"}}, "4111-1111-1111-1111": true},
		})),
		oslpaydev.Body(oslpay.KindOrderStatus, oslpaydev.Order(dev.AppID, "R-2", "PROCESSING", map[string]any{
			"userId": "U-2", "riskScore": 4111111111111111, "address": "4१1١ 1111 ๑๑๑๑ 1111", "tag": "5555_5555.5555/4444", "cardNumber": "5554 7488 0091 2345",
		})),
		oslpaydev.Body(oslpay.KindKYCStatus, map[string]any{"userId": luhnOrderID, "kycStatus": "APPROVED", "updateTime": luhnMillis,
			"remark": "id card ५५५५ ५५५५ ५५५५ ४४४४", "appid": dev.AppID}),
		[]byte(`{"type":"card_4111111111111111_status","data":{"orderId":"O-3","note":"4111 1111 1111 1111","pan":"5554748800912345"}}`),
		[]byte(`{"type":"wallet_freeze","data":{"userId":"U-4","freezeReason":"card 4111111111111111","orderId":" "}}`),
	}
	now := time.Now()
	for i, b := range bodies {
		res := awstest.Invoke(t, h, deliver(t, dev.AppID, now.Add(time.Duration(i)*time.Millisecond), b))
		if res.StatusCode != 200 || parseReply(t, res.Body).Code != "00000" {
			t.Fatalf("%s: %d %s", b, res.StatusCode, res.Body)
		}
	}
	msgs := stack.Messages(t)
	if len(msgs) != len(bodies) {
		t.Fatalf("%d messages, want %d", len(msgs), len(bodies))
	}
	stack.CheckNoCardNumbers(t, oslpaydev.Kit, msgs, "4111111111111111", "5555555555554444", "5554748800912345")
	// What the contract keeps is kept: the Luhn-valid ids and time.
	kept := 0
	for _, m := range msgs {
		data, _ := awstest.CloudEvent(t, m.Body)["data"].(map[string]any)
		if data["orderId"] == luhnOrderID || data["userId"] == luhnOrderID {
			kept++
			if data["updateTime"] != luhnMillis {
				t.Errorf("updateTime %v, sent %s", data["updateTime"], luhnMillis)
			}
		}
	}
	if kept != 2 {
		t.Errorf("%d messages keep the Luhn-valid id, want 2", kept)
	}
}

func TestRepliesKeepOSLShape(t *testing.T) {
	stack := awstest.NewStack(t, oslpay.Name, prodSecret(t))
	h := awstest.Handler(t, stack, oslpay.New())
	_, dev := devSecret(t)
	big := deliver(t, dev.AppID, time.Now(), []byte(`{"type":"x","data":{"pad":"`+strings.Repeat("a", 300<<10)+`"}}`))
	res := awstest.Invoke(t, h, big)
	if r := parseReply(t, res.Body); res.StatusCode != 413 || r.Code != "00005" || r.Error != "payload_too_large" {
		t.Errorf("413: %d %s", res.StatusCode, res.Body)
	}
	get := deliver(t, dev.AppID, time.Now(), []byte(`{}`))
	get.RequestContext.HTTP.Method = "GET"
	res = awstest.Invoke(t, h, get)
	if r := parseReply(t, res.Body); res.StatusCode != 405 || r.Code != "00004" {
		t.Errorf("405: %d %s", res.StatusCode, res.Body)
	}
	// A broken secret is a configuration error, never "verification skipped".
	for _, secret := range []string{"", `{"placeholder":"x"}`, `{"appId":"a","publicKey":"not a key"}`} {
		s := awstest.NewStack(t, oslpay.Name, secret)
		h := awstest.Handler(t, s, oslpay.New())
		res := awstest.Invoke(t, h, deliver(t, dev.AppID, time.Now(), []byte(`{"type":"x"}`)))
		if r := parseReply(t, res.Body); res.StatusCode != 500 || r.Code != "00001" || r.Error != "configuration_error" {
			t.Errorf("secret %q: %d %s", secret, res.StatusCode, res.Body)
		}
	}
}

func TestLogsCarryNoSecrets(t *testing.T) {
	secret, _ := devSecret(t)
	stack := awstest.NewStack(t, oslpay.Name, secret)
	h := awstest.Handler(t, stack, oslpay.New())
	for _, s := range loadSamples(t) {
		awstest.Invoke(t, h, s.Event)
	}
	logs := stack.Logs.String()
	sig := sampleEvent(t, "order-processing").Headers["signature"]
	for _, s := range []string{"dev-app-private-secret-do-not-store", sig[:20], "MIIBIjAN", "TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeL"} {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain %q", s)
		}
	}
	for _, want := range []string{`"provider":"oslpay"`, `"outcome":"accepted"`, `"outcome":"rejected"`, `"eventType":"oslpay.order.status_changed"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s", want)
		}
	}
}

// The record binding signed headers to their first body outlives every
// secret version that can still verify those headers: during a rotation's
// grace period the previous version, with a larger tolerance, still accepts a
// timestamp the current one refuses, so the record is kept for the larger
// tolerance whichever version verified the delivery. (Kept for the current
// version's 60 s, it would expire while the previous version's 2 hours still
// verify the captured headers with a forged body.)
func TestSingleUseRecordOutlivesEveryVerifyingVersion(t *testing.T) {
	_, dev := devSecret(t)
	version := func(tol int) string {
		b, _ := json.Marshal(map[string]any{"appId": dev.AppID, "publicKey": dev.PublicKey, "toleranceSeconds": tol})
		return string(b)
	}
	stack := awstest.NewStack(t, oslpay.Name, version(7200))
	if _, err := stack.AWS.PutSecret(t.Context(), stack.SecretID, version(60)); err != nil {
		t.Fatal(err)
	}
	h := awstest.Handler(t, stack, oslpay.New())
	received := time.Now()
	body := oslpaydev.Body(oslpay.KindOrderStatus, oslpaydev.Order(dev.AppID, "T1", "PROCESSING", nil))
	if res := awstest.Invoke(t, h, deliver(t, dev.AppID, received, body)); res.StatusCode != 200 {
		t.Fatalf("%d %s", res.StatusCode, res.Body)
	}
	// Only the previous version verifies a timestamp 30 minutes old.
	old := deliver(t, dev.AppID, received.Add(-30*time.Minute), body)
	if res := awstest.Invoke(t, h, old); res.StatusCode != 200 {
		t.Fatalf("previous version, 30 minutes old: %d %s", res.StatusCode, res.Body)
	}
	exps := awskit.SingleUseExpiries(stack.Items(t))
	for _, exp := range exps {
		if want := received.Add(2*7200*time.Second + time.Minute).Unix(); exp < want-5 {
			t.Errorf("single-use record expires at %d, want at least %d (the previous version's tolerance)", exp, want)
		}
	}
	if len(exps) != 2 {
		t.Fatalf("%d single-use records, want 2", len(exps))
	}
}
