package localrun

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestBatchItemFailures(t *testing.T) {
	recs := []SQSRecord{{MessageID: "a"}, {MessageID: "b"}}
	for _, tc := range []struct {
		resp   string
		failed []string
		bad    bool
	}{
		{resp: ``}, {resp: `null`}, {resp: `{}`}, {resp: `{"batchItemFailures":null}`}, {resp: `{"batchItemFailures":[]}`},
		{resp: `{"batchItemFailures":[{"itemIdentifier":"b"}]}`, failed: []string{"b"}},
		{resp: `{"batchItemFailures":[{"itemIdentifier":"a"},{"itemIdentifier":"b"}]}`, failed: []string{"a", "b"}},
		{resp: `{"batchItemFailures":[{"itemIdentifier":"c"}]}`, bad: true}, // not in the batch
		{resp: `{"batchItemFailures":[{"itemIdentifier":""}]}`, bad: true},
		{resp: `{"batchItemFailures":[{"itemIdentifier":null}]}`, bad: true},
		{resp: `{"batchItemFailures":[{"itemId":"a"}]}`, bad: true}, // a bad key name
		{resp: `{"batchItemFailures":[{"itemIdentifier":1}]}`, bad: true},
		{resp: `"ok"`, bad: true},
		{resp: `{"batchItemFailures":`, bad: true},
	} {
		failed, err := batchItemFailures([]byte(tc.resp), recs)
		if tc.bad {
			if !errors.Is(err, ErrBatchResponse) {
				t.Errorf("%s: err %v, want ErrBatchResponse (the whole batch fails)", tc.resp, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.resp, err)
			continue
		}
		if len(failed) != len(tc.failed) {
			t.Errorf("%s: failed %v, want %v", tc.resp, failed, tc.failed)
		}
		for _, id := range tc.failed {
			if !failed[id] {
				t.Errorf("%s: %s not failed", tc.resp, id)
			}
		}
	}
}

// The record is Lambda's JSON: what aws-lambda-go's events.SQSEvent reads,
// with md5OfMessageAttributes null when there are no attributes and empty
// list values as [].
func TestRecordShape(t *testing.T) {
	p := &Poller{cfg: PollerConfig{Region: "us-east-1"}, arn: "arn:aws:sqs:us-east-1:123456789012:q.fifo"}
	with := p.record(sqstypes.Message{
		MessageId: aws.String("m1"), ReceiptHandle: aws.String("rh"), Body: aws.String(`{"specversion":"1.0","id":"abc","type":"t.x","data":{"secret":1}}`),
		MD5OfBody: aws.String("md5b"), MD5OfMessageAttributes: aws.String("md5a"),
		Attributes: map[string]string{"ApproximateReceiveCount": "2", "SentTimestamp": "1", "SenderId": "s", "ApproximateFirstReceiveTimestamp": "3",
			"SequenceNumber": "9", "MessageGroupId": "g", "MessageDeduplicationId": "d", "Other": "x"},
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{"provider": {DataType: aws.String("String"), StringValue: aws.String("tiki")}},
	})
	without := p.record(sqstypes.Message{MessageId: aws.String("m2"), Body: aws.String("x"), MD5OfMessageAttributes: aws.String("ignored")})
	b, err := json.Marshal(SQSEvent{Records: []SQSRecord{with, without}})
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"eventSource":"aws:sqs"`, `"eventSourceARN":"arn:aws:sqs:us-east-1:123456789012:q.fifo"`, `"awsRegion":"us-east-1"`,
		`"md5OfMessageAttributes":"md5a"`, `"md5OfMessageAttributes":null`, `"stringListValues":[],"binaryListValues":[],"dataType":"String"`} {
		if !strings.Contains(s, want) {
			t.Errorf("event lacks %s: %s", want, s)
		}
	}
	if strings.Contains(s, `"Other"`) {
		t.Errorf("a system attribute Lambda does not pass: %s", s)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	r := ev.Records[0]
	if r.MessageId != "m1" || r.ReceiptHandle != "rh" || r.Md5OfBody != "md5b" || r.Attributes["MessageGroupId"] != "g" || len(r.Attributes) != 7 ||
		*r.MessageAttributes["provider"].StringValue != "tiki" {
		t.Errorf("record read back as %+v", r)
	}
	res := recordResult(with)
	if res.EventType != "t.x" || res.EventID != "abc" || res.ReceiveCount != 2 || res.GroupID != "g" {
		t.Errorf("result %+v", res)
	}
	if line := p.line(res); strings.Contains(line, "secret") {
		t.Errorf("line shows data: %s", line)
	}
}
