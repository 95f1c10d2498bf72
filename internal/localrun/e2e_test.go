package localrun

// End-to-end: moto_server, the real function binaries built for this host
// under the Lambda Runtime Interface Emulator, the gateway on a loopback port, and
// HTTP requests: every sample in events/, forged copies of them, and a
// request signed here with the development secret. Then the queues must hold
// exactly one CloudEvent per accepted delivery, and no card number may
// survive in the table, a message or a line any function or emulator wrote
// (the reference reader, cardref.CardRuns, through awskit).

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"webhooks/internal/devkit"

	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
	"webhooks/internal/devkit/kits"
)

const repoRoot = "../.."

// planted is a card number the test sends where nothing keeps it.
const planted = "4111111111111111"

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: not in -short mode")
	}
	began := time.Now()
	moto := awstest.MotoOrSkip(t)
	t.Logf("moto_server ready in %s", time.Since(began).Round(time.Millisecond))
	emulator := emulatorOrSkip(t)

	binDir := t.TempDir()
	builtAt := time.Now()
	built, err := BuildFunctions(repoRoot, binDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built %v for the host in %s", built, time.Since(builtAt).Round(time.Millisecond))

	logs := &functionLogs{bufs: map[string]*bytes.Buffer{}}
	runtimeEvents := &functionLogs{bufs: map[string]*bytes.Buffer{}}
	startAt := time.Now()
	stack, err := Start(context.Background(), Config{
		SecretsFile:    filepath.Join(repoRoot, "events", "dev-secrets.json"),
		BinDir:         binDir,
		Prefix:         "e2e",
		AWS:            AWSEnv{Endpoint: moto.Endpoint},
		Emulator:       emulator,
		FunctionOutput: logs.writer,
		Logf: func(format string, args ...any) {
			fmt.Fprintf(runtimeEvents.writer("runtime"), format+"\n", args...)
		},
		Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatalf("localrun.Start: %v", err)
	}
	defer func() {
		pids := stack.Pids() // the emulators and the runtimes the requests started
		if want := 2 * len(stack.Running()); len(pids) != want {
			t.Errorf("pids %v: want %d (an emulator and a runtime per function)", pids, want)
		}
		stack.Stop()
		for _, pid := range pids {
			if syscall.Kill(pid, 0) == nil {
				t.Errorf("process %d still running after Stop", pid)
			}
		}
	}()
	t.Logf("functions %v up in %s", stack.Running(), time.Since(startAt).Round(time.Millisecond))
	defer func() {
		if t.Failed() {
			for name, l := range logs.snapshot() {
				t.Logf("---- %s output ----\n%s", name, l)
			}
			t.Logf("---- runtime events ----\n%s", runtimeEvents.snapshot()["runtime"])
		}
	}()
	runningSorted := append([]string(nil), stack.Running()...)
	sort.Strings(runningSorted)
	if got := strings.Join(runningSorted, ","); got != strings.Join(built, ",") {
		t.Fatalf("running %q, built %q", got, strings.Join(built, ","))
	}

	gw := httptest.NewServer(stack.Gateway)
	defer gw.Close()
	client := gw.Client()

	// accepted[provider] lists the event types of deliveries that must be on the queue.
	accepted := map[string][]string{}
	record := func(provider string, status int, h http.Header) {
		if status/100 == 2 && h.Get("X-Webhook-Outcome") == "accepted" {
			accepted[provider] = append(accepted[provider], h.Get("X-Webhook-Event-Type"))
		}
	}

	samples, err := LoadSamples(filepath.Join(repoRoot, "events"))
	if err != nil {
		t.Fatal(err)
	}
	running := map[string]bool{}
	for _, p := range stack.Running() {
		running[p] = true
	}
	sent := time.Now()
	results := RunSamples(context.Background(), client, gw.URL, samples, stack.Running())
	t.Logf("%d samples answered in %s", len(results), time.Since(sent).Round(time.Millisecond))
	for _, r := range results {
		t.Run("sample/"+r.Sample.Provider+"/"+r.Sample.Name, func(t *testing.T) {
			if r.Skipped != "" {
				t.Skip(r.Skipped)
			}
			if !r.OK() {
				t.Fatalf("expected %s, got %d %s (err %v)", r.Expected(), r.Status, r.Body, r.Err)
			}
		})
		if r.Err == nil && r.Status/100 == 2 && r.Outcome == "accepted" {
			accepted[r.Sample.Provider] = append(accepted[r.Sample.Provider], r.EventType)
		}
	}

	// Forged copies of every accepted sample: each must be refused with 401 and
	// leave nothing on a queue.
	secrets, err := devkit.ReadDevSecrets(filepath.Join(repoRoot, "events", "dev-secrets.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !r.OK() || r.Skipped != "" || !r.Sample.ExpectAccepted() {
			continue
		}
		for _, f := range forgeries(r.Sample, secrets) {
			t.Run("forged/"+r.Sample.Provider+"/"+r.Sample.Name+"/"+f.name, func(t *testing.T) {
				req, err := f.sample.Request(context.Background(), gw.URL)
				if err != nil {
					t.Fatal(err)
				}
				status, _, body, err := Send(client, req)
				if err != nil || status != http.StatusUnauthorized {
					t.Fatalf("got %d %s (err %v), want 401", status, body, err)
				}
			})
		}
	}

	// A Tiki delivery signed here with the development secret, whatever the
	// samples hold: accepted once, a redelivery is a duplicate, and the same
	// body changed after signing is refused. It carries card numbers where
	// Tiki's data keeps none (in ASCII and in other scripts' digits).
	if running["tiki"] {
		var tiki map[string]string
		if err := json.Unmarshal(secrets["tiki"], &tiki); err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf(`{"data":{"date":"2024-01-02T03:04:05+07:00","sku":"E2E-%d","warehouse":"sgn","qty_salable":7,`+
			`"seller_product_code":"E2E ٤١١١ ١١١١ ١١١١ ١١١١","partner_id":"%s","note":{"4१1١ 1111 ๑๑๑๑ 1111":true}}}`, time.Now().UnixNano(), planted)
		post := func(body, sig string) (int, http.Header, string) {
			req, _ := http.NewRequest(http.MethodPost, gw.URL+"/webhooks/tiki/stock", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Signature", sig)
			status, h, b, err := Send(client, req)
			if err != nil {
				t.Fatal(err)
			}
			return status, h, b
		}
		sig := "sha1=" + hmacSHA1(tiki["stock"], body)
		status, h, b := post(body, sig)
		if status != 200 || h.Get("X-Webhook-Outcome") != "accepted" || h.Get("X-Webhook-Event-Type") != "tiki.stock.changed" {
			t.Errorf("signed tiki stock: %d %v %s", status, h, b)
		}
		record("tiki", status, h)
		if status, h, b := post(body, sig); status != 200 || h.Get("X-Webhook-Outcome") != "duplicate" {
			t.Errorf("redelivery: %d %s %s, want 200 duplicate", status, h.Get("X-Webhook-Outcome"), b)
		}
		if status, _, b := post(strings.Replace(body, `"qty_salable":7`, `"qty_salable":9`, 1), sig); status != 401 {
			t.Errorf("body changed after signing: %d %s, want 401", status, b)
		}
		if status, _, b := post(body, "sha1="+hmacSHA1(tiki["order"], body)); status != 401 {
			t.Errorf("signed with another kind's secret: %d %s, want 401", status, b)
		}
	}

	// The gateway answers what API Gateway would for what no route serves.
	for _, c := range []struct{ method, path string }{{"GET", "/webhooks/oslpay"}, {"POST", "/webhooks/unknown"}, {"POST", "/webhooks/tiki"}} {
		req, _ := http.NewRequest(c.method, gw.URL+c.path, strings.NewReader("{}"))
		status, _, body, err := Send(client, req)
		if err != nil || status != 404 || body != `{"message":"Not Found"}` {
			t.Errorf("%s %s: %d %s (err %v), want 404 Not Found", c.method, c.path, status, body, err)
		}
	}

	// Exactly one CloudEvent per accepted delivery, nothing for anything
	// refused; and no card number in any of them.
	read := 0
	byName := map[string]devkit.Kit{}
	for _, k := range kits.All {
		byName[k.Name] = k
	}
	for _, name := range stack.Running() {
		p := stack.Providers[name]
		msgs, err := stack.ReadQueue(context.Background(), p.QueueURL, true)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		read += len(msgs)
		for _, m := range msgs {
			for _, l := range awskit.MessageLeaks(byName[name], m, planted) {
				t.Errorf("%s: %v", name, l)
			}
			got = append(got, m.Event.Type)
			if m.Event.SpecVersion != "1.0" || m.Event.Source != "webhooks/"+name || m.Event.ID == "" {
				t.Errorf("%s: message is not the contract's CloudEvent: %s", name, m.Body)
			}
			if m.Attributes["provider"] != name || m.Attributes["type"] != m.Event.Type {
				t.Errorf("%s: message attributes %v", name, m.Attributes)
			}
			if m.DeduplicationID != m.Event.ID {
				t.Errorf("%s: deduplication id %q, event id %q", name, m.DeduplicationID, m.Event.ID)
			}
		}
		want := append([]string(nil), accepted[name]...)
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s queue holds %d messages %v, want one per accepted delivery: %v", name, len(got), got, want)
		}
		dlq, err := stack.ReadQueue(context.Background(), p.DLQURL, true)
		if err != nil || len(dlq) != 0 {
			t.Errorf("%s dead-letter queue: %d messages, err %v", name, len(dlq), err)
		}
	}

	// No card number in the table (every item, every attribute) or in any
	// line the functions and their emulators wrote.
	items, err := (&awskit.Env{DynamoDB: stack.DynamoDB}).Items(context.Background(), stack.Table)
	if err != nil || len(items) == 0 {
		t.Errorf("table: %d items, err %v", len(items), err)
	}
	for _, it := range items {
		provider, _, _ := strings.Cut(awskit.Str(it, "pk"), "#") // every key begins with its provider
		for _, l := range awskit.ItemLeaks(byName[provider], it, planted) {
			t.Error(l)
		}
	}
	lines := 0
	for name, out := range logs.snapshot() {
		lines += strings.Count(out, "\n")
		for _, l := range awskit.LogLeaks(out, planted) {
			t.Errorf("%s output: %v", name, l)
		}
	}
	if lines == 0 {
		t.Error("no function output to read")
	}
	t.Logf("card numbers looked for in %d items, %d messages and %d output lines", len(items), read, lines)
	t.Logf("end-to-end total %s", time.Since(began).Round(time.Millisecond))
}

type forgery struct {
	name   string
	sample Sample
}

// forgeries are copies of an accepted sample that an attacker could make
// without the secret: the body changed after signing (providers that sign the
// body or whose signature is single-use), the URL token guessed, the
// signature or shared-secret header altered.
func forgeries(s Sample, secrets map[string]json.RawMessage) []forgery {
	var out []forgery
	clone := func() Sample {
		c := s
		c.Event.Headers = map[string]string{}
		for k, v := range s.Event.Headers {
			c.Event.Headers[k] = v
		}
		return c
	}
	body, err := s.Body()
	if err == nil && json.Valid(body) && (s.Provider == "tiki" || s.Provider == "oslpay") {
		c := clone()
		var v any
		_ = json.Unmarshal(body, &v)
		changed, _ := json.Marshal(map[string]any{"forged": true, "original": v})
		if obj, ok := v.(map[string]any); ok {
			obj["forged"] = true
			changed, _ = json.Marshal(obj)
		}
		c.Event.Body, c.Event.IsBase64Encoded = string(changed), false
		out = append(out, forgery{"body-changed-after-signing", c})
	}
	var tok struct {
		URLToken string `json:"urlToken"`
	}
	_ = json.Unmarshal(secrets[s.Provider], &tok)
	if tok.URLToken != "" && strings.Contains(s.Event.RawPath, tok.URLToken) {
		c := clone()
		guess := strings.Repeat("x", len(tok.URLToken))
		c.Event.RawPath = strings.Replace(s.Event.RawPath, tok.URLToken, guess, 1)
		out = append(out, forgery{"wrong-url-token", c})
	}
	for k, v := range s.Event.Headers {
		lk := strings.ToLower(k)
		if lk == "secret-key" { // APIGift's optional shared-secret header
			c := clone()
			c.Event.Headers[k] = flipLastHex(v)
			out = append(out, forgery{"secret-key-header-wrong", c})
			continue
		}
		if lk != "signature" && lk != "x-signature" {
			continue
		}
		c := clone()
		if raw, err := base64.StdEncoding.DecodeString(v); err == nil && len(raw) > 0 {
			raw[0] ^= 0xff
			c.Event.Headers[k] = base64.StdEncoding.EncodeToString(raw)
		} else {
			c.Event.Headers[k] = flipLastHex(v)
		}
		out = append(out, forgery{"signature-altered", c})
	}
	return out
}

func flipLastHex(v string) string {
	if v == "" {
		return "0"
	}
	last := v[len(v)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	return v[:len(v)-1] + string(repl)
}

func hmacSHA1(key, body string) string {
	m := hmac.New(sha1.New, []byte(key))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

// functionLogs keeps each function's output for the failure report.
type functionLogs struct {
	mu   sync.Mutex
	bufs map[string]*bytes.Buffer
}

func (l *functionLogs) writer(name string) io.Writer {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.bufs[name] == nil {
		l.bufs[name] = &bytes.Buffer{}
	}
	return lockedWriter{l, l.bufs[name]}
}

func (l *functionLogs) snapshot() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]string{}
	for k, b := range l.bufs {
		out[k] = b.String()
	}
	return out
}

type lockedWriter struct {
	l *functionLogs
	b *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.l.mu.Lock()
	defer w.l.mu.Unlock()
	return w.b.Write(p)
}
