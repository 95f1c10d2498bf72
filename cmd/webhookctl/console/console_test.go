package console

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"webhooks/shared/eventstore"
	"webhooks/shared/pipeline"
)

func TestCheckAddr(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "127.0.0.1:8080", "127.0.0.1:0": "127.0.0.1:0", "[::1]:8080": "[::1]:8080",
		"localhost:9000": "127.0.0.1:9000", "127.1.2.3:80": "127.1.2.3:80",
		"0.0.0.0:8080": "", ":8080": "", "[::]:8080": "", "10.0.0.1:8080": "", "example.com:80": "", "127.0.0.1": "",
	} {
		got, err := CheckAddr(addr)
		if want == "" {
			if !errors.Is(err, ErrNotLoopback) {
				t.Errorf("%q: %q %v, want refused", addr, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", addr, got, err, want)
		}
	}
}

// fakeBackend records the commands it was asked to run.
type fakeBackend struct{ invoked []string }

func (b *fakeBackend) Invoke(_ context.Context, provider string, cmd pipeline.Command, reply any) error {
	b.invoked = append(b.invoked, provider)
	if r, ok := reply.(*pipeline.ReprocessResult); ok {
		*r = pipeline.ReprocessResult{EventID: cmd.Reprocess.EventID, Status: "queued"}
	}
	return nil
}

func (b *fakeBackend) RedriveDLQ(context.Context, string, int, bool) (any, error) { return nil, nil }
func (b *fakeBackend) DeadLettered(context.Context, string) (int, error)          { return 0, nil }
func (b *fakeBackend) Rates(_ context.Context, p []string, from, to time.Time) (*Rates, error) {
	return NewRates("test", p, from, to), nil
}

// noTable is a DynamoDB client that is never called.
type noTable struct{ eventstore.API }

func newTestServer(t *testing.T) (*httptest.Server, *Server, *fakeBackend) {
	t.Helper()
	b := &fakeBackend{}
	s, err := New(Config{Target: "test", Providers: []string{"tiki", "apigift"}, DynamoDB: noTable{}, Table: "t", Backend: b})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return hs, s, b
}

func do(t *testing.T, method, url, body string, h map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestPageCarriesTheTokenAndNothingExternal(t *testing.T) {
	hs, s, _ := newTestServer(t)
	resp, page := do(t, "GET", hs.URL+"/", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `content="`+s.Token()+`"`) || len(s.Token()) != 64 {
		t.Fatalf("page %d lacks the token", resp.StatusCode)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	for _, f := range []string{"/", "/static/app.js", "/static/app.css"} {
		_, body := do(t, "GET", hs.URL+f, "", nil)
		for _, bad := range []string{"http://", "https://", "//fonts", "innerHTML"} {
			if strings.Contains(strings.ReplaceAll(body, "http://www.w3.org/2000/svg", ""), bad) {
				t.Errorf("%s holds %q: the page must work offline and write data only as text", f, bad)
			}
		}
	}
}

func TestActionsNeedTheTokenAndTheOrigin(t *testing.T) {
	hs, s, b := newTestServer(t)
	body := `{"provider":"tiki","eventId":"e1"}`
	json := map[string]string{"Content-Type": "application/json"}
	with := func(extra map[string]string) map[string]string {
		h := map[string]string{"Content-Type": "application/json", TokenHeader: s.Token()}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	for name, c := range map[string]struct {
		h    map[string]string
		code string
	}{
		"no token":          {json, "forbidden_token"},
		"wrong token":       {with(map[string]string{TokenHeader: strings.Repeat("0", 64)}), "forbidden_token"},
		"another origin":    {with(map[string]string{"Origin": "http://evil.example"}), "forbidden_origin"},
		"null origin":       {with(map[string]string{"Origin": "null"}), "forbidden_origin"},
		"cross-site":        {with(map[string]string{"Sec-Fetch-Site": "cross-site"}), "forbidden_origin"},
		"same-site":         {with(map[string]string{"Sec-Fetch-Site": "same-site"}), "forbidden_origin"},
		"a form post":       {with(map[string]string{"Content-Type": "application/x-www-form-urlencoded"}), "forbidden_content_type"},
		"a rebound name":    {with(map[string]string{"Host": "attacker.example:80"}), "forbidden_host"},
		"a LAN host header": {with(map[string]string{"Host": "192.168.1.5:8080"}), "forbidden_host"},
	} {
		resp, got := do(t, "POST", hs.URL+"/api/reprocess", body, c.h)
		if resp.StatusCode != 403 || !strings.Contains(got, `"code":"`+c.code+`"`) || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s", name, resp.StatusCode, got)
		}
	}
	if len(b.invoked) != 0 {
		t.Fatalf("a refused request ran a command: %v", b.invoked)
	}
	resp, got := do(t, "POST", hs.URL+"/api/reprocess", body, with(map[string]string{"Origin": hs.URL, "Sec-Fetch-Site": "same-origin"}))
	if resp.StatusCode != 200 || !strings.Contains(got, `"status":"queued"`) || len(b.invoked) != 1 {
		t.Fatalf("from the page: %d %s", resp.StatusCode, got)
	}
	if resp, _ := do(t, "GET", hs.URL+"/api/config", "", map[string]string{"Host": "attacker.example"}); resp.StatusCode != 403 {
		t.Errorf("a read for a rebound name: %d", resp.StatusCode)
	}
	for name, bad := range map[string]string{
		"unknown provider": `{"provider":"nope","eventId":"e1"}`,
		"unknown field":    `{"provider":"tiki","eventId":"e1","x":1}`,
		"no event id":      `{"provider":"tiki"}`,
	} {
		if resp, got := do(t, "POST", hs.URL+"/api/reprocess", bad, with(nil)); resp.StatusCode != 400 {
			t.Errorf("%s: %d %s", name, resp.StatusCode, got)
		}
	}
	if resp, got := do(t, "POST", hs.URL+"/api/replay", `{"provider":"tiki","from":"x","to":"y"}`, with(nil)); resp.StatusCode != 400 {
		t.Errorf("replay with bad times: %d %s", resp.StatusCode, got)
	}
}

func TestStoredDataNeverShowsGoods(t *testing.T) {
	got := string(storedData([]byte(`{"a":1,"virtualCollections":[{"code":"X"}],"n":{"virtualCollections":"s","b":[{"virtualCollections":1}]}}`)))
	if strings.Contains(got, "virtualCollections") || !strings.Contains(got, `"a":1`) {
		t.Errorf("got %s", got)
	}
	if got := string(storedData(nil)); got != "null" {
		t.Errorf("no data: %s", got)
	}
}

func TestLogRates(t *testing.T) {
	dir := t.TempDir()
	from := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	ms := func(m int) int64 { return from.Add(time.Duration(m)*time.Minute + time.Second).UnixMilli() }
	line := func(m int, outcome string) string {
		return `{"_aws":{"Timestamp":` + strconv.FormatInt(ms(m), 10) + `,"CloudWatchMetrics":[]},"provider":"tiki","outcome":"` + outcome + `","Webhooks":1,"Latency":2}`
	}
	log := strings.Join([]string{
		"START RequestId: x", line(0, "accepted"), line(0, "accepted"), line(2, "duplicate"),
		`{"level":"INFO","message":"webhook","outcome":"accepted"}`, line(90, "accepted"), "not json {",
	}, "\n")
	if err := os.WriteFile(filepath.Join(dir, "tiki.log"), []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := LogRates(dir, []string{"tiki", "oslpay"}, from, from.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tiki := r.Providers[0]
	if len(tiki.Series["accepted"]) != 60 || tiki.Series["accepted"][0] != 2 || tiki.Series["duplicate"][2] != 1 || tiki.Total["accepted"] != 2 {
		t.Errorf("tiki %+v", tiki.Total)
	}
	if r.Providers[1].Total["accepted"] != 0 {
		t.Errorf("oslpay without a log: %+v", r.Providers[1].Total)
	}
}
