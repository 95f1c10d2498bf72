package hostile

// The guarantee "nothing acknowledged is lost or altered", checked on random
// histories against the real handlers and a real AWS API (moto_server), with
// SQS sends and the final "queued" marks failing at random: the provider
// re-delivers what was not acknowledged (its bodies differing in fields that
// are not the event's key), sends again what was (a lost answer), and walks
// its entities through states that come back. The oracle is the contract, read
// from the outside: the responses, the table and the queue.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
	"webhooks/internal/devkit"
	"webhooks/internal/devkit/kits"
	"webhooks/shared/contract"
	"webhooks/shared/eventstore"
	"webhooks/shared/lambdamain"
	"webhooks/shared/metrics"
	"webhooks/shared/pipeline"
	"webhooks/shared/providers/alchemypay"
	"webhooks/shared/providers/apigift"
	"webhooks/shared/providers/oslpay"
	"webhooks/shared/providers/tiki"
	"webhooks/shared/queue"
	"webhooks/shared/secrets"
)

// faults makes the next SQS send or the next "queued" mark fail, as the
// history asks; the failing call is not made (SQS or DynamoDB answered an
// error).
type faults struct {
	mu         sync.Mutex
	failSend   bool
	failMark   bool
	sends      int
	marksTried int
}

func (f *faults) set(send, mark bool) {
	f.mu.Lock()
	f.failSend, f.failMark = send, mark
	f.mu.Unlock()
}

type faultySQS struct {
	queue.API
	f *faults
}

func (q faultySQS) SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	q.f.mu.Lock()
	fail := q.f.failSend
	q.f.sends++
	q.f.mu.Unlock()
	if fail {
		return nil, errors.New("injected: SQS unavailable")
	}
	return q.API.SendMessage(ctx, in, opts...)
}

type faultyDDB struct {
	eventstore.API
	f *faults
}

// UpdateItem fails the mark that records an event as queued (the update that
// sets the TTL attribute: no other write gives an event one), when asked.
func (d faultyDDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if _, marks := in.ExpressionAttributeValues[":"+contract.TableTTLAttribute]; marks && in.UpdateExpression != nil && strings.Contains(*in.UpdateExpression, "SET") {
		d.f.mu.Lock()
		fail := d.f.failMark
		d.f.marksTried++
		d.f.mu.Unlock()
		if fail {
			return nil, errors.New("injected: DynamoDB unavailable")
		}
	}
	return d.API.UpdateItem(ctx, in, opts...)
}

func faultyHandler[C any](t *testing.T, stack *awstest.Stack, p pipeline.Provider[C], f *faults) *pipeline.Handler[C] {
	t.Helper()
	h, err := pipeline.New(p, secrets.New(stack.AWS.Secrets, stack.SecretID, p.ParseSecret),
		eventstore.New(faultyDDB{stack.AWS.DynamoDB, f}, stack.Table), queue.New(faultySQS{stack.AWS.SQS, f}, stack.Queue.URL),
		pipeline.Options{EventTTL: pipeline.DefaultEventTTL, Logger: lambdamain.NewLogger(stack.Logs), Metrics: metrics.New(stack.Logs, "Test")})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// scenario is one provider's way of writing a state of an entity as a body.
// A body also carries tag (a delivery's own mark, in a field outside the key
// that the redaction keeps readable) and, when pan is set, a full card number
// (one of panSpellings) in every field outside the key. What the type keeps
// as sent, where a card number may survive, is the contract's (docs/CONTRACT.md
// §5, as the provider's kit writes it: Kit.Kept), not the scenario's.
type scenario struct {
	provider, variant string
	entities          []string
	states            int
	body              func(entity string, state int, tag, pan string) []byte
	handler           func(t *testing.T, stack *awstest.Stack, f *faults) lambda.Handler
	// times are documented time fields the bodies carry, valid in their
	// layout and Luhn-valid as digits: stored exactly as sent. eventTime,
	// when set, reads the CloudEvent time the first of them gives.
	times     map[string]string
	eventTime func(string) time.Time
}

// Luhn-valid numbers used as ids, quantities and times: kept fields must
// keep them whole.
const (
	luhnSKU     = "1377286379376"       // Tiki's own sample SKU
	luhnOrderNo = "1002172318746911234" // 19 digits
	pan1        = "4111111111111111"
	// Documented times whose digits pass the Luhn check: kept as sent.
	luhnOrderTime = "2024-08-09 15:11:19"
	luhnMillis    = "1723187479007"
)

// panSpellings are ways pan1 is written in a body: grouped, dashed, in the
// digits of other scripts (Arabic-Indic, fullwidth, several in one number).
var panSpellings = []string{"4111 1111 1111 1111", "٤١١١ ١١١١ ١١١١ ١١١١", "４１１１-１１１１-１１１１-１１１１", "4१1١ 1111 ๑๑๑๑ 1111"}

func scenarios() []scenario {
	tikiHandler := func(t *testing.T, s *awstest.Stack, f *faults) lambda.Handler {
		return faultyHandler(t, s, tiki.New(), f)
	}
	return []scenario{
		{
			provider: tiki.Name, variant: tiki.KindStock, entities: []string{luhnSKU, "HOB-8735"}, states: 3,
			body: func(e string, st int, tag, pan string) []byte {
				d := map[string]any{"sku": e, "warehouse": "sgn", "qty_salable": 58 + st%2, "seller_product_code": "SP " + tag + " x " + pan}
				if st < 2 {
					d["date"] = "2023-05-15T15:36:37+07:00"
				}
				if pan != "" {
					d["partner_id"] = pan
				}
				b, _ := json.Marshal(map[string]any{"data": d})
				return b
			},
			handler: tikiHandler,
		},
		{
			provider: tiki.Name, variant: tiki.KindOrder, entities: []string{"347171821", luhnOrderNo}, states: 3,
			body: func(e string, st int, tag, pan string) []byte {
				d := map[string]any{"order_code": e, "main_state": []string{"processing", "delivering", "processing"}[st],
					"main_substate": []string{"ready_for_pickup", "on_the_way", "ready_for_pickup"}[st], "date": "2022-10-26T14:22:05+07:00",
					"ref_code": "TR " + tag + " x " + pan, "reason": "note " + tag}
				if st == 2 {
					delete(d, "date")
				}
				if pan != "" {
					d["reason_code"] = pan
				}
				b, _ := json.Marshal(map[string]any{"data": d})
				return b
			},
			handler: tikiHandler,
		},
		{
			provider: alchemypay.Name, entities: []string{luhnOrderNo, "100217231874691123457"}, states: 3,
			body: func(e string, st int, tag, pan string) []byte {
				b, _ := json.Marshal(map[string]any{"orderNo": e, "orderType": "2", "status": []string{"SUCCESS", "REFUNDING", "FAIL"}[st],
					"cardNumber": "5554748800912345", "cardId": "1232330814012345678", "cardAmount": "1" + tag[len(tag)-2:] + ".00",
					"orderTime": luhnOrderTime, "failReason": "r " + tag + " x " + pan})
				return b
			},
			handler: func(t *testing.T, s *awstest.Stack, f *faults) lambda.Handler {
				return faultyHandler(t, s, alchemypay.New(), f)
			},
			times: map[string]string{"orderTime": luhnOrderTime},
		},
		{
			provider: oslpay.Name, entities: []string{"R1", luhnOrderNo}, states: 3,
			body: func(e string, st int, tag, pan string) []byte {
				d := map[string]any{"orderId": e, "state": []string{"PROCESSING", "COMPLETED", "PROCESSING"}[st],
					"merchantUser": "m " + tag + " x " + pan, "appid": "dev-oslpay-app"}
				if st != 2 {
					d["updateTime"] = luhnMillis
				}
				if pan != "" {
					d["userId"] = pan
				}
				b, _ := json.Marshal(map[string]any{"type": oslpay.KindOrderStatus, "data": d})
				return b
			},
			handler: func(t *testing.T, s *awstest.Stack, f *faults) lambda.Handler {
				return faultyHandler(t, s, oslpay.New(), f)
			},
			times: map[string]string{"updateTime": luhnMillis},
			eventTime: func(ms string) time.Time {
				n, _ := strconv.ParseInt(ms, 10, 64)
				return time.UnixMilli(n).UTC()
			},
		},
		{
			provider: apigift.Name, variant: "product-status-changed", entities: []string{"fa29855a-5d0e", luhnOrderNo}, states: 3,
			body: func(e string, st int, tag, pan string) []byte {
				b, _ := json.Marshal(map[string]any{"id": e, "status": []int{0, 2, 0}[st], "price": []float64{39.99, 39.99, 41.5}[st], "note": "n " + tag + " x " + pan})
				return b
			},
			handler: func(t *testing.T, s *awstest.Stack, f *faults) lambda.Handler {
				return faultyHandler(t, s, apigift.New(), f)
			},
		},
	}
}

// ackTrials is how many histories TestNothingAcknowledgedIsLostOrAltered
// generates (three per scenario by default; go test -run
// TestNothingAcknowledged ./internal/hostile -ack-trials 500 for a long run).
var ackTrials = flag.Int("ack-trials", 15, "histories generated by TestNothingAcknowledgedIsLostOrAltered")

// delivery is one request the provider made and what it was answered.
type delivery struct {
	entity, tag string
	state       int
	status      int
	outcome, id string
}

// TestNothingAcknowledgedIsLostOrAltered: for every generated history,
//   - every delivery's event id follows the latest-state rule: the id of the
//     entity's previous delivery when the state is the same, else one never
//     seen before (A → B → A is three events);
//   - every acknowledged delivery's event is on the queue exactly once, its
//     data the stored data byte for byte, and that data is the first
//     delivery's of the event (its tag), never a redelivery's;
//   - the acknowledged events of an entity reach its message group in the
//     order they were acknowledged;
//   - before the final redrive, every event a response named has its item,
//     without a TTL unless it is queued; after it, every stored event is
//     queued, once, with a TTL that starts when it was queued;
//   - no card number (planted grouped, dashed or in other scripts' digits)
//     survives in any item, message or log line outside what the contract
//     keeps for the type, read by the reference reader (cardref.CardRuns).
func TestNothingAcknowledgedIsLostOrAltered(t *testing.T) {
	keys, dev := devKeys(t)
	trials := *ackTrials
	if testing.Short() {
		trials = min(trials, 5)
	}
	scs := scenarios()
	var clock devkit.UniqueClock
	stats := map[string]int{}
	for trial := range trials {
		sc := scs[trial%len(scs)]
		rng := rand.New(rand.NewPCG(uint64(trial), 19))
		t.Run(fmt.Sprintf("%s-%s-%d", sc.provider, sc.variant, trial), func(t *testing.T) {
			stack := awstest.NewStack(t, sc.provider, string(dev[sc.provider]))
			f := &faults{}
			h := sc.handler(t, stack, f)
			var log []delivery
			bodies := map[string][]byte{} // by tag
			send := func(entity string, state int, pan string) delivery {
				tag := fmt.Sprintf("d%03d", len(log))
				body := sc.body(entity, state, tag, pan)
				bodies[tag] = body
				req, err := keys.Request(sc.provider, sc.variant, body, clock.Next())
				if err != nil {
					t.Fatal(err)
				}
				res := awstest.Invoke(t, h, devkit.HTTPEvent(req).Event)
				d := delivery{entity: entity, tag: tag, state: state, status: res.StatusCode,
					outcome: res.Headers["X-Webhook-Outcome"], id: res.Headers["X-Webhook-Event-Id"]}
				if d.id == "" || (d.status != 200 && d.status != 503) {
					t.Fatalf("%s: %d %s %v", body, res.StatusCode, res.Body, res.Headers)
				}
				log = append(log, d)
				return d
			}
			last := map[string]int{} // the state the provider last delivered, per entity
			for range 8 + rng.IntN(12) {
				e := sc.entities[rng.IntN(len(sc.entities))]
				st, seen := last[e]
				if !seen || rng.IntN(4) > 0 { // a state change (maybe back to an earlier state)
					next := rng.IntN(sc.states)
					for seen && next == st {
						next = rng.IntN(sc.states)
					}
					st = next
				} // else: the last state again, as after an answer that was lost
				last[e] = st
				pan := ""
				if rng.IntN(3) == 0 {
					pan = panSpellings[rng.IntN(len(panSpellings))]
				}
				// Retried until acknowledged, at most 4 times: then the
				// provider gives up, and only the redrive can send it.
				for range 4 {
					f.set(rng.IntN(4) == 0, rng.IntN(5) == 0)
					if d := send(e, st, pan); d.status == 200 {
						break
					}
				}
			}
			f.set(false, false)
			checkHistory(t, sc, stack, log)
			before := eventItems(t, stack)
			for _, d := range log {
				it, ok := before[d.id]
				if !ok {
					t.Fatalf("event %s (delivery %s) has no item", d.id, d.tag)
				}
				if _, ttl := it["expires_at"]; ttl != (awskit.Str(it, "status") == "queued") {
					t.Errorf("event %s: status %s, expires_at %v: an event has a TTL exactly when it is queued", d.id, awskit.Str(it, "status"), it["expires_at"])
				}
			}
			var r struct{ Found, Sent, Failed, Missing int }
			out, err := h.Invoke(t.Context(), []byte(`{"redrive":{"olderThan":"0s","sweep":true}}`))
			if err != nil || json.Unmarshal(out, &r) != nil || r.Failed != 0 || r.Missing != 0 {
				t.Fatalf("final redrive: %s %v", out, err)
			}
			checkQueue(t, sc, stack, log, bodies)
			for _, l := range awskit.LogLeaks(stack.Logs.String(), pan1) {
				t.Error(l)
			}
			stats["deliveries"] += len(log)
			stats["trials"]++
			for _, d := range log {
				stats[d.outcome]++
			}
			stats["redriven"] += r.Sent
		})
	}
	t.Logf("%v", stats)
}

// checkHistory checks the latest-state rule on the ids the responses named:
// a delivery in the state of its entity's previous delivery is that event
// (the same id); any other is a new event (an id never seen before).
func checkHistory(t *testing.T, sc scenario, _ *awstest.Stack, log []delivery) {
	t.Helper()
	prev := map[string]delivery{}
	used := map[string]bool{}
	for _, d := range log {
		p, ok := prev[d.entity]
		switch {
		case ok && p.state == d.state && d.id != p.id:
			t.Errorf("%s: %s in the state of the entity's latest delivery %s got id %s, want %s", sc.provider, d.tag, p.tag, d.id, p.id)
		case !(ok && p.state == d.state) && used[d.id]:
			t.Errorf("%s: %s, a new state of %s, got id %s, already used", sc.provider, d.tag, d.entity, d.id)
		}
		used[d.id] = true
		prev[d.entity] = d
	}
}

func eventItems(t *testing.T, stack *awstest.Stack) map[string]map[string]ddb.AttributeValue {
	t.Helper()
	return stack.EventItems(t)
}

// checkQueue checks the queue and the table after the final redrive.
func checkQueue(t *testing.T, sc scenario, stack *awstest.Stack, log []delivery, bodies map[string][]byte) {
	t.Helper()
	kit, err := kits.Get(sc.provider)
	if err != nil {
		t.Fatal(err)
	}
	items := stack.EventItems(t)
	msgs := stack.Messages(t)
	first := map[string]delivery{} // the delivery that made each event
	for _, d := range log {
		if _, ok := first[d.id]; !ok {
			first[d.id] = d
		}
	}
	count := map[string]int{}
	pos := map[string]int{}
	for i, m := range msgs {
		id := m.Event.ID
		count[id]++
		pos[id] = i
		it, ok := items[id]
		if !ok {
			t.Errorf("message %s: no stored event", id)
			continue
		}
		if stored := awskit.Str(it, "data"); string(m.Event.Data) != stored {
			t.Errorf("message %s: data %s, stored %s: not byte for byte", id, m.Event.Data, stored)
		}
		if d, ok := first[id]; !ok || !strings.Contains(string(m.Event.Data), " "+d.tag) {
			t.Errorf("message %s: data %s is not the first delivery's (%s)", id, m.Event.Data, d.tag)
		}
		for _, l := range awskit.MessageLeaks(kit, m, pan1) {
			t.Error(l)
		}
		var fields map[string]any
		_ = json.Unmarshal(m.Event.Data, &fields)
		for name, sent := range sc.times {
			v, ok := fields[name]
			if !ok {
				continue
			}
			if v != sent {
				t.Errorf("message %s: %s %v, sent %s: a documented time is kept as sent", id, name, v, sent)
			}
			if sc.eventTime != nil {
				if want := sc.eventTime(sent).Format("2006-01-02T15:04:05.000Z"); m.Event.Time != want {
					t.Errorf("message %s: time %s, want %s (the body's %s)", id, m.Event.Time, want, name)
				}
			}
		}
	}
	for id, it := range items {
		if count[id] != 1 {
			t.Errorf("event %s: %d messages, want 1", id, count[id])
		}
		if awskit.Str(it, "status") != "queued" {
			t.Errorf("event %s: %s after the redrive", id, awskit.Str(it, "status"))
		}
		q, err := time.Parse(time.RFC3339Nano, awskit.Str(it, "queued_at"))
		exp, ok := it["expires_at"].(*ddb.AttributeValueMemberN)
		if err != nil || !ok {
			t.Errorf("event %s: queued_at %q, expires_at %v", id, awskit.Str(it, "queued_at"), it["expires_at"])
		} else if n, _ := strconv.ParseInt(exp.Value, 10, 64); n < q.Add(pipeline.DefaultEventTTL).Unix()-1 || n > q.Add(pipeline.DefaultEventTTL).Unix()+1 {
			t.Errorf("event %s: expires at %d, not queued_at %s + TTL", id, n, q)
		}
	}
	for _, it := range stack.Items(t) { // events, and the latest states
		for _, l := range awskit.ItemLeaks(kit, it, pan1) {
			t.Error(l)
		}
	}
	// Acknowledged events, per entity, in the order of their first
	// acknowledgement: on the queue in that order.
	acked := map[string][]string{}
	seen := map[string]bool{}
	for _, d := range log {
		if _, ok := items[d.id]; !ok {
			t.Errorf("event %s named by %s has no item", d.id, d.tag)
		}
		if d.status == 200 && !seen[d.id] {
			seen[d.id] = true
			acked[d.entity] = append(acked[d.entity], d.id)
		}
	}
	for e, ids := range acked {
		for i := 1; i < len(ids); i++ {
			if pos[ids[i-1]] >= pos[ids[i]] {
				t.Errorf("entity %s: acknowledged %s before %s, queued after it", e, ids[i-1], ids[i])
			}
		}
	}
	_ = bodies
}
