package consumer

import (
	"errors"
	"fmt"
	"strings"
	"testing"
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

func BenchmarkDecodeBody(b *testing.B) {
	for _, size := range []int{0, 10_000, 100_000} {
		extra := `{"cancel_reason_code":"x","cancel_reason":"` + strings.Repeat("a", size) + `"}`
		body := fmt.Appendf(nil, tikiOrderBody, extra)
		b.Run(fmt.Sprintf("extra=%dB", size), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := DecodeBody(body); err != nil {
					b.Fatal(err)
				}
			}
		})
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
