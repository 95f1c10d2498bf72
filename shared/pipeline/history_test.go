package pipeline_test

// Random histories: a provider delivers and redelivers events (their bodies
// differing outside the key), while DynamoDB and SQS fail in every way the
// pipeline tells apart (answered, no answer, applied with the answer lost),
// the decryption key is rotated away and back, and operators redrive and
// replay. Then the faults stop, a redrive sweeps the table and the
// quarantined events are reprocessed. The oracle is the contract, read from
// the outside (the answers, the table, the queue): nothing acknowledged is
// lost, each event is queued exactly once (replays aside) with the data
// stored first, opened, and a TTL only once queued; a marker left names a
// queued event, and the next redrive clears it.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
	"webhooks/shared/eventstore"
	"webhooks/shared/pipeline"
	"webhooks/shared/queue"
)

func TestRandomHistories(t *testing.T) { randomHistories(t, inMemory) }

var randomHistories = register("RandomHistories", func(t *testing.T, on backend) {
	n := 1000
	switch {
	case on == onAWS:
		n = 3 // moto_server answers a few hundred calls a second
	case testing.Short():
		n = 150
	}
	seed := uint64(time.Now().UnixNano())
	for i := range n {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			h := &history{t: t, rng: rand.New(rand.NewPCG(seed, uint64(i))), on: on}
			h.run()
			if t.Failed() {
				t.Logf("history %d of seed %d:\n%s", i, seed, strings.Join(h.log, "\n"))
			}
		})
	}
})

var (
	errAnswered = &smithy.GenericAPIError{Code: "ServiceUnavailable", Message: "injected", Fault: smithy.FaultServer}
	errNoAnswer = errors.New("injected: connection reset by peer")
)

// The faults a history's calls meet, by kind.
var queueFaults = map[string]queue.Failure{
	"":          {},
	"sqs down":  {Err: errAnswered},
	"sqs reset": {Err: errNoAnswer},
	"sqs lost":  {Err: errNoAnswer, Applied: true},
}

var storeFaults = map[string]func(eventstore.Call) eventstore.Failure{
	"": nil,
	"event updates fail": func(c eventstore.Call) eventstore.Failure {
		if c.Op == "UpdateItem" && c.SK == "event" {
			return eventstore.Failure{Err: errAnswered}
		}
		return eventstore.Failure{}
	},
	"event writes lost": func(c eventstore.Call) eventstore.Failure {
		if c.Op == "PutItem" && c.SK == "event" {
			return eventstore.Failure{Err: errNoAnswer, Applied: true}
		}
		return eventstore.Failure{}
	},
	"event writes refused": func(c eventstore.Call) eventstore.Failure {
		if c.Op == "PutItem" && c.SK == "event" {
			return eventstore.Failure{Err: errAnswered}
		}
		return eventstore.Failure{}
	},
	"markers fail": func(c eventstore.Call) eventstore.Failure {
		if c.Op == "PutItem" && strings.HasSuffix(c.PK, "#unsent") {
			return eventstore.Failure{Err: errAnswered}
		}
		return eventstore.Failure{}
	},
}

type history struct {
	t     *testing.T
	rng   *rand.Rand
	on    backend
	stack *testStack
	h     *pipeline.Handler[testSecret]
	log   []string
	// sealed: the events whose bodies carry a field only the good key opens.
	sealed map[string]bool
	// acked: the events a delivery was answered 200 for.
	acked       map[string]bool
	qf, sf, key string
}

func (h *history) logf(format string, a ...any) { h.log = append(h.log, fmt.Sprintf(format, a...)) }

func (h *history) handler() {
	qf, sf := queueFaults[h.qf], storeFaults[h.sf]
	var queueFault queue.Fault
	if qf.Err != nil {
		queueFault = func(queue.Call) queue.Failure { return qf }
	}
	h.h = h.stack.handlerWith(h.t, handlerConfig{queueFault: queueFault, storeFault: sf})
}

func (h *history) rotate(key string) {
	h.key = key
	h.stack.putSecret(h.t, `{"token":"t1","key":"`+key+`","previousVersionGraceHours":0}`)
	h.logf("key %s", key)
}

func pick[T any](rng *rand.Rand, list ...T) T { return list[rng.IntN(len(list))] }

func (h *history) run() {
	t := h.t
	h.stack = newStack(t, h.on, `{"token":"t1","key":"good","previousVersionGraceHours":0}`)
	h.key, h.sealed, h.acked = "good", map[string]bool{}, map[string]bool{}
	ids := []string{"e0", "e1", "e2", "e3"}
	for _, id := range ids {
		h.sealed[id] = h.rng.IntN(2) == 0
	}
	h.handler()
	steps := 10 + h.rng.IntN(30)
	for range steps {
		switch r := h.rng.IntN(20); {
		case r < 11:
			h.deliver(pick(h.rng, ids...))
		case r < 13:
			h.qf = pick(h.rng, "", "", "sqs down", "sqs reset", "sqs lost")
			h.logf("queue fault %q", h.qf)
			h.handler()
		case r < 15:
			h.sf = pick(h.rng, "", "", "event updates fail", "event writes lost", "event writes refused", "markers fail")
			h.logf("store fault %q", h.sf)
			h.handler()
		case r < 16:
			h.rotate(pick(h.rng, "good", "bad"))
			h.handler()
		case r < 18:
			sweep := h.rng.IntN(2) == 0
			out, err := h.h.Invoke(t.Context(), []byte(fmt.Sprintf(`{"redrive":{"olderThan":"0s","sweep":%v}}`, sweep)))
			h.logf("redrive (sweep %v): %s %v", sweep, out, err)
		case r < 19:
			out, err := h.h.Invoke(t.Context(), []byte(`{"replay":{"from":"2000-01-01T00:00:00Z","to":"9999-12-31T23:59:59Z"}}`))
			h.logf("replay: %.120s %v", out, err)
		default:
			d := time.Duration(h.rng.IntN(2000)) * time.Millisecond
			h.stack.sleep(d)
			h.logf("sleep %s", d)
		}
	}
	// The faults stop, the key is good: a redrive sweeps the table and the
	// operator reprocesses what is quarantined.
	h.qf, h.sf = "", ""
	if h.key != "good" {
		h.rotate("good")
	}
	h.handler()
	out, err := h.h.Invoke(t.Context(), []byte(`{"redrive":{"olderThan":"0s","sweep":true}}`))
	h.logf("final redrive: %s %v", out, err)
	if err != nil {
		t.Fatalf("final redrive: %v", err)
	}
	for id, it := range h.stack.EventItems(t) {
		if awskit.Str(it, "status") == "quarantined" {
			out, err := h.h.Invoke(t.Context(), []byte(`{"reprocess":{"eventId":"`+id+`"}}`))
			h.logf("reprocess %s: %s %v", awskit.Str(it, "subject"), out, err)
			if err != nil {
				t.Errorf("reprocess %s: %v", id, err)
			}
		}
	}
	h.check()
}

// deliver sends a delivery of event id: its key, and an amount that differs
// from delivery to delivery.
func (h *history) deliver(id string) {
	body := fmt.Sprintf(`{"id":%q,"amount":"%d.00"`, id, h.rng.IntN(1000))
	if h.sealed[id] {
		body += `,"sealed":"s-` + id + `"`
	}
	body += "}"
	res := awstest.Invoke(h.t, h.h, event(body, map[string]string{"x-token": "t1"}, "203.0.113.1"))
	h.logf("deliver %s: %d %s", body, res.StatusCode, res.Headers["X-Webhook-Outcome"])
	switch res.StatusCode {
	case 200:
		h.acked[id] = true
	case 503:
	default:
		h.t.Errorf("delivery %s: %d %s", body, res.StatusCode, res.Body)
	}
}

func (h *history) check() {
	t := h.t
	items := h.stack.EventItems(t)
	byID := map[string]string{} // event id → its key ("e0"...)
	for id, it := range items {
		byID[id] = awskit.Str(it, "subject")
	}
	for key := range h.acked {
		id := pipeline.EventID("testprov", key)
		it, ok := items[id]
		switch {
		case !ok:
			t.Errorf("%s was acknowledged and is not in the table", key)
		case awskit.Str(it, "status") != "queued":
			t.Errorf("%s was acknowledged and is %s after the redrive and reprocess: %v", key, awskit.Str(it, "status"), it)
		}
	}
	queued := map[string]int{}
	for _, m := range h.stack.Messages(t) {
		it, ok := items[m.Event.ID]
		if !ok {
			t.Errorf("message %s: no such event in the table", m.Event.ID)
			continue
		}
		if !strings.HasPrefix(m.DeduplicationID, "replay-") {
			queued[m.Event.ID]++
			if m.DeduplicationID != m.Event.ID {
				t.Errorf("message %s: de-duplication id %s", m.Event.ID, m.DeduplicationID)
			}
		}
		// What is sent is what was stored first, opened: never a later body.
		var stored map[string]any
		if err := json.Unmarshal([]byte(awskit.Str(it, "data")), &stored); err != nil {
			t.Fatalf("%s: stored data %v", m.Event.ID, err)
		}
		if s, ok := stored["sealed"].(string); ok {
			delete(stored, "sealed")
			stored["opened"] = "PLAINTEXT-" + s
		}
		want, _ := json.Marshal(stored)
		if got := compactData(t, m.Event.Data); got != string(want) {
			t.Errorf("message %s (%s) carries %s, the stored data is %s", m.Event.ID, byID[m.Event.ID], got, want)
		}
	}
	for id, it := range items {
		status := awskit.Str(it, "status")
		_, ttl := it["expires_at"]
		switch {
		case status == "queued" && queued[id] != 1:
			t.Errorf("%s is queued and was sent %d times (replays aside)", byID[id], queued[id])
		case status != "queued" && queued[id] != 0:
			t.Errorf("%s is %s and was sent %d times", byID[id], status, queued[id])
		case status == "queued" != ttl:
			t.Errorf("%s is %s with a TTL: %v", byID[id], status, ttl)
		case status == "queued" && awskit.Str(it, "quarantine_pk") != "":
			t.Errorf("%s is queued and in the quarantine index", byID[id])
		}
		if strings.Contains(awskit.Str(it, "data"), "PLAINTEXT") {
			t.Errorf("%s: opened data stored", byID[id])
		}
	}
	// The final redrive leaves no marker: it clears every marker whose event
	// is queued or quarantined, and when it sends an event, the marker it was
	// given too (a redelivery whose store got no answer leaves one at its own
	// receipt time, which the send, clearing the stored event's, misses).
	for _, it := range h.stack.Items(t) {
		if strings.HasSuffix(awskit.Str(it, "pk"), "#unsent") {
			t.Errorf("an unsent marker outlived the final redrive: %s, whose event is %q", awskit.Str(it, "event_id"), awskit.Str(items[awskit.Str(it, "event_id")], "status"))
		}
	}
}
