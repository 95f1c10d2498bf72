package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/aws/aws-lambda-go/events"
)

const tikiOrderBody = `{"specversion":"1.0","id":"0123456789abcdef0123456789abcdef","source":"webhooks/tiki","type":"tiki.order.status_changed","subject":"347171821","time":"2022-10-26T07:22:05Z","datacontenttype":"application/json","data":{"date":"2022-10-26T14:22:05+07:00","ref_code":"TR22","order_code":"347171821","main_state":"processing","main_substate":"ready_for_pickup","extra_info":%s}}`

// A body nested as deep as a message may be (1 MiB of brackets) is refused
// at the depth bound (beyond 10,000 levels, by the JSON decoder itself), not
// walked level by level.
func TestDeepDataRefusedAtTheBound(t *testing.T) {
	for _, depth := range []int{maxDepth, 10 * maxDepth, 500_000} {
		nested := strings.Repeat("[", depth) + strings.Repeat("]", depth)
		_, err := DecodeBody(fmt.Appendf(nil, tikiOrderBody, nested))
		if !errors.Is(err, ErrInvalid) || (depth < 10_000 && !strings.Contains(err.Error(), "nested deeper")) {
			t.Errorf("depth %d: %v, want the depth bound", depth, err)
		}
	}
	ok := strings.Repeat("[", maxDepth-2) + strings.Repeat("]", maxDepth-2)
	if _, err := DecodeBody(fmt.Appendf(nil, tikiOrderBody, ok)); err != nil {
		t.Errorf("depth %d: %v", maxDepth-2, err)
	}
}

// Every event type's data says something to log.
func TestEveryTypeSummarizes(t *testing.T) {
	for _, typ := range EventTypes() {
		if _, ok := NewData(typ).(Summarizer); !ok {
			t.Errorf("%s: its data does not implement Summarizer", typ)
		}
	}
}

// OnInvalid decides for a record Decode refuses: nil skips it (its group goes
// on), an error or a panic fails it and holds its group.
func TestOnInvalid(t *testing.T) {
	unknown := strings.Replace(fmt.Sprintf(tikiOrderBody, "null"), `"type":"tiki.order.status_changed"`, `"type":"oslpay.wallet_freeze"`, 1)
	unknown = strings.Replace(unknown, `"source":"webhooks/tiki"`, `"source":"webhooks/oslpay"`, 1)
	valid := fmt.Sprintf(tikiOrderBody, "null")
	rec := func(id, body string) events.SQSMessage {
		return events.SQSMessage{MessageId: id, Body: body, Attributes: map[string]string{"MessageGroupId": "g"}}
	}
	batch := events.SQSEvent{Records: []events.SQSMessage{rec("a", unknown), rec("b", valid)}}
	for _, c := range []struct {
		name string
		on   func(context.Context, events.SQSMessage, error) error
		want Result
	}{
		{"nil skips", func(_ context.Context, _ events.SQSMessage, err error) error {
			if !errors.Is(err, ErrUnknownType) {
				return err
			}
			return nil
		}, Result{"a": Skipped, "b": Handled}},
		{"an error fails", func(context.Context, events.SQSMessage, error) error { return errors.New("no") }, Result{"a": Failed, "b": Held}},
		{"a panic fails", func(context.Context, events.SQSMessage, error) error { panic("boom") }, Result{"a": Failed, "b": Held}},
		{"unset fails", nil, Result{"a": Failed, "b": Held}},
	} {
		h := &Handler{Handle: func(context.Context, *Message) error { return nil }, OnInvalid: c.on, Logger: slog.New(slog.DiscardHandler)}
		if got := h.Process(context.Background(), batch); !maps.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

const deliveredBody = `{"specversion":"1.0","id":"0123456789abcdef0123456789abcdef","source":"webhooks/apigift","type":"apigift.inventory_item.delivered","subject":"i1","time":"2026-01-02T03:04:05Z","datacontenttype":"application/json","data":{"takeoutInventoryId":"t1","inventoryId":"i1","virtualCollections":%s}}`

const cardBody = `{"specversion":"1.0","id":"0123456789abcdef0123456789abcdef","source":"webhooks/alchemypay","type":"alchemypay.card_order.status_changed","subject":"o1","time":"2026-01-02T03:04:05Z","datacontenttype":"application/json","data":{"orderNo":"o1","status":"S","cardNumber":%q}}`

// Decrypted goods are any JSON the plaintext was: however deep it nests, the
// message decodes (the depth bound is for what the receiver redacted).
func TestDeepGoodsDecode(t *testing.T) {
	goods := strings.Repeat("[", 3*maxDepth) + `{"code":"4111111111111111"}` + strings.Repeat("]", 3*maxDepth)
	if _, err := DecodeBody(fmt.Appendf(nil, deliveredBody, goods)); err != nil {
		t.Fatal(err)
	}
}

// A card number's digits count in any script, as the receivers count them.
func TestMaskedCardNumberInAnyScript(t *testing.T) {
	for v, ok := range map[string]bool{
		"４１１１１１１１１１１１１１１１":    false, // fullwidth
		"٤١١١١١١١١١١١١١١١":    false, // Arabic-Indic
		"４１１１１１******１１１１":    true,
		"411111******1111":    true,
		"4111 11** **** 1111": true,
		"4111111111111111":    false,
		"411111111111******":  false, // 12 digits shown
		"**** **** **** ****": true,
		"exp 12/25":           false, // digits of a short value are masked too
		"exp **/**":           true,
	} {
		_, err := DecodeBody(fmt.Appendf(nil, cardBody, v))
		if (err == nil) != ok {
			t.Errorf("%q: %v, want accepted %v", v, err, ok)
		}
	}
}

type panickyStore struct{ MemoryStore }

func (*panickyStore) Claim(context.Context, string, time.Time, time.Time, time.Time) (bool, error) {
	panic("store bug")
}

// A panic in a Store fails its record (and holds its group); it never escapes
// the handler, whatever the number of groups handled at once.
func TestPanickyStoreFailsTheRecord(t *testing.T) {
	valid := fmt.Sprintf(tikiOrderBody, "null")
	rec := func(id, group string) events.SQSMessage {
		return events.SQSMessage{MessageId: id, Body: valid, Attributes: map[string]string{"MessageGroupId": group}}
	}
	batch := events.SQSEvent{Records: []events.SQSMessage{rec("a", "g"), rec("b", "g"), rec("c", "h")}}
	for _, groups := range []int{1, 4} {
		h := &Handler{Handle: func(context.Context, *Message) error { return nil }, Groups: groups,
			Idempotency: &Idempotency{Store: &panickyStore{}}, Logger: slog.New(slog.DiscardHandler)}
		want := Result{"a": Failed, "b": Held, "c": Failed}
		if got := h.Process(context.Background(), batch); !maps.Equal(got, want) {
			t.Errorf("groups %d: %v, want %v", groups, got, want)
		}
	}
}

// LogSafe leaves no run of 13 or more digits, in any script or shape, and
// keeps shorter runs and everything else.
func TestLogSafe(t *testing.T) {
	for in, want := range map[string]string{
		"4111111111111111":                "411111******1111",
		"processing/4111111111111111":     "processing/411111******1111",
		"qty_salable 4111 1111 1111 1111": "qty_salable 4111 11** **** 1111",
		"４１１１１１１１１１１１１１１１":                "４１１１１１******１１１１",
		"order 347171821":                 "order 347171821",
		"ORD-458236":                      "ORD-458236",
		"ab1234567890123cd":               "ab123456***0123cd",
	} {
		if got := LogSafe(in); got != want {
			t.Errorf("LogSafe(%q) = %q, want %q", in, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		var b strings.Builder
		for range rng.IntN(60) {
			switch rng.IntN(4) {
			case 0:
				b.WriteByte(byte('a' + rng.IntN(26)))
			case 1:
				b.WriteString([]string{" ", "-", "/", ".", "_"}[rng.IntN(5)])
			default:
				b.WriteByte(byte('0' + rng.IntN(10)))
			}
		}
		out := LogSafe(b.String())
		n := 0
		for _, r := range out {
			switch {
			case unicode.IsDigit(r):
				n++
				if n >= 13 {
					t.Fatalf("LogSafe(%q) = %q keeps a run of 13 digits", b.String(), out)
				}
			case unicode.IsLetter(r) || r == '*':
				n = 0
			}
		}
	}
}
