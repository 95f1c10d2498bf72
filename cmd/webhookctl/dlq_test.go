package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"webhooks/internal/awskit"
)

// putDLQ sends messages to a FIFO queue as "group/n" bodies with the
// pipeline's message attributes.
func putMessages(t *testing.T, env *awskit.Env, url string, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		group := b[:strings.Index(b, "/")]
		_, err := env.SQS.SendMessage(t.Context(), &sqs.SendMessageInput{
			QueueUrl: aws.String(url), MessageBody: aws.String(b),
			MessageGroupId: aws.String(group), MessageDeduplicationId: aws.String("orig-" + strings.ReplaceAll(b, "/", "-")),
			MessageAttributes: map[string]sqstypes.MessageAttributeValue{
				"provider": {DataType: aws.String("String"), StringValue: aws.String("p")},
				"type":     {DataType: aws.String("String"), StringValue: aws.String("type-of-" + b)},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// perGroup returns the bodies of msgs by group, in order.
func perGroup(msgs []awskit.Message) map[string][]string {
	out := map[string][]string{}
	for _, m := range msgs {
		out[m.GroupID] = append(out[m.GroupID], m.Body)
	}
	return out
}

func peek(t *testing.T, env *awskit.Env, url string) []awskit.Message {
	t.Helper()
	msgs, err := awskit.ReadQueue(t.Context(), env.SQS, url, awskit.ReadOptions{Settle: true})
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// Messages of two groups, interleaved on the dead-letter queue, go back to
// the source queue in each group's order with their bodies and attributes;
// the DLQ is left empty, and a second run moves nothing.
func TestDLQRedrive(t *testing.T) {
	f := newFixture(t)
	p := "tiki"
	q := f.queues[p]
	putMessages(t, f.aws, q.DLQURL, "A/1", "B/1", "A/2", "B/2", "A/3")

	out := mustCtl(t, "dlq", "redrive", "-provider", p, "-dry-run", "-state", f.state)
	if !strings.Contains(out, "group A: 3 message(s)") || !strings.Contains(out, "group B: 2 message(s)") || !strings.Contains(out, "5 message(s) on") {
		t.Errorf("-dry-run:\n%s", out)
	}
	if n := len(peek(t, f.aws, q.DLQURL)); n != 5 {
		t.Fatalf("-dry-run left %d messages on the DLQ, want 5", n)
	}

	out = mustCtl(t, "dlq", "redrive", "-provider", p, "-state", f.state)
	if !strings.Contains(out, "group A: moved 3") || !strings.Contains(out, "group B: moved 2") || !strings.Contains(out, "moved 5 message(s)") {
		t.Errorf("dlq redrive:\n%s", out)
	}
	msgs, err := f.aws.Drain(t.Context(), q.URL)
	if err != nil {
		t.Fatal(err)
	}
	groups := perGroup(msgs)
	if fmt.Sprint(groups["A"]) != "[A/1 A/2 A/3]" || fmt.Sprint(groups["B"]) != "[B/1 B/2]" || len(msgs) != 5 {
		t.Fatalf("source queue: %v", groups)
	}
	for _, m := range msgs {
		if m.Attributes["provider"] != "p" || m.Attributes["type"] != "type-of-"+m.Body || !strings.HasPrefix(m.DeduplicationID, "dlq-") {
			t.Errorf("message %s: attributes %v, dedup %q", m.Body, m.Attributes, m.DeduplicationID)
		}
	}
	if n := len(peek(t, f.aws, q.DLQURL)); n != 0 {
		t.Errorf("%d messages left on the DLQ", n)
	}
	if out := mustCtl(t, "dlq", "redrive", "-provider", p, "-state", f.state); !strings.Contains(out, "moved 0 message(s)") {
		t.Errorf("second run:\n%s", out)
	}
	if n := len(peek(t, f.aws, q.URL)); n != 0 {
		t.Errorf("second run sent %d messages", n)
	}
}

// A run that sent a message but crashed before deleting it from the DLQ: the
// next run sends it again with the same de-duplication id, and SQS drops the
// copy. -max bounds a run.
func TestDLQRedriveAfterCrash(t *testing.T) {
	f := newFixture(t)
	p := "tiki"
	q := f.queues[p]
	putMessages(t, f.aws, q.DLQURL, "C/1", "C/2", "C/3")
	first := peek(t, f.aws, q.DLQURL)[0]
	// "Crash": C/1 sent, not deleted.
	if _, err := f.aws.SQS.SendMessage(t.Context(), &sqs.SendMessageInput{
		QueueUrl: aws.String(q.URL), MessageBody: aws.String(first.Body), MessageGroupId: aws.String("C"),
		MessageDeduplicationId: aws.String(dlqDeduplicationID(first.MessageID)),
	}); err != nil {
		t.Fatal(err)
	}
	if out := mustCtl(t, "dlq", "redrive", "-provider", p, "-max", "2", "-state", f.state); !strings.Contains(out, "moved 2 message(s)") {
		t.Errorf("-max 2:\n%s", out)
	}
	if got := perGroup(peek(t, f.aws, q.DLQURL))["C"]; fmt.Sprint(got) != "[C/3]" {
		t.Errorf("DLQ after -max 2: %v", got)
	}
	mustCtl(t, "dlq", "redrive", "-provider", p, "-state", f.state)
	msgs, err := f.aws.Drain(t.Context(), q.URL)
	if err != nil {
		t.Fatal(err)
	}
	if got := perGroup(msgs)["C"]; fmt.Sprint(got) != "[C/1 C/2 C/3]" {
		t.Errorf("source queue: %v (C/1 once)", got)
	}
}

// failingSend fails SendMessage of one body.
type failingSend struct {
	sqsAPI
	body string
	sent []string
}

func (f *failingSend) SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	if aws.ToString(in.MessageBody) == f.body {
		return nil, errors.New("injected send failure")
	}
	f.sent = append(f.sent, aws.ToString(in.MessageBody))
	return f.sqsAPI.SendMessage(ctx, in, optFns...)
}

// When a message cannot be sent, none after it in its group is: they stay on
// the DLQ in order (visible again at once), while other groups move on.
func TestDLQRedriveKeepsGroupOrderOnFailure(t *testing.T) {
	f := newFixture(t)
	q := f.queues["tiki"]
	putMessages(t, f.aws, q.DLQURL, "A/1", "B/1", "A/2", "B/2", "A/3", "B/3")
	api := &failingSend{sqsAPI: f.aws.SQS, body: "A/2"}
	rep, err := redriveDLQ(t.Context(), api, q.DLQURL, q.URL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Failed() || rep.Moved != 4 {
		t.Errorf("report: moved %d, failed %v", rep.Moved, rep.Failed())
	}
	for _, s := range api.sent {
		if s == "A/3" {
			t.Errorf("A/3 sent after A/2 failed: %v", api.sent)
		}
	}
	if got := perGroup(peek(t, f.aws, q.DLQURL)); fmt.Sprint(got["A"]) != "[A/2 A/3]" || len(got["B"]) != 0 {
		t.Errorf("DLQ after the failure: %v", got)
	}
	// Fixed: the rest follows, in order.
	if _, err := redriveDLQ(t.Context(), f.aws.SQS, q.DLQURL, q.URL, 0); err != nil {
		t.Fatal(err)
	}
	msgs, err := f.aws.Drain(t.Context(), q.URL)
	if err != nil {
		t.Fatal(err)
	}
	if got := perGroup(msgs); fmt.Sprint(got["A"]) != "[A/1 A/2 A/3]" || fmt.Sprint(got["B"]) != "[B/1 B/2 B/3]" {
		t.Errorf("source queue: %v", got)
	}
}

// A queue with a redrive policy is never read without consuming: the
// dead-letter redrive refuses such a "DLQ".
func TestDLQRedriveRefusesAQueueWithARedrivePolicy(t *testing.T) {
	f := newFixture(t)
	q := f.queues["tiki"]
	if _, err := redriveDLQ(t.Context(), f.aws.SQS, q.URL, q.DLQURL, 0); !errors.Is(err, ErrRedrivePolicy) {
		t.Errorf("redrive from a queue with a redrive policy: %v", err)
	}
}

func TestDLQDeduplicationID(t *testing.T) {
	a, b := dlqDeduplicationID("m1"), dlqDeduplicationID("m2")
	if a == b || a != dlqDeduplicationID("m1") || len(a) > 128 || !strings.HasPrefix(a, "dlq-") {
		t.Errorf("%q %q", a, b)
	}
}

// tail never receives from a provider's queue unless told to consume: the
// message's receive count stays 0 (the first receive afterwards is its first).
func TestTailNeverPeeksTheQueue(t *testing.T) {
	f := newFixture(t)
	p := "tiki"
	q := f.queues[p]
	putMessages(t, f.aws, q.URL, "A/1")
	for _, args := range [][]string{
		{"tail", "-provider", p},
		{"tail", "-queue", q.URL},
	} {
		_, errOut, code := ctl(append(args, "-state", f.state)...)
		if code != 2 || !strings.Contains(errOut, "webhookctl status EVENT_ID") || !strings.Contains(errOut, "-consume") {
			t.Errorf("%v: exit %d, %s", args, code, errOut)
		}
	}
	out, err := f.aws.SQS.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 || out.Messages[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("after tail: %+v (want one message, received for the first time now)", out.Messages)
	}
	if _, err := f.aws.SQS.ChangeMessageVisibility(t.Context(), &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(q.URL), ReceiptHandle: out.Messages[0].ReceiptHandle, VisibilityTimeout: 0,
	}); err != nil {
		t.Fatal(err)
	}

	// -consume reads it as a consumer: printed and deleted.
	stdout := mustCtl(t, "tail", "-provider", p, "-consume", "-state", f.state)
	if !strings.Contains(stdout, "A/1") || !strings.Contains(stdout, "1 message(s)") || !strings.Contains(stdout, "consumed") {
		t.Errorf("tail -consume:\n%s", stdout)
	}
	if n := len(peek(t, f.aws, q.URL)); n != 0 {
		t.Errorf("%d messages left after tail -consume", n)
	}

	// The dead-letter queue, which has no redrive policy, is peeked.
	putMessages(t, f.aws, q.DLQURL, "D/1", "D/2")
	stdout = mustCtl(t, "tail", "-provider", p, "-dlq", "-state", f.state)
	if !strings.Contains(stdout, "D/1") || !strings.Contains(stdout, "2 message(s)") || !strings.Contains(stdout, "still there") {
		t.Errorf("tail -dlq:\n%s", stdout)
	}
	if got := perGroup(peek(t, f.aws, q.DLQURL))["D"]; fmt.Sprint(got) != "[D/1 D/2]" {
		t.Errorf("DLQ after tail -dlq: %v", got)
	}
}
