package tiki_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
	"webhooks/internal/devkit"
	"webhooks/internal/devkit/tikidev"
	"webhooks/shared/providers/tiki"
)

func TestMain(m *testing.M) { awstest.Main(m) }

const eventsDir = "../../../events"

func devSecret(t *testing.T) string {
	t.Helper()
	return awstest.DevSecret(t, eventsDir, tiki.Name, nil)
}

func loadSamples(t *testing.T) map[string]events.APIGatewayV2HTTPRequest {
	t.Helper()
	return awstest.SamplesByName(t, eventsDir, tiki.Name, 10)
}

// Every sample file behaves as its name says, against a real AWS API: accepted
// ones are stored once and enqueued once as CloudEvents, rejected ones leave
// nothing behind.
func TestSamplesAgainstAWS(t *testing.T) {
	stack := awstest.NewStack(t, tiki.Name, devSecret(t))
	h := awstest.Handler(t, stack, tiki.New())
	wantStatus := map[string]int{
		"invalid-signature":          401,
		"invalid-missing-signature":  401,
		"invalid-wrong-kind-secret":  401,
		"tampered-body":              401,
		"invalid-malformed-json":     400,
		"invalid-missing-order-code": 400,
		"invalid-qty-not-number":     400,
	}
	accepted := 0
	for name, ev := range loadSamples(t) {
		res := awstest.Invoke(t, h, ev)
		if devkit.MustReject(name) {
			if want := wantStatus[name]; res.StatusCode != want {
				t.Errorf("%s: status %d, want %d (%s)", name, res.StatusCode, want, res.Body)
			}
			if !strings.Contains(res.Body, `"success":false`) || awstest.ErrorCode(t, res.Body) == "" {
				t.Errorf("%s: error body %s lacks the Tiki error shape", name, res.Body)
			}
			continue
		}
		accepted++
		if res.StatusCode != 200 || res.Body != `{"success":true}` {
			t.Errorf("%s: got %d %s, want 200 {\"success\":true}", name, res.StatusCode, res.Body)
		}
	}
	items := stack.EventItems(t)
	if len(items) != accepted {
		t.Errorf("%d items stored, want %d (one per accepted sample)", len(items), accepted)
	}
	msgs := stack.Messages(t)
	if len(msgs) != accepted {
		t.Fatalf("%d messages queued, want %d", len(msgs), accepted)
	}
	for _, m := range msgs {
		ce := awstest.CloudEvent(t, m.Body)
		id, _ := ce["id"].(string)
		it, ok := items[id]
		if !ok {
			t.Errorf("message %s has no stored item", id)
			continue
		}
		if got := awskit.Str(it, "status"); got != "queued" {
			t.Errorf("item %s status %q, want queued", id, got)
		}
		if ce["specversion"] != "1.0" || ce["source"] != "webhooks/tiki" || ce["datacontenttype"] != "application/json" {
			t.Errorf("envelope %v", ce)
		}
		if m.DeduplicationID != id || m.GroupID != ce["subject"] {
			t.Errorf("dedup %q group %q, want id %q subject %v", m.DeduplicationID, m.GroupID, id, ce["subject"])
		}
		if m.Attributes["provider"] != "tiki" || m.Attributes["type"] != ce["type"] {
			t.Errorf("attributes %v", m.Attributes)
		}
		data, _ := ce["data"].(map[string]any)
		switch ce["type"] {
		case tiki.TypeOrder, tiki.TypeAftersale:
			if ce["subject"] != data["order_code"] {
				t.Errorf("subject %v, want order_code %v", ce["subject"], data["order_code"])
			}
		case tiki.TypeStock:
			if ce["subject"] != "sgn/1377286379376" {
				t.Errorf("stock subject %v", ce["subject"])
			}
			if data["qty_salable"] != float64(60) {
				t.Errorf("qty_salable %v", data["qty_salable"])
			}
		default:
			t.Errorf("unexpected type %v", ce["type"])
		}
	}
	stack.CheckNoCardNumbers(t, tikidev.Kit, msgs)
}

// Card numbers planted wherever Tiki's data does not keep them (ref_code,
// reason_code, seller_product_code, partner_id, free text, extra_info,
// undocumented and nested fields, a key, a number; spaced, dashed, in the
// digits of other scripts) survive nowhere: not in an item (any attribute),
// a message (body, group, ids, attributes) or a log line, read by the
// reference reader. The Luhn-valid ids the contract keeps stay as sent.
func TestNoFullCardNumberAnywhere(t *testing.T) {
	stack := awstest.NewStack(t, tiki.Name, devSecret(t))
	h := awstest.Handler(t, stack, tiki.New())
	var sec tiki.Secret
	if err := json.Unmarshal([]byte(devSecret(t)), &sec); err != nil {
		t.Fatal(err)
	}
	const luhnSKU, luhnOrderCode = "1377286379376", "1002172318746911234" // kept as sent
	deliveries := []struct{ kind, key, body string }{
		{tiki.KindOrder, sec.Order, `{"data":{"order_code":"` + luhnOrderCode + `","main_state":"canceled","date":"2022-10-26T14:22:05+07:00",` +
			`"ref_code":"4111111111111111","reason_code":"5555-5555-5555-4444","reason":"thẻ ٤١١١ ١١١١ ١١١١ ١١١١ bị từ chối",` +
			`"extra_info":{"cancel_reason":"card ５５５５ ５５５５ ５５５５ ４４４４","history":[{"4111 1111 1111 1111":true}]}}}`},
		{tiki.KindStock, sec.Stock, `{"data":{"sku":"` + luhnSKU + `","warehouse":"sgn","qty_salable":60,` +
			`"seller_product_code":"4१1١ 1111 ๑๑๑๑ 1111","partner_id":4111111111111111,"note":{"deep":["5555_5555.5555/4444"]}}}`},
		{tiki.KindAftersale, sec.Aftersale, `{"data":{"order_code":"861640277","status":"approved","type":"cr",` +
			`"ref_code":"CR ५५५५ ५५५५ ५५५५ ४४४४","cardNumber":"5554 7488 0091 2345","copy":"5554748800912345"}}`},
	}
	for _, d := range deliveries {
		res := awstest.Invoke(t, h, tikiEvent(d.kind, d.body, tiki.Sign(d.key, []byte(d.body)), nil))
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d %s", d.body, res.StatusCode, res.Body)
		}
	}
	msgs := stack.Messages(t)
	if len(msgs) != len(deliveries) {
		t.Fatalf("%d messages, want %d", len(msgs), len(deliveries))
	}
	stack.CheckNoCardNumbers(t, tikidev.Kit, msgs, "4111111111111111", "5555555555554444", "5554748800912345")
	subjects := map[string]bool{}
	for _, m := range msgs {
		subjects[awstest.CloudEvent(t, m.Body)["subject"].(string)] = true
	}
	if !subjects[luhnOrderCode] || !subjects["sgn/"+luhnSKU] {
		t.Errorf("subjects %v: the kept ids must stay as sent", subjects)
	}
}

func TestDuplicateDeliveryIsEnqueuedOnce(t *testing.T) {
	stack := awstest.NewStack(t, tiki.Name, devSecret(t))
	h := awstest.Handler(t, stack, tiki.New())
	ev := loadSamples(t)["order-processing"]
	var ids []string
	for i := 0; i < 3; i++ {
		res := awstest.Invoke(t, h, ev)
		if res.StatusCode != 200 {
			t.Fatalf("delivery %d: %d %s", i, res.StatusCode, res.Body)
		}
		ids = append(ids, res.Headers["X-Webhook-Event-Id"])
		if want := map[bool]string{true: "accepted", false: "duplicate"}[i == 0]; res.Headers["X-Webhook-Outcome"] != want {
			t.Errorf("delivery %d outcome %q, want %q", i, res.Headers["X-Webhook-Outcome"], want)
		}
	}
	if ids[0] == "" || ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("event ids differ across deliveries: %v", ids)
	}
	if n := len(stack.Messages(t)); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
	if n := len(stack.EventItems(t)); n != 1 {
		t.Errorf("%d items, want 1", n)
	}
}

// Same event re-serialised with other whitespace: still one event.
func TestSameEventDifferentBytesIsDuplicate(t *testing.T) {
	stack := awstest.NewStack(t, tiki.Name, devSecret(t))
	h := awstest.Handler(t, stack, tiki.New())
	var sec tiki.Secret
	_ = json.Unmarshal([]byte(devSecret(t)), &sec)
	for _, body := range []string{
		`{"data":{"date":"2023-05-15T15:36:37+07:00","sku":"A1","warehouse":"hn","qty_salable":5}}`,
		`{ "data": { "warehouse": "hn", "sku": "A1", "qty_salable": 5, "date": "2023-05-15T15:36:37+07:00" } }`,
	} {
		res := awstest.Invoke(t, h, tikiEvent("stock", body, tiki.Sign(sec.Stock, []byte(body)), nil))
		if res.StatusCode != 200 {
			t.Fatalf("%d %s", res.StatusCode, res.Body)
		}
	}
	if n := len(stack.Messages(t)); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

func tikiEvent(kind, body, sig string, extra map[string]string) events.APIGatewayV2HTTPRequest {
	h := map[string]string{"x-signature": sig}
	for k, v := range extra {
		h[k] = v
	}
	s := devkit.HTTPEvent(devkit.Request{
		Name: "t", RouteKey: "POST /webhooks/tiki/{kind}", Path: "/webhooks/tiki/" + kind,
		PathParams: map[string]string{"kind": kind}, Headers: h, Body: []byte(body),
	})
	return s.Event
}

func TestRotatedSecretAcceptsCurrentAndPrevious(t *testing.T) {
	old := `{"order":"oldOrderKey0123456789abcdefghijk"}`
	stack := awstest.NewStack(t, tiki.Name, old)
	h := awstest.Handler(t, stack, tiki.New())
	body := func(n string) string {
		return `{"data":{"date":"2022-10-26T14:22:05+07:00","order_code":"` + n + `","main_state":"processing"}}`
	}
	if res := awstest.Invoke(t, h, tikiEvent("order", body("1"), tiki.Sign("oldOrderKey0123456789abcdefghijk", []byte(body("1"))), nil)); res.StatusCode != 200 {
		t.Fatalf("before rotation: %d %s", res.StatusCode, res.Body)
	}
	// Rotate while the function holds the old value in its cache.
	if _, err := stack.AWS.PutSecret(context.Background(), stack.SecretID, `{"order":"newOrderKey0123456789abcdefghijk"}`); err != nil {
		t.Fatal(err)
	}
	if res := awstest.Invoke(t, h, tikiEvent("order", body("2"), tiki.Sign("newOrderKey0123456789abcdefghijk", []byte(body("2"))), nil)); res.StatusCode != 200 {
		t.Errorf("new secret (AWSCURRENT): %d %s", res.StatusCode, res.Body)
	}
	if res := awstest.Invoke(t, h, tikiEvent("order", body("3"), tiki.Sign("oldOrderKey0123456789abcdefghijk", []byte(body("3"))), nil)); res.StatusCode != 200 {
		t.Errorf("old secret (AWSPREVIOUS): %d %s", res.StatusCode, res.Body)
	}
	if res := awstest.Invoke(t, h, tikiEvent("order", body("4"), tiki.Sign("someOtherKey123456789abcdefghijk", []byte(body("4"))), nil)); res.StatusCode != 401 {
		t.Errorf("unknown secret: %d %s, want 401", res.StatusCode, res.Body)
	}
	if n := len(stack.Messages(t)); n != 3 {
		t.Errorf("%d messages, want 3", n)
	}
}

func TestKindWithoutSecretIsRejected(t *testing.T) {
	stack := awstest.NewStack(t, tiki.Name, `{"order":"onlyOrderKey0123456789abcdefghij"}`)
	h := awstest.Handler(t, stack, tiki.New())
	body := `{"data":{"date":"2023-05-15T15:36:37+07:00","sku":"A1","warehouse":"hn","qty_salable":5}}`
	// Even signed with an empty key, or with the order key, a kind without a secret is 401.
	for _, key := range []string{"", "onlyOrderKey0123456789abcdefghij"} {
		res := awstest.Invoke(t, h, tikiEvent("stock", body, tiki.Sign(key, []byte(body)), nil))
		if res.StatusCode != 401 || awstest.ErrorCode(t, res.Body) != "unauthorized" {
			t.Errorf("key %q: %d %s, want 401 unauthorized", key, res.StatusCode, res.Body)
		}
	}
	if res := awstest.Invoke(t, h, tikiEvent("refund", body, "sha1=00", nil)); res.StatusCode != 404 {
		t.Errorf("unknown kind: %d, want 404", res.StatusCode)
	}
	if n := len(stack.Items(t)); n != 0 {
		t.Errorf("%d items stored for rejected requests", n)
	}
}

func TestPlaceholderSecretIsAConfigurationError(t *testing.T) {
	stack := awstest.NewStack(t, tiki.Name, `{"placeholder":"set with aws secretsmanager put-secret-value"}`)
	h := awstest.Handler(t, stack, tiki.New())
	ev := loadSamples(t)["order-processing"]
	res := awstest.Invoke(t, h, ev)
	if res.StatusCode != 500 || awstest.ErrorCode(t, res.Body) != "configuration_error" {
		t.Errorf("got %d %s, want 500 configuration_error", res.StatusCode, res.Body)
	}
	if n := len(stack.Items(t)); n != 0 {
		t.Errorf("%d items stored", n)
	}
}

func TestMissingSecretIsAConfigurationError(t *testing.T) {
	stack := awstest.NewStack(t, tiki.Name, "")
	h := awstest.Handler(t, stack, tiki.New())
	res := awstest.Invoke(t, h, loadSamples(t)["order-processing"])
	if res.StatusCode != 500 || awstest.ErrorCode(t, res.Body) != "configuration_error" {
		t.Errorf("got %d %s, want 500 configuration_error", res.StatusCode, res.Body)
	}
}

func TestOversizedBodyIs413(t *testing.T) {
	stack := awstest.NewStack(t, tiki.Name, devSecret(t))
	h := awstest.Handler(t, stack, tiki.New())
	var sec tiki.Secret
	_ = json.Unmarshal([]byte(devSecret(t)), &sec)
	body := `{"data":{"order_code":"1","main_state":"x","pad":"` + strings.Repeat("a", 300<<10) + `"}}`
	res := awstest.Invoke(t, h, tikiEvent("order", body, tiki.Sign(sec.Order, []byte(body)), nil))
	if res.StatusCode != 413 || awstest.ErrorCode(t, res.Body) != "payload_too_large" {
		t.Errorf("got %d %s, want 413 payload_too_large", res.StatusCode, res.Body)
	}
	if n := len(stack.Items(t)); n != 0 {
		t.Errorf("%d items stored", n)
	}
}

// DynamoDB failing (table missing) gives a 5xx and stores nothing; once the
// table exists, the provider's retry is accepted and enqueued exactly once.
func TestTableFailureThenRecovery(t *testing.T) {
	stack := awstest.NewStack(t, tiki.Name, devSecret(t))
	ctx := context.Background()
	if err := stack.AWS.DeleteTable(ctx, stack.Table); err != nil {
		t.Fatal(err)
	}
	h := awstest.Handler(t, stack, tiki.New())
	ev := loadSamples(t)["order-processing"]
	res := awstest.Invoke(t, h, ev)
	if res.StatusCode != 503 || awstest.ErrorCode(t, res.Body) != "storage_unavailable" {
		t.Fatalf("got %d %s, want 503 storage_unavailable", res.StatusCode, res.Body)
	}
	if n := len(stack.Messages(t)); n != 0 {
		t.Fatalf("%d messages sent although storage failed", n)
	}
	if err := stack.AWS.CreateTable(ctx, stack.Table); err != nil {
		t.Fatal(err)
	}
	if res := awstest.Invoke(t, h, ev); res.StatusCode != 200 {
		t.Fatalf("retry: %d %s", res.StatusCode, res.Body)
	}
	if n := len(stack.Messages(t)); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

// SQS failing after the event was stored gives a 5xx; the retry re-sends the
// stored event and the queue receives exactly one message.
func TestQueueFailureThenRecovery(t *testing.T) {
	stack := awstest.NewStack(t, tiki.Name, devSecret(t))
	ctx := context.Background()
	if err := stack.AWS.DeleteQueue(ctx, stack.Queue.URL); err != nil {
		t.Fatal(err)
	}
	h := awstest.Handler(t, stack, tiki.New())
	ev := loadSamples(t)["stock-changed"]
	res := awstest.Invoke(t, h, ev)
	if res.StatusCode != 503 || awstest.ErrorCode(t, res.Body) != "queue_unavailable" {
		t.Fatalf("got %d %s, want 503 queue_unavailable", res.StatusCode, res.Body)
	}
	items := stack.EventItems(t)
	if len(items) != 1 {
		t.Fatalf("%d items, want the event stored", len(items))
	}
	for _, it := range items {
		if awskit.Str(it, "status") != "stored" {
			t.Fatalf("status %q, want stored", awskit.Str(it, "status"))
		}
	}
	q, err := stack.AWS.CreateQueue(ctx, strings.TrimSuffix(stack.Queue.URL[strings.LastIndex(stack.Queue.URL, "/")+1:], ".fifo"))
	if err != nil || q.URL != stack.Queue.URL {
		t.Fatalf("recreate queue: %v (%s vs %s)", err, q.URL, stack.Queue.URL)
	}
	for i := 0; i < 2; i++ { // the retry, then one more duplicate delivery
		if res := awstest.Invoke(t, h, ev); res.StatusCode != 200 {
			t.Fatalf("retry %d: %d %s", i, res.StatusCode, res.Body)
		}
	}
	if n := len(stack.Messages(t)); n != 1 {
		t.Errorf("%d messages, want exactly 1", n)
	}
	for _, it := range stack.EventItems(t) {
		if awskit.Str(it, "status") != "queued" || awskit.Str(it, "message_id") == "" {
			t.Errorf("after recovery: status %q message_id %q", awskit.Str(it, "status"), awskit.Str(it, "message_id"))
		}
	}
}

func TestLogsCarryNoSecretOrBody(t *testing.T) {
	stack := awstest.NewStack(t, tiki.Name, devSecret(t))
	h := awstest.Handler(t, stack, tiki.New())
	for _, ev := range loadSamples(t) {
		awstest.Invoke(t, h, ev)
	}
	logs := stack.Logs.String()
	var sec tiki.Secret
	_ = json.Unmarshal([]byte(devSecret(t)), &sec)
	for _, s := range []string{sec.Order, sec.Stock, sec.Aftersale, "ready_for_pickup", "HOB-8735"} {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain %q", s)
		}
	}
	for _, want := range []string{`"provider":"tiki"`, `"outcome":"accepted"`, `"outcome":"rejected"`, `"eventType":"tiki.order.status_changed"`, `"CloudWatchMetrics"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s", want)
		}
	}
}
