package loadtest_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"webhooks/internal/loadtest"
	"webhooks/shared/eventstore"
	"webhooks/shared/queue"
)

// fakeAWS answers every DynamoDB and SQS JSON call with a minimal success and
// records which targets were asked for. Hand-written, loopback only.
func fakeAWS(t *testing.T) (*httptest.Server, *[]string) {
	t.Helper()
	var targets []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		target := r.Header.Get("X-Amz-Target")
		targets = append(targets, target)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if strings.HasPrefix(target, "AmazonSQS.") {
			_, _ = io.WriteString(w, `{"MessageId":"m-1"}`)
			return
		}
		_, _ = io.WriteString(w, `{"ConsumedCapacity":{"TableName":"t","CapacityUnits":1}}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &targets
}

func clients(t *testing.T, endpoint string, c *loadtest.Counter) (*dynamodb.Client, *sqs.Client) {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithBaseEndpoint(endpoint),
		config.WithCredentialsProvider(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		})),
		c.LoadOption(),
	)
	if err != nil {
		t.Fatal(err)
	}
	return dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.DisableMessageChecksumValidation = true })
}

func TestCountsTheDesignsCallsAndUnits(t *testing.T) {
	srv, targets := fakeAWS(t)
	c := loadtest.NewCounter()
	db, q := clients(t, srv.URL, c)
	ctx := context.Background()
	store := eventstore.New(db, "events")
	pub := queue.New(q, "https://sqs.us-east-1.amazonaws.com/000000000000/q.fifo")

	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	data := `{"order_code":"A1","pad":"` + strings.Repeat("x", 1200) + `"}` // item over 1 KB: 2 WRU
	it := &eventstore.Item{Provider: "tiki", EventID: "e1", Type: "tiki.order.status_changed", Subject: "A1",
		Time: now, Data: []byte(data), DataSHA256: strings.Repeat("a", 64), Status: eventstore.StatusStored,
		ReceivedAt: now, ExpiresAt: now.Add(720 * time.Hour)}
	if existing, err := store.Create(ctx, it); err != nil || existing != nil {
		t.Fatalf("Create = %v, %v", existing, err)
	}
	ce := queue.NewCloudEvent("tiki", "e1", it.Type, it.Subject, it.Time, []byte(`{"order_code":"A1"}`))
	if _, err := pub.Send(ctx, queue.NewMessage("tiki", ce)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if err := store.MarkQueued(ctx, "tiki", "e1", "m-1", now, now.Add(720*time.Hour)); err != nil {
		t.Fatalf("MarkQueued: %v", err)
	}

	s := c.Snapshot()
	want := map[string]int{"DynamoDB.PutItem": 1, "SQS.SendMessage": 1, "DynamoDB.UpdateItem": 1}
	for op, n := range want {
		if s.Calls[op] != n || s.Attempts[op] != n {
			t.Errorf("%s: calls %d attempts %d, want %d", op, s.Calls[op], s.Attempts[op], n)
		}
	}
	if s.Total() != 3 || len(*targets) != 3 {
		t.Errorf("total %d calls, %d requests reached the endpoint; want 3 and 3 (%v)", s.Total(), len(*targets), s.Operations())
	}
	if s.WriteUnits != 4 { // put 2 KB-blocks + update of the same (still under 2 KB) item
		t.Errorf("WriteUnits = %v, want 4", s.WriteUnits)
	}
	if s.WriteUnitsByKind["event"] != 4 || len(s.WriteUnitsByKind) != 1 {
		t.Errorf("WriteUnitsByKind = %v, want event: 4", s.WriteUnitsByKind)
	}
	if s.ItemBytes < 1024 || s.ItemBytes > 2048 {
		t.Errorf("ItemBytes = %d, want between 1 and 2 KB", s.ItemBytes)
	}
	if s.SQSRequests != 1 || s.SQSBytes <= len(`{"order_code":"A1"}`) {
		t.Errorf("SQS: %d requests, %d bytes", s.SQSRequests, s.SQSBytes)
	}
	if s.ReportedCapacity != 2 { // the fake reports 1 per DynamoDB call: asked for ReturnConsumedCapacity
		t.Errorf("ReportedCapacity = %v, want 2", s.ReportedCapacity)
	}
	if s.EstimatedUpdates != 0 {
		t.Errorf("EstimatedUpdates = %d, want 0 (the item was written through the counter)", s.EstimatedUpdates)
	}

	// Large messages are billed per 64 KB chunk; Reset forgets everything.
	c.Reset()
	big := queue.NewCloudEvent("tiki", "e2", it.Type, "A2", now, []byte(`"`+strings.Repeat("y", 70<<10)+`"`))
	if _, err := pub.Send(ctx, queue.NewMessage("tiki", big)); err != nil {
		t.Fatal(err)
	}
	if s := c.Snapshot(); s.SQSRequests != 2 || s.Total() != 1 || s.WriteUnits != 0 {
		t.Errorf("after Reset and a 70 KB message: %+v", s)
	}
}

func TestApplyUpdate(t *testing.T) {
	before := map[string]int{"pk": 10, "status": 12, "reason": 20, "quarantine_pk": 17}
	after := loadtest.ApplyUpdate(before,
		"SET #st = :q, queued_at = :now, message_id = :mid REMOVE quarantine_pk, reason",
		map[string]string{"#st": "status"},
		map[string]ddb.AttributeValue{
			":q":   &ddb.AttributeValueMemberS{Value: "queued"},
			":now": &ddb.AttributeValueMemberS{Value: "2026-11-01T00:00:00Z"},
			":mid": &ddb.AttributeValueMemberS{Value: "m-1"},
		})
	want := map[string]int{"pk": 10, "status": len("status") + 6, "queued_at": 9 + 20, "message_id": 10 + 3}
	if len(after) != len(want) {
		t.Fatalf("after = %v, want %v", after, want)
	}
	for k, v := range want {
		if after[k] != v {
			t.Errorf("%s = %d, want %d", k, after[k], v)
		}
	}
	if before["reason"] != 20 {
		t.Error("ApplyUpdate changed its input")
	}
}

func TestItemSize(t *testing.T) {
	item := map[string]ddb.AttributeValue{
		"pk":  &ddb.AttributeValueMemberS{Value: "abc"},                                                                       // 2 + 3
		"n":   &ddb.AttributeValueMemberN{Value: "1700000000"},                                                                // 1 + 2: "17" (zeros trimmed), (2+1)/2+1
		"m":   &ddb.AttributeValueMemberN{Value: "-0012.3400e5"},                                                              // 1 + 3: "1234", (4+1)/2+1
		"ok":  &ddb.AttributeValueMemberBOOL{Value: true},                                                                     // 2 + 1
		"doc": &ddb.AttributeValueMemberM{Value: map[string]ddb.AttributeValue{"a": &ddb.AttributeValueMemberS{Value: "xy"}}}, // 3 + 3 + (1+2+1)
	}
	if got, want := loadtest.ItemSize(item), 5+3+4+3+10; got != want {
		t.Errorf("ItemSize = %d, want %d", got, want)
	}
}
