package pipeline_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
	"webhooks/shared/apigw"
	"webhooks/shared/jsonx"
	"webhooks/shared/pan"
	"webhooks/shared/pipeline"
	"webhooks/shared/verify"
)

func TestMain(m *testing.M) { awstest.Main(m) }

// testProvider exercises the pipeline's optional paths: a token header, an
// allow-list, an Enricher that "decrypts" with a key, single-use credentials.
type testProvider struct{}

type testSecret struct {
	Token string   `json:"token"`
	Key   string   `json:"key"`
	Allow []string `json:"allow"`
}

func (testProvider) Name() string { return "testprov" }

func (testProvider) IsEventType(t string) bool { return t == "testprov.thing" || t == "testprov.other" }

func (testProvider) ParseSecret(raw []byte) (testSecret, error) {
	var s testSecret
	if err := json.Unmarshal(raw, &s); err != nil || s.Token == "" {
		return s, errors.New("token required")
	}
	return s, nil
}

func (testProvider) CheckSource(r *apigw.Request, s testSecret) error {
	al, err := verify.ParseAllowList(s.Allow)
	if err != nil {
		return err
	}
	return al.Check(r.SourceIP)
}

func (testProvider) Authenticate(r *apigw.Request, s testSecret) error {
	if !verify.EqualSecret(r.Headers.Get("x-token"), s.Token) {
		return verify.ErrInvalidCredential
	}
	return nil
}

// SingleUse: an x-credential header is a credential that does not cover the body.
func (testProvider) SingleUse(r *apigw.Request, _ testSecret) pipeline.Credential {
	c := r.Headers.Get("x-credential")
	return pipeline.Credential{ID: c, Key: []byte("signature-of-" + c), TTL: time.Hour}
}

// Classify requires a string id; the whole body is stored, with card
// numbers masked everywhere but id and sealed.
func (testProvider) Classify(_ *apigw.Request, sent jsonx.Value, _ testSecret) (pipeline.Redaction, error) {
	if id := sent.Get("id"); id.Kind() != jsonx.String || id.Text() == "" {
		return pipeline.Redaction{}, pipeline.Malformed(pipeline.CodeMissingField, "id is required")
	}
	return pipeline.Redaction{Policy: pan.Policy{Keep: map[string]bool{"id": true, "sealed": true}}, Data: sent}, nil
}

func (testProvider) Decode(_ *apigw.Request, body pipeline.Body, _ testSecret) (*pipeline.Event, error) {
	id := body.Stored.Get("id").Text()
	return &pipeline.Event{Type: "testprov.thing", Subject: id, Key: id}, nil
}

// Enrich "decrypts" sealed: only the key "good" opens it.
func (testProvider) Enrich(ev *pipeline.Event, _ jsonx.Value, s testSecret) (json.RawMessage, error) {
	var m map[string]any
	_ = json.Unmarshal(ev.Data, &m)
	if _, ok := m["sealed"]; !ok {
		return ev.Data, nil
	}
	if s.Key != "good" {
		return nil, pipeline.Quarantine("sealed field does not open with the configured key", nil)
	}
	m["opened"] = "PLAINTEXT-" + m["sealed"].(string)
	delete(m, "sealed")
	return json.Marshal(m)
}

func event(body string, headers map[string]string, ip string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{RouteKey: "POST /t", RawPath: "/t", Body: body, Headers: map[string]string{"content-type": "application/json"}}
	for k, v := range headers {
		ev.Headers[k] = v
	}
	ev.RequestContext.HTTP.Method = "POST"
	ev.RequestContext.HTTP.SourceIP = ip
	return ev
}

// base64Event carries bytes that are not UTF-8, as API Gateway sends them.
func base64Event(body string, headers map[string]string) events.APIGatewayV2HTTPRequest {
	ev := event(base64.StdEncoding.EncodeToString([]byte(body)), headers, "203.0.113.1")
	ev.IsBase64Encoded = true
	return ev
}

func TestQuarantineThenReprocess(t *testing.T) { quarantineThenReprocess(t, inMemory) }

var quarantineThenReprocess = register("QuarantineThenReprocess", func(t *testing.T, on backend) {
	stack := newStack(t, on, `{"token":"t1","key":"wrong"}`)
	h := newHandler(t, stack)
	ev := event(`{"id":"e1","sealed":"abc"}`, map[string]string{"x-token": "t1"}, "203.0.113.1")
	res := awstest.Invoke(t, h, ev)
	if res.StatusCode != 200 || res.Headers["X-Webhook-Outcome"] != "quarantined" {
		t.Fatalf("got %d %v", res.StatusCode, res.Headers)
	}
	id := res.Headers["X-Webhook-Event-Id"]
	items := stack.EventItems(t)
	if it := items[id]; awskit.Str(it, "status") != "quarantined" || !strings.Contains(awskit.Str(it, "reason"), "does not open") || awskit.Str(it, "quarantine_pk") != "testprov" {
		t.Fatalf("quarantined item: %v", it)
	}
	if n := len(stack.Messages(t)); n != 0 {
		t.Fatalf("%d messages for a quarantined event", n)
	}
	// Redelivered while the key is still wrong: acknowledged, still not queued.
	if res := awstest.Invoke(t, h, ev); res.StatusCode != 200 || res.Headers["X-Webhook-Outcome"] != "duplicate" {
		t.Fatalf("redelivery: %d %v", res.StatusCode, res.Headers)
	}
	// Reprocess with the key still wrong keeps it quarantined.
	out, err := h.Invoke(context.Background(), []byte(`{"reprocess":{"eventId":"`+id+`"}}`))
	if err != nil || !strings.Contains(string(out), `"status":"quarantined"`) {
		t.Fatalf("reprocess with wrong key: %s %v", out, err)
	}
	// The operator fixes the secret and re-processes by direct invocation.
	stack.putSecret(t, `{"token":"t1","key":"good"}`)
	out, err = h.Invoke(context.Background(), []byte(`{"reprocess":{"eventId":"`+id+`"}}`))
	if err != nil || !strings.Contains(string(out), `"status":"queued"`) {
		t.Fatalf("reprocess after the fix: %s %v", out, err)
	}
	msgs := stack.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	if !strings.Contains(msgs[0].Body, "PLAINTEXT-abc") {
		t.Errorf("message lacks the enriched data: %s", msgs[0].Body)
	}
	for _, it := range stack.Items(t) {
		for k, v := range it {
			if s, _ := json.Marshal(v); strings.Contains(string(s), "PLAINTEXT") {
				t.Errorf("enriched plaintext stored in attribute %s", k)
			}
		}
	}
})

// A fresh handler (a new Lambda instance) with the fixed secret: the next
// delivery of the quarantined event releases it and queues it exactly once.
func TestRedeliveryAfterFixReleasesQuarantine(t *testing.T) {
	redeliveryAfterFixReleasesQuarantine(t, inMemory)
}

var redeliveryAfterFixReleasesQuarantine = register("RedeliveryAfterFixReleasesQuarantine", func(t *testing.T, on backend) {
	stack := newStack(t, on, `{"token":"t1","key":"wrong"}`)
	h := newHandler(t, stack)
	ev := event(`{"id":"e2","sealed":"xyz"}`, map[string]string{"x-token": "t1"}, "203.0.113.1")
	if res := awstest.Invoke(t, h, ev); res.Headers["X-Webhook-Outcome"] != "quarantined" {
		t.Fatalf("not quarantined: %v", res.Headers)
	}
	stack.putSecret(t, `{"token":"t1","key":"good"}`)
	h2 := newHandler(t, stack)
	for i := 0; i < 2; i++ {
		if res := awstest.Invoke(t, h2, ev); res.StatusCode != 200 {
			t.Fatalf("delivery %d: %d %s", i, res.StatusCode, res.Body)
		}
	}
	msgs := stack.Messages(t)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Body, "PLAINTEXT-xyz") {
		t.Fatalf("messages %v", msgs)
	}
	for _, it := range stack.EventItems(t) {
		if awskit.Str(it, "status") != "queued" || awskit.Str(it, "quarantine_pk") != "" || awskit.Str(it, "reason") != "" {
			t.Errorf("released item %v", it)
		}
	}
	// Reprocessing a queued event is refused, not re-sent.
	id := ""
	for k := range stack.EventItems(t) {
		id = k
	}
	if _, err := h2.Reprocess(context.Background(), id); !errors.Is(err, pipeline.ErrNoReprocess) {
		t.Errorf("reprocess of a queued event: %v", err)
	}
	if _, err := h2.Reprocess(context.Background(), "nope"); err == nil {
		t.Errorf("reprocess of an unknown event succeeded")
	}
})

func TestSingleUseCredential(t *testing.T) { singleUseCredential(t, inMemory) }

var singleUseCredential = register("SingleUseCredential", func(t *testing.T, on backend) {
	stack := newStack(t, on, `{"token":"t1"}`)
	h := newHandler(t, stack)
	cred := map[string]string{"x-token": "t1", "x-credential": "sig-1"}
	if res := awstest.Invoke(t, h, event(`{"id":"a"}`, cred, "")); res.StatusCode != 200 {
		t.Fatalf("first: %d %s", res.StatusCode, res.Body)
	}
	// Same credential, same body: the same delivery again.
	if res := awstest.Invoke(t, h, event(`{"id":"a"}`, cred, "")); res.StatusCode != 200 || res.Headers["X-Webhook-Outcome"] != "duplicate" {
		t.Fatalf("same body: %d %v", res.StatusCode, res.Headers)
	}
	// Same credential, another body: a replay.
	if res := awstest.Invoke(t, h, event(`{"id":"b"}`, cred, "")); res.StatusCode != 401 {
		t.Fatalf("replayed credential with another body: %d %s", res.StatusCode, res.Body)
	}
	if n := len(stack.EventItems(t)); n != 1 {
		t.Errorf("%d events stored, want 1", n)
	}
	if n := len(stack.Messages(t)); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
})

func TestRequestChecks(t *testing.T) { requestChecks(t, inMemory) }

var requestChecks = register("RequestChecks", func(t *testing.T, on backend) {
	stack := newStack(t, on, `{"token":"t1","allow":["203.0.113.0/24"]}`)
	h := newHandler(t, stack)
	ok := map[string]string{"x-token": "t1"}
	get := event(`{"id":"a"}`, ok, "203.0.113.1")
	get.RequestContext.HTTP.Method = "GET"
	cases := []struct {
		name   string
		ev     events.APIGatewayV2HTTPRequest
		status int
		code   string
	}{
		{"outside allow-list, right token", event(`{"id":"a"}`, ok, "198.51.100.1"), 403, pipeline.CodeForbidden},
		{"outside allow-list, wrong token", event(`{"id":"a"}`, map[string]string{"x-token": "no"}, "198.51.100.1"), 403, pipeline.CodeForbidden},
		{"no source address", event(`{"id":"a"}`, ok, ""), 403, pipeline.CodeForbidden},
		{"wrong token", event(`{"id":"a"}`, map[string]string{"x-token": "t2"}, "203.0.113.1"), 401, pipeline.CodeUnauthorized},
		{"method", get, 405, pipeline.CodeMethodNotAllowed},
		{"content type", event(`{"id":"a"}`, map[string]string{"x-token": "t1", "content-type": "application/x-www-form-urlencoded"}, "203.0.113.1"), 415, pipeline.CodeUnsupportedMedia},
		{"not json", event(`id=a`, ok, "203.0.113.1"), 400, pipeline.CodeMalformedJSON},
		{"duplicate key", event(`{"id":"a","id":"b"}`, ok, "203.0.113.1"), 400, pipeline.CodeDuplicateKey},
		{"invalid utf-8", base64Event("{\"id\":\"\xff\"}", ok), 400, pipeline.CodeInvalidEncoding},
		{"bad base64", func() events.APIGatewayV2HTTPRequest {
			e := event("!!", ok, "203.0.113.1")
			e.IsBase64Encoded = true
			return e
		}(), 400, pipeline.CodeInvalidEncoding},
		{"missing field", event(`{"x":1}`, ok, "203.0.113.1"), 400, pipeline.CodeMissingField},
		{"accepted", event(`{"id":"a"}`, ok, "203.0.113.1"), 200, ""},
		{"content type with charset", event(`{"id":"b"}`, map[string]string{"x-token": "t1", "content-type": "application/json; charset=utf-8"}, "203.0.113.1"), 200, ""},
	}
	for _, c := range cases {
		res := awstest.Invoke(t, h, c.ev)
		if res.StatusCode != c.status || (c.code != "" && awstest.ErrorCode(t, res.Body) != c.code) {
			t.Errorf("%s: %d %s, want %d %s", c.name, res.StatusCode, res.Body, c.status, c.code)
		}
	}
	if n := len(stack.EventItems(t)); n != 2 {
		t.Errorf("%d items, want 2 (only the accepted requests)", n)
	}
})

func TestNewValidatesTTL(t *testing.T) {
	if _, err := pipeline.New[testSecret](testProvider{}, nil, nil, nil, pipeline.Options{EventTTL: time.Hour}); err == nil {
		t.Error("TTL under 48h accepted")
	}
	if _, err := pipeline.New[testSecret](testProvider{}, nil, nil, nil, pipeline.Options{}); err == nil {
		t.Error("missing dependencies accepted")
	}
}

func TestEventID(t *testing.T) {
	a := pipeline.EventID("p", "k")
	if a != pipeline.EventID("p", "k") || len(a) != 32 {
		t.Error("event id is not a stable 32-character id")
	}
	if a == pipeline.EventID("q", "k") || a == pipeline.EventID("p", "k2") {
		t.Error("ids collide across providers or keys")
	}
	// Pinned: a changed derivation would stop de-duplicating events already stored.
	if got := pipeline.EventID("tiki", "k"); got != "b913c3418a5001e0869e082720d44127" {
		t.Errorf("EventID(tiki, k) = %s", got)
	}
}

func TestDecodedEventMustKeepTheContract(t *testing.T) {
	for _, ev := range []*pipeline.Event{nil, {Key: "k", Data: []byte(`{}`)}, {Type: "t", Data: []byte(`{}`)}, {Type: "t", Key: "k", Data: []byte(`{"a":`)}, {Type: "t", Key: "k"}} {
		if ev.Validate() == nil {
			t.Errorf("%+v passed Validate", ev)
		}
	}
	for _, data := range []string{`{"a":1}`, `null`, `[1]`, `"x"`} {
		if err := (&pipeline.Event{Type: "t", Key: "k", Data: []byte(data)}).Validate(); err != nil {
			t.Errorf("%s: %v", data, err)
		}
	}
}
