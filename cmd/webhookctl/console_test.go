package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"webhooks/cmd/webhookctl/console"
	"webhooks/internal/awskit/awstest"
	"webhooks/internal/devkit"
)

// consoleServer is the console over the fixture's make run, as `webhookctl
// console` builds it, on an httptest server (a loopback address).
func consoleServer(t *testing.T, f *fixture) (*httptest.Server, *console.Server) {
	t.Helper()
	tf := &targetFlags{state: f.state}
	tgt, err := tf.resolve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := newConsole(tgt, f.state, t.TempDir(), "", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs, srv
}

func getJSON(t *testing.T, u string, into any) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if into != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatalf("GET %s: %v\n%s", u, err, b)
		}
	}
	return resp.StatusCode
}

func postJSON(t *testing.T, u, body string, h map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The console's API over the make run target: search by provider and
// subject, an event's detail, counts, the actions, and the anti-forgery
// checks.
func TestConsoleAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("needs moto_server")
	}
	f := newFixture(t)
	var ids []string
	for i := range 3 {
		id, outcome, status := f.deliver(t, "tiki", signedEvent(t, "-provider", "tiki", "-kind", "order", "-data", tikiOrder(fmt.Sprint(347171821+i), "REF-IN-DATA-ONLY")))
		if status != 200 || outcome != "accepted" {
			t.Fatalf("tiki order %d: %d %s", i, status, outcome)
		}
		ids = append(ids, id)
	}
	var quarantined []string
	for _, s := range awstest.Samples(t, eventsDir, "apigift", 10) {
		if devkit.MustReject(s.Name) {
			continue
		}
		if id, outcome, _ := f.deliver(t, "apigift", s.Event); outcome == "quarantined" {
			quarantined = append(quarantined, id)
		}
	}
	if len(quarantined) == 0 {
		t.Fatal("no quarantined apigift sample")
	}
	hs, srv := consoleServer(t, f)

	t.Run("search by provider and subject", func(t *testing.T) {
		var r console.SearchReply
		if code := getJSON(t, hs.URL+"/api/events?provider=tiki&subject=347171822", &r); code != 200 {
			t.Fatalf("status %d", code)
		}
		if len(r.Events) != 1 || r.Events[0].ID != ids[1] || r.Events[0].Status != "queued" || r.Events[0].QueuedAt == nil || r.Events[0].Subject != "347171822" {
			t.Fatalf("search: %+v", r)
		}
		if r.Cost.ItemsRead < 4 { // the table holds every delivered event
			t.Errorf("cost %+v: a scan reads the whole table", r.Cost)
		}
		t.Logf("search cost: %+v (matched %d)", r.Cost, r.Matched)
	})

	t.Run("a search in the page's address is in its markup", func(t *testing.T) {
		resp, err := http.Get(hs.URL + "/?provider=tiki&subject=347171822")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if page := string(b); resp.StatusCode != 200 || !strings.Contains(page, ids[1]) || !strings.Contains(page, `status-queued">queued<`) || strings.Contains(page, ids[0]) {
			t.Errorf("page %d lacks the event and its status:\n%s", resp.StatusCode, page)
		}
	})

	t.Run("newest first, bounded", func(t *testing.T) {
		var r console.SearchReply
		getJSON(t, hs.URL+"/api/events?provider=tiki&limit=2", &r)
		if len(r.Events) != 2 || !r.Truncated || r.Matched != 3 || r.Events[0].ID != ids[2] || r.Events[1].ID != ids[1] {
			t.Fatalf("got %+v", r)
		}
		var q console.SearchReply
		getJSON(t, hs.URL+"/api/events?status=quarantined", &q)
		if len(q.Events) != len(quarantined) {
			t.Fatalf("status=quarantined over every provider: %+v", q)
		}
		if code := getJSON(t, hs.URL+"/api/events?provider=nope", nil); code != 400 {
			t.Errorf("unknown provider: %d", code)
		}
		if code := getJSON(t, hs.URL+"/api/events?from=yesterday", nil); code != 400 {
			t.Errorf("bad time: %d", code)
		}
	})

	t.Run("detail", func(t *testing.T) {
		var d console.Detail
		if code := getJSON(t, hs.URL+"/api/events/tiki/"+url.PathEscape(ids[0]), &d); code != 200 {
			t.Fatalf("status %d", code)
		}
		if d.Status != "queued" || d.MessageID == "" || d.SecretVersion == "" || d.ExpiresAt == nil || !strings.Contains(string(d.Data), "REF-IN-DATA-ONLY") {
			t.Fatalf("detail %+v", d)
		}
		var whats []string
		for _, s := range d.Timeline {
			whats = append(whats, s.What)
		}
		if got := strings.Join(whats, ","); got != "received,stored,queued" {
			t.Errorf("timeline %s", got)
		}
		var q console.Detail
		getJSON(t, hs.URL+"/api/events/apigift/"+url.PathEscape(quarantined[0]), &q)
		if q.Status != "quarantined" || q.Reason == "" || q.ExpiresAt != nil || strings.Contains(string(q.Data), "virtualCollections\"") {
			t.Fatalf("quarantined detail %+v", q)
		}
		if code := getJSON(t, hs.URL+"/api/events/tiki/no-such-event", nil); code != 404 {
			t.Errorf("unknown event: %d", code)
		}
	})

	t.Run("overview", func(t *testing.T) {
		var o struct{ Providers []console.Counts }
		getJSON(t, hs.URL+"/api/overview", &o)
		for _, c := range o.Providers {
			if c.Error != "" {
				t.Errorf("%s: %s", c.Provider, c.Error)
			}
			if c.Provider == "apigift" && c.Quarantined != len(quarantined) {
				t.Errorf("apigift quarantined %d, want %d", c.Quarantined, len(quarantined))
			}
		}
	})

	tok := map[string]string{console.TokenHeader: srv.Token()}
	t.Run("refused without the token or from another origin", func(t *testing.T) {
		body := `{"provider":"apigift","eventId":"` + quarantined[0] + `"}`
		for name, h := range map[string]map[string]string{
			"no token":       nil,
			"wrong token":    {console.TokenHeader: "x" + srv.Token()},
			"another origin": {console.TokenHeader: srv.Token(), "Origin": "http://evil.example"},
			"cross-site":     {console.TokenHeader: srv.Token(), "Sec-Fetch-Site": "cross-site"},
		} {
			code, b := postJSON(t, hs.URL+"/api/reprocess", body, h)
			if code != 403 || !strings.Contains(b, `"code":"forbidden_`) {
				t.Errorf("%s: %d %s", name, code, b)
			}
		}
		n := len(f.invocations())
		if n != 0 {
			t.Errorf("a refused request invoked a function: %v", f.invocations())
		}
	})

	t.Run("actions", func(t *testing.T) {
		same := map[string]string{console.TokenHeader: srv.Token(), "Origin": hs.URL, "Sec-Fetch-Site": "same-origin"}
		code, b := postJSON(t, hs.URL+"/api/reprocess", `{"provider":"apigift","eventId":"`+quarantined[0]+`"}`, same)
		if code != 200 || !strings.Contains(b, `"status":"quarantined"`) {
			t.Errorf("reprocess: %d %s", code, b)
		}
		code, b = postJSON(t, hs.URL+"/api/reprocess", `{"provider":"tiki","eventId":"`+ids[0]+`"}`, tok)
		if code != 422 || !strings.Contains(b, `"errorType":"AlreadyQueued"`) {
			t.Errorf("reprocess of a queued event: %d %s", code, b)
		}
		from := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		to := time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
		code, b = postJSON(t, hs.URL+"/api/replay", `{"provider":"tiki","from":"`+from+`","to":"`+to+`","dryRun":true}`, tok)
		if code != 200 || !strings.Contains(b, `"matched":3`) {
			t.Errorf("replay dry run: %d %s", code, b)
		}
		code, b = postJSON(t, hs.URL+"/api/replay", `{"provider":"tiki","from":"`+from+`","to":"`+to+`","subjects":["347171821"]}`, tok)
		if code != 200 || !strings.Contains(b, `"sent":1`) {
			t.Errorf("replay: %d %s", code, b)
		}
		var d console.Detail
		getJSON(t, hs.URL+"/api/events/tiki/"+url.PathEscape(ids[0]), &d)
		if last := d.Timeline[len(d.Timeline)-1]; last.What != "replayed" {
			t.Errorf("timeline after a replay: %+v", d.Timeline)
		}
		code, b = postJSON(t, hs.URL+"/api/redrive", `{"provider":"tiki","olderThan":"0s"}`, tok)
		if code != 200 || !strings.Contains(b, `"found":0`) {
			t.Errorf("redrive: %d %s", code, b)
		}
		code, b = postJSON(t, hs.URL+"/api/dlq/redrive", `{"provider":"tiki","dryRun":true}`, tok)
		if code != 200 || !strings.Contains(b, `"count":0`) {
			t.Errorf("dlq dry run: %d %s", code, b)
		}
		code, b = postJSON(t, hs.URL+"/api/dlq/redrive", `{"provider":"tiki"}`, tok)
		if code != 200 || !strings.Contains(b, `"moved":0`) {
			t.Errorf("dlq redrive: %d %s", code, b)
		}
	})
}

// The console listens on a loopback address only: any other -addr is a usage
// error, before any target is read.
func TestConsoleRefusesOtherAddresses(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:8080", ":8080", "192.168.1.5:8080", "[::]:8080", "example.com:80"} {
		_, errOut, code := ctl("console", "-addr", addr, "-state", "/nonexistent/local.json")
		if code != 2 || !strings.Contains(errOut, "loopback") {
			t.Errorf("-addr %s: exit %d, %s", addr, code, errOut)
		}
	}
	_, errOut, code := ctl("console", "-addr", "127.0.0.1:0", "-state", "/nonexistent/local.json")
	if code != 1 || !strings.Contains(errOut, "no running make run") {
		t.Errorf("no make run: exit %d, %s", code, errOut)
	}
}
