package queue_test

// Conformance: one set of cases, run against the in-memory queue and the SQS
// publisher on a real FIFO queue (moto_server), so that the pipeline's tests,
// which run on Memory, prove what they would prove on SQS. Each case asserts
// the results, the errors (their kind, and SQS's error code when it
// answered) and the messages a consumer then receives.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
	"webhooks/shared/pipeline"
	"webhooks/shared/queue"
)

func TestMain(m *testing.M) { awstest.Main(m) }

var (
	_ pipeline.Queue = (*queue.Memory)(nil)
	_ pipeline.Queue = (*queue.Publisher)(nil)
)

// fifo is one test's FIFO queue and what a test does to it.
type fifo struct {
	pipeline.Queue
	with    func(f queue.Fault) pipeline.Queue // another publisher, whose sends meet f
	drain   func(t *testing.T) []queue.Received
	remove  func(t *testing.T) // DeleteQueue
	create  func(t *testing.T) // CreateQueue, the same name, the stack's settings
	maxSize func(t *testing.T, n int)
}

type backend struct {
	name string
	open func(t *testing.T) *fifo
}

var memoryBackend = backend{"memory", func(*testing.T) *fifo {
	q := queue.NewMemory()
	return &fifo{
		Queue:   q,
		with:    func(f queue.Fault) pipeline.Queue { return q.WithFault(f) },
		drain:   func(*testing.T) []queue.Received { return q.Drain() },
		remove:  func(*testing.T) { q.Delete() },
		create:  func(*testing.T) { q.Create() },
		maxSize: func(_ *testing.T, n int) { q.SetMaxMessageSize(n) },
	}
}}

// sqsBackend is the SQS publisher on a FIFO queue created as the stack
// creates it, on moto_server (skipped without it, as every integration test
// is; CI=true makes a missing moto_server fail).
var sqsBackend = backend{"sqs", func(t *testing.T) *fifo {
	t.Helper()
	env, err := awskit.NewEnv(t.Context(), awstest.Endpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	name := awskit.Unique("conformance")
	q, err := env.CreateQueue(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return &fifo{
		Queue: queue.New(env.SQS, q.URL),
		with:  func(f queue.Fault) pipeline.Queue { return queue.New(awstest.FaultySQS(env.SQS, f), q.URL) },
		drain: func(t *testing.T) []queue.Received {
			t.Helper()
			msgs, err := env.Drain(t.Context(), q.URL)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]queue.Received, len(msgs))
			for i, m := range msgs {
				out[i] = queue.Received{MessageID: m.MessageID, GroupID: m.GroupID, DeduplicationID: m.DeduplicationID,
					Attributes: m.Attributes, Body: []byte(m.Body), SentAt: m.SentAt}
			}
			return out
		},
		remove: func(t *testing.T) {
			if err := env.DeleteQueue(t.Context(), q.URL); err != nil {
				t.Fatal(err)
			}
		},
		create: func(t *testing.T) {
			if _, err := env.CreateQueue(t.Context(), name); err != nil {
				t.Fatal(err)
			}
		},
		maxSize: func(t *testing.T, n int) {
			if _, err := env.SQS.SetQueueAttributes(t.Context(), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(q.URL),
				Attributes: map[string]string{"MaximumMessageSize": fmt.Sprint(n)}}); err != nil {
				t.Fatal(err)
			}
		},
	}
}}

// eachBackend runs the case on the in-memory queue and on SQS (moto): one
// set of assertions, which both must pass.
func eachBackend(t *testing.T, run func(t *testing.T, q *fifo)) {
	for _, b := range []backend{memoryBackend, sqsBackend} {
		t.Run(b.name, func(t *testing.T) { run(t, b.open(t)) })
	}
}

func message(id, subject, data string) queue.Message {
	return queue.NewMessage("p1", queue.NewCloudEvent("p1", id, "p1.thing", subject, time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC), []byte(data)))
}

// kind names an error as the pipeline reads it: the queue's sentinel, and
// SQS's error code when it answered ("-" when no answer came).
func kind(err error) string {
	if err == nil {
		return "ok"
	}
	name := "other(" + err.Error() + ")"
	switch {
	case errors.Is(err, queue.ErrRefused):
		name = "refused"
	case errors.Is(err, queue.ErrUnavailable):
		name = "unavailable"
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return name + "/" + ae.ErrorCode()
	}
	return name + "/-"
}

// summary renders received messages: group, de-duplication id, attributes
// and body, one per line, in the order received.
func summary(msgs []queue.Received) string {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "%s %s provider=%s type=%s %s\n", m.GroupID, m.DeduplicationID, m.Attributes["provider"], m.Attributes["type"], m.Body)
	}
	return b.String()
}

// Each message is received once, in the order sent, with its group, its
// de-duplication id, its attributes and its body byte for byte.
func TestConformanceSend(t *testing.T) {
	eachBackend(t, func(t *testing.T, q *fifo) {
		ids := map[string]bool{}
		for _, m := range []queue.Message{message("e1", "g1", `{"n":1}`), message("e2", "g2", "{\"n\":\"é<\u2028>\"}"), message("e3", "g1", `[3]`)} {
			id, err := q.Send(t.Context(), m)
			if err != nil || id == "" || ids[id] {
				t.Fatalf("send %s: %q %v", m.ID, id, err)
			}
			ids[id] = true
		}
		msgs := q.drain(t)
		want := `g1 e1 provider=p1 type=p1.thing {"specversion":"1.0","id":"e1","source":"webhooks/p1","type":"p1.thing","subject":"g1","time":"2026-11-28T10:00:00Z","datacontenttype":"application/json","data":{"n":1}}
g2 e2 provider=p1 type=p1.thing {"specversion":"1.0","id":"e2","source":"webhooks/p1","type":"p1.thing","subject":"g2","time":"2026-11-28T10:00:00Z","datacontenttype":"application/json","data":{"n":"é<` + "\u2028" + `>"}}
g1 e3 provider=p1 type=p1.thing {"specversion":"1.0","id":"e3","source":"webhooks/p1","type":"p1.thing","subject":"g1","time":"2026-11-28T10:00:00Z","datacontenttype":"application/json","data":[3]}
`
		if got := summary(msgs); got != want {
			t.Errorf("received\n%s\nwant\n%s", got, want)
		}
		for _, m := range msgs {
			if !ids[m.MessageID] {
				t.Errorf("received message id %s is none of the sends' %v", m.MessageID, ids)
			}
		}
		if msgs := q.drain(t); len(msgs) != 0 {
			t.Errorf("received again: %s", summary(msgs))
		}
	})
}

// A FIFO queue drops a message whose de-duplication id it accepted within
// 5 minutes (the send still succeeds), whatever its body; another id (a
// replay's) is delivered.
func TestConformanceDeduplication(t *testing.T) {
	eachBackend(t, func(t *testing.T, q *fifo) {
		first := message("e1", "g1", `{"v":1}`)
		again := message("e1", "g1", `{"v":2}`)
		replay := message("e1", "g1", `{"v":1}`)
		replay.DeduplicationID = "replay-r1-e1"
		for i, m := range []queue.Message{first, again, first, replay, replay} {
			if id, err := q.Send(t.Context(), m); err != nil || id == "" {
				t.Fatalf("send %d: %q %v", i, id, err)
			}
		}
		msgs := q.drain(t)
		if len(msgs) != 2 || msgs[0].DeduplicationID != "e1" || !strings.Contains(string(msgs[0].Body), `{"v":1}`) || msgs[1].DeduplicationID != "replay-r1-e1" {
			t.Errorf("received\n%s", summary(msgs))
		}
	})
}

// A message over the queue's maximum size is refused for its content
// (InvalidParameterValue, "Message must be shorter than"); one over SQS's own
// maximum is refused before any call.
func TestConformanceMessageSize(t *testing.T) {
	eachBackend(t, func(t *testing.T, q *fifo) {
		big := message("big", "g", `"`+strings.Repeat("x", 2000)+`"`)
		q.maxSize(t, 1024)
		if _, err := q.Send(t.Context(), big); kind(err) != "refused/InvalidParameterValue" || !strings.Contains(err.Error(), "shorter than 1024") {
			t.Errorf("over the queue's maximum: %v", err)
		}
		if _, err := q.Send(t.Context(), message("small", "g", `1`)); err != nil {
			t.Errorf("under it: %v", err)
		}
		q.maxSize(t, queue.MaxMessageBytes)
		if _, err := q.Send(t.Context(), big); err != nil {
			t.Errorf("the maximum raised: %v", err)
		}
		var calls atomic.Int32
		counted := q.with(func(queue.Call) queue.Failure { calls.Add(1); return queue.Failure{} })
		huge := message("huge", "g", `"`+strings.Repeat("y", queue.MaxMessageBytes)+`"`)
		if _, err := counted.Send(t.Context(), huge); kind(err) != "refused/-" || calls.Load() != 0 {
			t.Errorf("over SQS's maximum: %v, %d calls", err, calls.Load())
		}
		if got := summary(q.drain(t)); strings.Count(got, "\n") != 2 || !strings.HasPrefix(got, "g small") {
			t.Errorf("received\n%s", got)
		}
	})
}

// A deleted queue refuses every send as unavailable (SQS answered: the
// queue does not exist) and loses what it held, its de-duplication history
// too; created again it takes messages.
func TestConformanceDeletedQueue(t *testing.T) {
	eachBackend(t, func(t *testing.T, q *fifo) {
		if _, err := q.Send(t.Context(), message("e1", "g", `1`)); err != nil {
			t.Fatal(err)
		}
		q.remove(t)
		_, err := q.Send(t.Context(), message("e2", "g", `2`))
		if kind(err) != "unavailable/AWS.SimpleQueueService.NonExistentQueue" {
			t.Errorf("send to a deleted queue: %s (%v)", kind(err), err)
		}
		q.create(t)
		for _, id := range []string{"e1", "e3"} {
			if _, err := q.Send(t.Context(), message(id, "g", `3`)); err != nil {
				t.Fatalf("send to the queue created again: %v", err)
			}
		}
		if got := summary(q.drain(t)); strings.Count(got, "\n") != 2 || !strings.HasPrefix(got, "g e1 ") || !strings.Contains(got, "\ng e3 ") {
			t.Errorf("received\n%s", got)
		}
	})
}

// Failures, as the pipeline tells them apart: SQS answered (throttled:
// unavailable, with its code; the message's content refused) or no answer
// came; a message SQS accepted whose answer was lost is delivered, once,
// however often it is sent again within the de-duplication window.
func TestConformanceFailures(t *testing.T) {
	eachBackend(t, func(t *testing.T, q *fifo) {
		every := func(err error, applied bool) pipeline.Queue {
			return q.with(func(queue.Call) queue.Failure { return queue.Failure{Err: err, Applied: applied} })
		}
		for _, c := range []struct {
			name string
			err  error
			want string
		}{
			{"throttled", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded", Fault: smithy.FaultServer}, "unavailable/ThrottlingException"},
			{"no answer", errors.New("read tcp: connection reset by peer"), "unavailable/-"},
			{"content", &smithy.GenericAPIError{Code: "InvalidMessageContents", Message: "Invalid binary character", Fault: smithy.FaultClient}, "refused/InvalidMessageContents"},
			{"too long", &smithy.GenericAPIError{Code: "InvalidParameterValue", Message: "Message must be shorter than 262144 bytes.", Fault: smithy.FaultClient}, "refused/InvalidParameterValue"},
			{"configuration", &smithy.GenericAPIError{Code: "InvalidParameterValue", Message: "The request include parameter that is not valid for this queue type", Fault: smithy.FaultClient}, "unavailable/InvalidParameterValue"},
		} {
			if _, err := every(c.err, false).Send(t.Context(), message("f-"+c.name, "g", `1`)); kind(err) != c.want {
				t.Errorf("%s: %s, want %s", c.name, kind(err), c.want)
			}
		}
		if msgs := q.drain(t); len(msgs) != 0 {
			t.Errorf("failed sends delivered\n%s", summary(msgs))
		}
		lost := every(errors.New("read tcp: connection reset by peer"), true)
		if _, err := lost.Send(t.Context(), message("lost", "g", `1`)); kind(err) != "unavailable/-" {
			t.Errorf("answer lost: %v", err)
		}
		if _, err := lost.Send(t.Context(), message("lost", "g", `1`)); kind(err) != "unavailable/-" {
			t.Errorf("answer lost again: %v", err)
		}
		if _, err := q.Send(t.Context(), message("lost", "g", `1`)); err != nil {
			t.Errorf("sent again: %v", err)
		}
		if got := summary(q.drain(t)); strings.Count(got, "\n") != 1 || !strings.HasPrefix(got, "g lost ") {
			t.Errorf("received\n%s", got)
		}
		done, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := q.Send(done, message("late", "g", `1`)); kind(err) != "unavailable/-" {
			t.Errorf("send on a done context: %v", err)
		}
		if msgs := q.drain(t); len(msgs) != 0 {
			t.Errorf("the send on a done context was delivered\n%s", summary(msgs))
		}
	})
}
