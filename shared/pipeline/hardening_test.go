package pipeline_test

// The guarantees a hostile or unlucky sender must not be able to break,
// through the handler as Lambda runs it: scenarios (backend_test.go), each
// run in memory and, in TestScenariosOnAWS, against a real AWS API
// (moto_server).

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
	"webhooks/shared/metrics"
	"webhooks/shared/pipeline"
	"webhooks/shared/secrets"
)

func noEventHeaders(t *testing.T, name string, hdr map[string]string) {
	t.Helper()
	for k := range hdr {
		if strings.HasPrefix(strings.ToLower(k), "x-webhook-event-") {
			t.Errorf("%s: a 4xx carries %s", name, k)
		}
	}
}

// A credential that does not cover the body is bound to the first body it came
// with before anything parses that body: after a 400 or a 415, the same
// credential with another (valid) body is 401, nothing stored, nothing queued,
// and the 401 says nothing about the event.
func TestSingleUseCredentialIsBoundBeforeParsing(t *testing.T) {
	singleUseCredentialIsBoundBeforeParsing(t, inMemory)
}

var singleUseCredentialIsBoundBeforeParsing = register("SingleUseCredentialIsBoundBeforeParsing", func(t *testing.T, on backend) {
	for _, first := range []struct {
		name, body, ctype string
		status            int
	}{
		{"malformed JSON", `{"id":`, "", 400},
		{"missing field", `{"x":1}`, "", 400},
		{"duplicate key", `{"id":"a","id":"b"}`, "", 400},
		{"content type", `{"id":"a"}`, "application/xml", 415},
	} {
		t.Run(first.name, func(t *testing.T) {
			stack := newStack(t, on, `{"token":"t1"}`)
			h := newHandler(t, stack)
			hdr := map[string]string{"x-token": "t1", "x-credential": "sig-" + first.name}
			ev := event(first.body, hdr, "203.0.113.1")
			if first.ctype != "" {
				ev.Headers["content-type"] = first.ctype
			}
			if res := awstest.Invoke(t, h, ev); res.StatusCode != first.status {
				t.Fatalf("first delivery: %d %s", res.StatusCode, res.Body)
			}
			forged := awstest.Invoke(t, h, event(`{"id":"forged"}`, hdr, "203.0.113.1"))
			if forged.StatusCode != 401 || awstest.ErrorCode(t, forged.Body) != pipeline.CodeUnauthorized {
				t.Fatalf("captured credential with a forged body: %d %s", forged.StatusCode, forged.Body)
			}
			noEventHeaders(t, "replay", forged.Headers)
			// The same credential with the same bytes is the same delivery: answered as before.
			again := event(first.body, hdr, "203.0.113.1")
			if first.ctype != "" {
				again.Headers["content-type"] = first.ctype
			}
			if res := awstest.Invoke(t, h, again); res.StatusCode != first.status {
				t.Errorf("redelivery of the first body: %d", res.StatusCode)
			}
			if n := len(stack.EventItems(t)); n != 0 {
				t.Errorf("%d events stored", n)
			}
			if n := len(stack.Messages(t)); n != 0 {
				t.Errorf("%d messages queued", n)
			}
			// The replay record keeps a keyed digest of the body, never the body's plain hash.
			for _, it := range stack.Items(t) {
				if _, ok := it["body_sha256"]; ok {
					t.Errorf("replay record has a plain body hash: %v", it)
				}
			}
		})
	}
})

// No 4xx response carries an X-Webhook-Event-* header.
func TestNoEventHeadersOn4xx(t *testing.T) { noEventHeadersOn4xx(t, inMemory) }

var noEventHeadersOn4xx = register("NoEventHeadersOn4xx", func(t *testing.T, on backend) {
	stack := newStack(t, on, `{"token":"t1","allow":["203.0.113.0/24"]}`)
	h := newHandler(t, stack)
	ok := map[string]string{"x-token": "t1"}
	cases := map[string]struct {
		body string
		hdr  map[string]string
		ip   string
	}{
		"401":         {`{"id":"a"}`, map[string]string{"x-token": "no"}, "203.0.113.1"},
		"403":         {`{"id":"a"}`, ok, "198.51.100.7"},
		"400 missing": {`{"x":1}`, ok, "203.0.113.1"},
		"400 syntax":  {`{`, ok, "203.0.113.1"},
	}
	for name, c := range cases {
		res := awstest.Invoke(t, h, event(c.body, c.hdr, c.ip))
		if res.StatusCode < 400 || res.StatusCode >= 500 {
			t.Fatalf("%s: %d", name, res.StatusCode)
		}
		noEventHeaders(t, name, res.Headers)
	}
	if res := awstest.Invoke(t, h, event(`{"id":"a"}`, ok, "203.0.113.1")); res.StatusCode != 200 || res.Headers["X-Webhook-Event-Id"] == "" {
		t.Errorf("a 200 keeps its event headers: %v", res.Headers)
	}
})

// Network policy comes from AWSCURRENT for every request: a request from
// outside the current allow-list is 403 even when it carries a credential that
// the previous version (with no allow-list) would accept.
func TestAllowListComesFromCurrentVersion(t *testing.T) {
	allowListComesFromCurrentVersion(t, inMemory)
}

var allowListComesFromCurrentVersion = register("AllowListComesFromCurrentVersion", func(t *testing.T, on backend) {
	stack := newStack(t, on, `{"token":"t1"}`)
	stack.putSecret(t, `{"token":"t1","allow":["203.0.113.0/24"]}`)
	h := newHandler(t, stack)
	ok := map[string]string{"x-token": "t1"}
	res := awstest.Invoke(t, h, event(`{"id":"a"}`, ok, "198.51.100.7"))
	if res.StatusCode != 403 {
		t.Fatalf("outside the current list with a token both versions accept: %d %s", res.StatusCode, res.Body)
	}
	// And the other way round: the previous version's list does not refuse what the current one allows.
	stack2 := newStack(t, on, `{"token":"old","allow":["10.0.0.0/8"]}`)
	stack2.putSecret(t, `{"token":"new"}`)
	h2 := newHandler(t, stack2)
	if res := awstest.Invoke(t, h2, event(`{"id":"b"}`, map[string]string{"x-token": "old"}, "198.51.100.7")); res.StatusCode != 200 {
		t.Fatalf("previous token from an address the current version allows: %d %s", res.StatusCode, res.Body)
	}
	if n := len(stack.EventItems(t)); n != 0 {
		t.Errorf("%d events stored from a refused address", n)
	}
})

// A request verified by AWSPREVIOUS is accepted within the grace period,
// counted and logged; with previousVersionGraceHours 0 it is refused.
func TestPreviousVersionGrace(t *testing.T) { previousVersionGrace(t, inMemory) }

var previousVersionGrace = register("PreviousVersionGrace", func(t *testing.T, on backend) {
	stack := newStack(t, on, `{"token":"old"}`)
	stack.putSecret(t, `{"token":"new"}`)
	h := newHandler(t, stack)
	if res := awstest.Invoke(t, h, event(`{"id":"a"}`, map[string]string{"x-token": "old"}, "203.0.113.1")); res.StatusCode != 200 {
		t.Fatalf("previous version within the grace period: %d %s", res.StatusCode, res.Body)
	}
	logs := stack.Logs.String()
	if !strings.Contains(logs, `"`+metrics.MetricPreviousVersion+`":1`) || !strings.Contains(logs, "verified with the previous secret version") {
		t.Errorf("a request verified by the previous version is neither counted nor logged:\n%s", logs)
	}
	if res := awstest.Invoke(t, h, event(`{"id":"b"}`, map[string]string{"x-token": "new"}, "203.0.113.1")); res.StatusCode != 200 {
		t.Fatalf("current version: %d", res.StatusCode)
	}
	if n := strings.Count(stack.Logs.String(), `"`+metrics.MetricPreviousVersion+`":1`); n != 1 {
		t.Errorf("%d previous-version counts for one such request", n)
	}

	never := newStack(t, on, `{"token":"old"}`)
	never.putSecret(t, `{"token":"new","`+secrets.GraceField+`":0}`)
	hn := newHandler(t, never)
	if res := awstest.Invoke(t, hn, event(`{"id":"a"}`, map[string]string{"x-token": "old"}, "203.0.113.1")); res.StatusCode != 401 {
		t.Fatalf("previous version with a grace of 0: %d", res.StatusCode)
	}
})

func numberAttr(it map[string]ddb.AttributeValue, k string) (int64, bool) {
	v, ok := it[k].(*ddb.AttributeValueMemberN)
	if !ok {
		return 0, false
	}
	var n int64
	_ = json.Unmarshal([]byte(v.Value), &n)
	return n, true
}

// A quarantined event has no TTL; it gets one when it is released and queued.
// A release whose send fails leaves it in the quarantine index.
func TestQuarantineHasNoTTLUntilQueued(t *testing.T) { quarantineHasNoTTLUntilQueued(t, inMemory) }

var quarantineHasNoTTLUntilQueued = register("QuarantineHasNoTTLUntilQueued", func(t *testing.T, on backend) {
	stack := newStack(t, on, `{"token":"t1","key":"wrong"}`)
	h := newHandler(t, stack)
	ev := event(`{"id":"q1","sealed":"abc"}`, map[string]string{"x-token": "t1"}, "203.0.113.1")
	res := awstest.Invoke(t, h, ev)
	if res.Headers["X-Webhook-Outcome"] != "quarantined" {
		t.Fatalf("not quarantined: %d %v", res.StatusCode, res.Headers)
	}
	id := res.Headers["X-Webhook-Event-Id"]
	it := stack.EventItems(t)[id]
	if _, ok := it["expires_at"]; ok {
		t.Fatalf("quarantined item has a TTL: %v", it["expires_at"])
	}
	// Fix the key but take the queue away: the release's send fails.
	stack.putSecret(t, `{"token":"t1","key":"good"}`)
	stack.deleteQueue(t)
	h2 := newHandler(t, stack)
	if res := awstest.Invoke(t, h2, ev); res.StatusCode != 503 {
		t.Fatalf("send to a missing queue: %d %s", res.StatusCode, res.Body)
	}
	it = stack.EventItems(t)[id]
	if awskit.Str(it, "quarantine_pk") != "testprov" || awskit.Str(it, "status") != "stored" {
		t.Fatalf("released but unsent event left the quarantine index: status %s, quarantine_pk %q", awskit.Str(it, "status"), awskit.Str(it, "quarantine_pk"))
	}
	if _, ok := it["expires_at"]; ok {
		t.Fatalf("released but unsent event has a TTL")
	}
	if n := stack.quarantineIndex(t, "testprov"); n != 1 {
		t.Fatalf("by-quarantine index: %v items", n)
	}
	// The queue is back: the next delivery queues it, and only now does its TTL start.
	recreateQueue(t, stack)
	before := stack.now()
	if res := awstest.Invoke(t, h2, ev); res.StatusCode != 200 || res.Headers["X-Webhook-Outcome"] != "accepted" {
		t.Fatalf("after the queue is back: %d %v %s", res.StatusCode, res.Headers, res.Body)
	}
	it = stack.EventItems(t)[id]
	exp, ok := numberAttr(it, "expires_at")
	want := before.Add(pipeline.DefaultEventTTL).Unix()
	if !ok || exp < want-5 || exp > want+60 {
		t.Errorf("queued event's TTL %d, want about %d (queue time + TTL)", exp, want)
	}
	if awskit.Str(it, "status") != "queued" || awskit.Str(it, "quarantine_pk") != "" {
		t.Errorf("queued item %v", it)
	}
	if n := len(stack.Messages(t)); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
})

// An event the queue refuses for its size is quarantined (200, metric, no
// TTL), not answered 503 for ever; after the operator raises the queue's
// maximum it is re-processed onto the queue.
func TestMessageTheQueueRefusesIsQuarantined(t *testing.T) {
	messageTheQueueRefusesIsQuarantined(t, inMemory)
}

var messageTheQueueRefusesIsQuarantined = register("MessageTheQueueRefusesIsQuarantined", func(t *testing.T, on backend) {
	ctx := context.Background()
	stack := newStack(t, on, `{"token":"t1"}`)
	stack.setMaxMessageSize(t, 1024)
	h := newHandler(t, stack)
	ev := event(`{"id":"big","pad":"`+strings.Repeat("x", 2000)+`"}`, map[string]string{"x-token": "t1"}, "203.0.113.1")
	for i := 0; i < 2; i++ {
		res := awstest.Invoke(t, h, ev)
		if res.StatusCode != 200 || res.Headers["X-Webhook-Outcome"] != string(metrics.Quarantined) && i == 0 {
			t.Fatalf("delivery %d: %d %v %s", i, res.StatusCode, res.Headers, res.Body)
		}
	}
	items := stack.EventItems(t)
	if len(items) != 1 {
		t.Fatalf("%d items", len(items))
	}
	var id string
	for k, it := range items {
		id = k
		if awskit.Str(it, "status") != "quarantined" || !strings.Contains(awskit.Str(it, "reason"), "SQS refused") || awskit.Str(it, "quarantine_pk") != "testprov" {
			t.Fatalf("item %v", it)
		}
		if _, ok := it["expires_at"]; ok {
			t.Error("quarantined item has a TTL")
		}
	}
	if !strings.Contains(stack.Logs.String(), `"outcome":"quarantined"`) {
		t.Error("no quarantined metric")
	}
	stack.setMaxMessageSize(t, 1048576)
	out, err := h.Invoke(ctx, []byte(`{"reprocess":{"eventId":"`+id+`"}}`))
	if err != nil || !strings.Contains(string(out), `"status":"queued"`) {
		t.Fatalf("reprocess: %s %v", out, err)
	}
	if n := len(stack.Messages(t)); n != 1 {
		t.Errorf("%d messages after reprocess", n)
	}
})

// Bodies that encoding/json would inflate (HTML escaping, \u2028) are stored
// and sent at their own size and accepted.
func TestNothingInflatesWhatIsStoredOrSent(t *testing.T) {
	nothingInflatesWhatIsStoredOrSent(t, inMemory)
}

var nothingInflatesWhatIsStoredOrSent = register("NothingInflatesWhatIsStoredOrSent", func(t *testing.T, on backend) {
	stack := newStack(t, on, `{"token":"t1"}`)
	h := newHandler(t, stack)
	for name, fill := range map[string]string{"html": strings.Repeat("<", 200_000), "line separators": strings.Repeat("\u2028", 75_000)} {
		body := `{"id":"` + name + `","fill":"` + fill + `"}`
		res := awstest.Invoke(t, h, event(body, map[string]string{"x-token": "t1"}, "203.0.113.1"))
		if res.StatusCode != 200 || res.Headers["X-Webhook-Outcome"] != "accepted" {
			t.Fatalf("%s: %d %v %.200s", name, res.StatusCode, res.Headers, res.Body)
		}
		it := stack.EventItems(t)[res.Headers["X-Webhook-Event-Id"]]
		if n := len(awskit.Str(it, "data")); n > len(body) {
			t.Errorf("%s: %d bytes stored for a %d-byte body", name, n, len(body))
		}
		msgs := stack.Messages(t)
		if len(msgs) != 1 || len(msgs[0].Body) > len(body)+400 {
			t.Fatalf("%s: %d messages, %d bytes", name, len(msgs), len(msgs[0].Body))
		}
	}
})

// DynamoDB refusing an item for its content (here: over its 400 KB limit, with
// a body limit raised above it) quarantines the event with a reason — 200, not
// a 5xx for ever — keeping what DynamoDB takes.
func TestItemDynamoDBRefusesIsQuarantined(t *testing.T) {
	itemDynamoDBRefusesIsQuarantined(t, inMemory)
}

var itemDynamoDBRefusesIsQuarantined = register("ItemDynamoDBRefusesIsQuarantined", func(t *testing.T, on backend) {
	stack := newStack(t, on, `{"token":"t1"}`)
	h := stack.handlerWith(t, handlerConfig{maxBody: 1 << 20})
	body := `{"id":"huge","pad":"` + strings.Repeat("y", 600_000) + `"}`
	res := awstest.Invoke(t, h, event(body, map[string]string{"x-token": "t1"}, "203.0.113.1"))
	if res.StatusCode != 200 || res.Headers["X-Webhook-Outcome"] != "quarantined" {
		t.Fatalf("%d %v %s", res.StatusCode, res.Headers, res.Body)
	}
	id := res.Headers["X-Webhook-Event-Id"]
	it := stack.EventItems(t)[id]
	if awskit.Str(it, "status") != "quarantined" || awskit.Str(it, "reason") == "" || awskit.Str(it, "data_sha256") == "" || awskit.Str(it, "data") != "null" {
		t.Fatalf("item %v", it)
	}
	// Redelivered: still quarantined, acknowledged. Re-processing cannot rebuild it.
	if res := awstest.Invoke(t, h, event(body, map[string]string{"x-token": "t1"}, "203.0.113.1")); res.StatusCode != 200 {
		t.Fatalf("redelivery: %d", res.StatusCode)
	}
	if _, err := h.Reprocess(t.Context(), id); !errors.Is(err, pipeline.ErrDataNotKept) {
		t.Errorf("reprocess of an event whose data was not kept: %v", err)
	}
	if n := len(stack.Messages(t)); n != 0 {
		t.Errorf("%d messages", n)
	}
})
