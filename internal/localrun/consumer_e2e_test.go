package localrun

// End-to-end test of the consumer side: moto_server, the example consumer's
// real bootstrap under the Lambda Runtime Interface Emulator, and the event
// source mapping poller, on a FIFO queue with a dead-letter queue
// (maxReceiveCount 3) and a 1-second visibility timeout. A poison message (a
// body that is not a CloudEvent) heads message group G, two valid events
// follow it in G, and two valid events are in group H.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"webhooks/consumer"
	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
	"webhooks/shared/queue"
)

const poisonMaxReceives = 3

func TestConsumerPoisonMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: not in -short mode")
	}
	moto := awstest.MotoOrSkip(t)
	emulator := emulatorOrSkip(t)
	bin, err := BuildConsumer(repoRoot, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	env, err := awskit.NewEnv(context.Background(), moto.Endpoint)
	if err != nil {
		t.Fatal(err)
	}

	// Batch size 1: only the head of a group is ever in flight, so the
	// followers are not received (and not counted) until the poison message
	// has left: FIFO order and no follower dead-lettered.
	t.Run("batch1", func(t *testing.T) {
		r := runPoisonScenario(t, env, moto.Env(), emulator, bin, 1)
		r.assertCommon(t)
		pLast := r.lastReceive("P")
		var handled []string
		for _, l := range r.handled {
			if strings.HasPrefix(l, "G") {
				handled = append(handled, l)
			}
		}
		if !slices.Equal(handled, []string{"G1", "G2"}) {
			t.Errorf("G's valid messages handled %v, want [G1 G2] in order", handled)
		}
		for _, l := range []string{"G1", "G2"} {
			recs := r.receives(l)
			if len(recs) == 0 {
				t.Errorf("%s never received", l)
				continue
			}
			if recs[0].batch <= pLast {
				t.Errorf("%s received in batch %d, while the poison message was still in the queue (its last receive: batch %d)", l, recs[0].batch, pLast)
			}
			if recs[0].count != 1 {
				t.Errorf("%s first received with ApproximateReceiveCount %d, want 1", l, recs[0].count)
			}
		}
		if got := r.dlq; !slices.Equal(got, []string{"P"}) {
			t.Errorf("dead-letter queue holds %v, want [P]", got)
		}
	})

	// Batch size 10, the ESM's default: the followers are received with the
	// poison message and fail with it (held by the consumer), so their receive
	// counts rise with its count. What becomes of them is measured and logged.
	t.Run("batch10", func(t *testing.T) {
		r := runPoisonScenario(t, env, moto.Env(), emulator, bin, 10)
		r.assertCommon(t)
		// Whenever a follower was in a batch with the poison message, it had
		// the same receive count: it was counted toward maxReceiveCount.
		together := 0
		for _, p := range r.receives("P") {
			for _, l := range []string{"G1", "G2"} {
				for _, f := range r.receives(l) {
					if f.batch == p.batch {
						together++
						if f.count != p.count {
							t.Errorf("batch %d: %s receive count %d, poison %d", p.batch, l, f.count, p.count)
						}
						if f.deleted {
							t.Errorf("batch %d: %s deleted although the poison message before it in G failed", p.batch, l)
						}
					}
				}
			}
		}
		if together == 0 {
			t.Errorf("the followers were never received with the poison message (batch size 10)")
		}
		for _, l := range []string{"G1", "G2"} {
			var counts []int
			for _, f := range r.receives(l) {
				counts = append(counts, f.count)
			}
			where := "handled"
			if slices.Contains(r.dlq, l) {
				where = "dead-lettered"
			}
			t.Logf("follower %s: receive counts %v, %s", l, counts, where)
		}
		t.Logf("handled in this order: %v; dead-letter queue: %v", r.handled, r.dlq)
		// SQS would hand out none of G while its head is in the queue. moto
		// 5.2.1 does: once the visibility timeout of several in-flight
		// messages of a group ends, its next receive skips the group's earlier
		// ones and returns its last one first. That is moto's defect, not the
		// poller's (which deletes only what the function reported handled):
		// reported here, not asserted, so a fixed moto changes only this line.
		pLast := r.lastReceive("P")
		for _, l := range []string{"G1", "G2"} {
			for _, f := range r.receives(l) {
				if f.batch < pLast && !slices.ContainsFunc(r.receives("P"), func(p observed) bool { return p.batch == f.batch }) {
					t.Logf("moto FIFO defect: %s received alone in batch %d (count %d, deleted %v) while the poison message was still in the queue", l, f.batch, f.count, f.deleted)
				}
			}
		}
	})
}

// poisonRun is what one scenario observed.
type poisonRun struct {
	label    map[string]string // SQS message id -> P, G1, G2, H1, H2
	timeline []observed        // every record of every batch, in order
	handled  []string          // labels, in the order the consumer logged "handled"
	dlq      []string          // labels in the dead-letter queue
	log      string
}

type observed struct {
	batch   int
	label   string
	count   int
	deleted bool
}

func (r *poisonRun) receives(label string) []observed {
	var out []observed
	for _, o := range r.timeline {
		if o.label == label {
			out = append(out, o)
		}
	}
	return out
}

func (r *poisonRun) lastReceive(label string) int {
	last := -1
	for _, o := range r.receives(label) {
		last = o.batch
	}
	return last
}

// assertCommon checks what must hold at any batch size: H consumed on its
// first receive and in order, the poison message never handled and
// dead-lettered after exactly maxReceiveCount receives, and no message lost
// or handled twice.
func (r *poisonRun) assertCommon(t *testing.T) {
	t.Helper()
	var h []string
	for _, l := range r.handled {
		if strings.HasPrefix(l, "H") {
			h = append(h, l)
		}
	}
	if !slices.Equal(h, []string{"H1", "H2"}) {
		t.Errorf("H handled %v, want [H1 H2] in order", h)
	}
	// Promptly: each consumed on its first receive, never retried, whether or
	// not it shared a batch with the poison message. Counted in receives, not
	// in time: when H is received relative to the poison message's visibility
	// timeout depends on how fast a loaded machine runs the consumer.
	for _, l := range []string{"H1", "H2"} {
		recs := r.receives(l)
		if len(recs) != 1 || !recs[0].deleted || recs[0].count != 1 {
			t.Errorf("%s: receives %+v; want exactly one, with receive count 1, consumed", l, recs)
		}
	}
	var counts []int
	for _, o := range r.receives("P") {
		counts = append(counts, o.count)
		if o.deleted {
			t.Errorf("the poison message was deleted in batch %d", o.batch)
		}
	}
	if !slices.Equal(counts, []int{1, 2, 3}) {
		t.Errorf("poison message receive counts %v, want [1 2 3] (maxReceiveCount %d)", counts, poisonMaxReceives)
	}
	if !slices.Contains(r.dlq, "P") {
		t.Errorf("the poison message is not in the dead-letter queue (it holds %v)", r.dlq)
	}
	for _, l := range []string{"P", "G1", "G2", "H1", "H2"} {
		n := 0
		for _, x := range r.handled {
			if x == l {
				n++
			}
		}
		inDLQ := slices.Contains(r.dlq, l)
		switch {
		case l == "P" && n > 0:
			t.Errorf("the poison message was handled")
		case l != "P" && n+btoi(inDLQ) != 1:
			t.Errorf("%s handled %d time(s), in the dead-letter queue: %v; want exactly one of the two", l, n, inDLQ)
		}
	}
	if t.Failed() {
		t.Logf("timeline: %+v", r.timeline)
		t.Logf("consumer log:\n%s", r.log)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func runPoisonScenario(t *testing.T, env *awskit.Env, fnEnv map[string]string, emulator, bin string, batch int32) *poisonRun {
	ctx := context.Background()
	name := awskit.Unique(fmt.Sprintf("poison-b%d", batch))
	dlq, err := env.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq.fifo"), Attributes: map[string]string{"FifoQueue": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	da, err := env.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	q, err := env.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + ".fifo"), Attributes: map[string]string{
		"FifoQueue":         "true",
		"VisibilityTimeout": "1",
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"%d"}`, da.Attributes["QueueArn"], poisonMaxReceives),
	}})
	if err != nil {
		t.Fatal(err)
	}
	qURL, dlqURL := aws.ToString(q.QueueUrl), aws.ToString(dlq.QueueUrl)

	// The valid events are encoded by the receivers' own encoder, and the
	// consumer package must accept them; the poison body it must refuse.
	const typ = "tiki.order.status_changed"
	event := func(n int, order string) queue.Message {
		data := fmt.Sprintf(`{"date":"2024-05-01T10:00:0%dZ","ref_code":"R%d","order_code":%q,"main_state":"processing","main_substate":"step-%d"}`, n, n, order, n)
		ce := queue.NewCloudEvent("tiki", fmt.Sprintf("%032x", 0xabc000+n+int(batch)*100), typ, order, time.Date(2024, 5, 1, 10, 0, n, 0, time.UTC), json.RawMessage(data))
		m := queue.NewMessage("tiki", ce)
		if _, err := consumer.DecodeBody(m.Body); err != nil {
			t.Fatalf("the consumer refuses a valid event: %v", err)
		}
		return m
	}
	g, h := "order-G", "order-H"
	poison := queue.Message{ID: "poison", Type: typ, Provider: "tiki", GroupID: g, Body: []byte(`{"hello":"this is not a CloudEvent"}`)}
	if _, err := consumer.DecodeBody(poison.Body); err == nil {
		t.Fatal("the consumer accepts the poison body")
	}
	send := []struct {
		label string
		m     queue.Message
	}{{"P", poison}, {"H1", event(1, h)}, {"G1", event(2, g)}, {"H2", event(3, h)}, {"G2", event(4, g)}}
	r := &poisonRun{label: map[string]string{}}
	byEventID := map[string]string{}
	pub := queue.New(env.SQS, qURL)
	for _, s := range send {
		id, err := pub.Send(ctx, s.m)
		if err != nil {
			t.Fatal(err)
		}
		r.label[id] = s.label
		byEventID[s.m.ID] = s.label
	}

	logs := &awskit.SyncBuffer{}
	f, err := StartFunction(ctx, FunctionConfig{Name: "poison-consumer", Binary: bin, Emulator: emulator, Env: fnEnv, Output: logs, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		pids := f.Pids()
		f.Stop()
		for _, pid := range pids {
			if syscall.Kill(pid, 0) == nil {
				t.Errorf("process %d still running after Stop", pid)
			}
		}
	}()
	p, err := NewPoller(ctx, PollerConfig{Name: "test", QueueURL: qURL, SQS: env.SQS, Function: f, Region: "us-east-1", BatchSize: batch, Wait: 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := "arn:aws:sqs:us-east-1:" + LocalAccountID + ":" + name + ".fifo"; p.ARN() != want {
		t.Errorf("eventSourceARN %q, want %q", p.ARN(), want)
	}

	// Poll until the queue is empty (a moto receive moves a message over
	// maxReceiveCount to the dead-letter queue), bounded for a broken run.
	deadline := time.Now().Add(90 * time.Second)
	for b := 0; ; b++ {
		if time.Now().After(deadline) {
			t.Fatalf("queue not drained; timeline %+v; log:\n%s", r.timeline, logs.String())
		}
		res, err := p.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.InvokeErr != nil {
			t.Fatalf("invocation failed: %v", res.InvokeErr)
		}
		for _, rec := range res.Records {
			r.timeline = append(r.timeline, observed{batch: b, label: r.label[rec.MessageID], count: rec.ReceiveCount, deleted: rec.Deleted})
		}
		if len(res.Records) > 0 {
			continue
		}
		a, err := env.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(qURL), AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		if err != nil {
			t.Fatal(err)
		}
		if a.Attributes["ApproximateNumberOfMessages"] == "0" && a.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0" {
			break
		}
	}
	dead, err := awskit.ReadQueue(ctx, env.SQS, dlqURL, awskit.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range dead {
		r.dlq = append(r.dlq, r.label[m.MessageID])
	}
	r.log = logs.String()
	for _, line := range strings.Split(r.log, "\n") {
		var l struct {
			Msg, ID, Group string
		}
		if json.Unmarshal([]byte(line), &l) != nil || l.Msg != "handled" {
			continue
		}
		label := byEventID[l.ID]
		if label == "" {
			t.Errorf("handled an event this test did not send: %q", l.ID)
			continue
		}
		if want := map[byte]string{'G': g, 'H': h}[label[0]]; l.Group != want {
			t.Errorf("%s handled with group %q, want %q (the record's MessageGroupId)", label, l.Group, want)
		}
		r.handled = append(r.handled, label)
	}
	t.Logf("batch size %d: %d batches; timeline (batch label count deleted): %v; dead-letter queue %v", batch, r.timeline[len(r.timeline)-1].batch+1, r.timeline, r.dlq)
	return r
}
