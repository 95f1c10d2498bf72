package metrics

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestWebhookEMF(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, "")
	r.now = func() time.Time { return time.UnixMilli(1700000000123) }
	r.Webhook("tiki", Accepted, "tiki.order.status_changed", 1500*time.Microsecond)
	var rec map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &rec); err != nil {
		t.Fatalf("not one JSON line: %q", buf.String())
	}
	aws := rec["_aws"].(map[string]any)
	if aws["Timestamp"].(float64) != 1700000000123 {
		t.Errorf("timestamp %v", aws["Timestamp"])
	}
	d := aws["CloudWatchMetrics"].([]any)[0].(map[string]any)
	if d["Namespace"] != DefaultNamespace {
		t.Errorf("namespace %v", d["Namespace"])
	}
	dims, _ := json.Marshal(d["Dimensions"])
	if string(dims) != `[["provider","outcome"],["provider"]]` {
		t.Errorf("dimensions %s", dims)
	}
	// Every dimension and metric named in the directive has a value at top level.
	if rec["provider"] != "tiki" || rec["outcome"] != "accepted" || rec["Webhooks"].(float64) != 1 || rec["Latency"].(float64) != 1.5 {
		t.Errorf("values %v", rec)
	}
	var nilRec *Recorder
	nilRec.Webhook("x", Failed, "", 0) // must not panic
}
