package queue_test

import (
	"encoding/json"
	"testing"
	"time"

	"webhooks/shared/queue"
)

// The CloudEvents envelope of every queued message: build and encode.
func BenchmarkCloudEventEnvelope(b *testing.B) {
	data := json.RawMessage(`{"order_code":"861640277","status":"processing","main_state":"processing","main_substate":"picking","date":"2026-11-01T08:00:00+07:00","items":[{"sku":"1234567","qty":2}]}`)
	t := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		ce := queue.NewCloudEvent("tiki", "0123456789abcdef0123456789abcdef", "tiki.order.status_changed", "861640277", t, data)
		if len(ce.Encode()) == 0 {
			b.Fatal("empty")
		}
	}
}
