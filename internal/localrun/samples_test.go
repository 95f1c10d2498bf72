package localrun

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func writeSample(t *testing.T, dir, provider, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, provider), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, provider, name+".json"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSamplesReplayAsTheirEvent(t *testing.T) {
	dir := t.TempDir()
	writeSample(t, dir, "oslpay", "order", `{"version":"2.0","rawPath":"/webhooks/oslpay","rawQueryString":"x=1",
		"headers":{"content-type":"application/json","appid":"a","host":"api.example","content-length":"2","x-forwarded-for":"1.2.3.4"},
		"cookies":["c=1"],"requestContext":{"http":{"method":"POST"}},"body":"e30=","isBase64Encoded":true}`)
	writeSample(t, dir, "tiki", "tampered-order", `{"rawPath":"/webhooks/tiki/order","body":"{}"}`)
	writeSample(t, dir, "tiki", "order", `{"rawPath":"/webhooks/tiki/order","body":"{}"}`)
	if err := os.WriteFile(filepath.Join(dir, "dev-secrets.json"), []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}

	samples, err := LoadSamples(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range samples {
		names = append(names, s.Provider+"/"+s.Name)
	}
	if got := joinSpace(names); got != "tiki/order tiki/tampered-order oslpay/order" {
		t.Fatalf("order: %s", got)
	}
	if !samples[0].ExpectAccepted() || samples[1].ExpectAccepted() {
		t.Errorf("expectations: %v %v", samples[0].ExpectAccepted(), samples[1].ExpectAccepted())
	}

	req, err := samples[2].Request(context.Background(), "http://127.0.0.1:9/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(req.Body)
	if req.URL.String() != "http://127.0.0.1:9/webhooks/oslpay?x=1" || string(body) != "{}" || req.Method != "POST" {
		t.Errorf("request %s %s %q", req.Method, req.URL, body)
	}
	if req.Header.Get("Appid") != "a" || req.Header.Get("Cookie") != "c=1" {
		t.Errorf("headers %v", req.Header)
	}
	for _, h := range []string{"Host", "Content-Length", "X-Forwarded-For"} {
		if req.Header.Get(h) != "" {
			t.Errorf("gateway-added header %s replayed", h)
		}
	}
}

func TestLoadSamplesRejectsNonEvents(t *testing.T) {
	dir := t.TempDir()
	writeSample(t, dir, "tiki", "broken", `{"body": "no path"}`)
	if _, err := LoadSamples(dir); err == nil {
		t.Fatal("a sample without rawPath was accepted")
	}
}

func joinSpace(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += " "
		}
		out += v
	}
	return out
}
