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

func TestRedriveEMF(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, "NS")
	r.Redrive("tiki", 3, 2, 1, 4)
	var rec map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &rec); err != nil {
		t.Fatalf("not one JSON line: %q", buf.String())
	}
	d := rec["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
	names, _ := json.Marshal(d["Metrics"])
	if d["Namespace"] != "NS" || string(names) != `[{"Name":"RedriveFound","Unit":"Count"},{"Name":"RedriveSent","Unit":"Count"},{"Name":"RedriveFailed","Unit":"Count"},{"Name":"RedriveMissing","Unit":"Count"}]` {
		t.Errorf("directive %v", d)
	}
	if rec["provider"] != "tiki" || rec["RedriveFound"].(float64) != 3 || rec["RedriveSent"].(float64) != 2 || rec["RedriveFailed"].(float64) != 1 || rec["RedriveMissing"].(float64) != 4 {
		t.Errorf("values %v", rec)
	}
}
