package main

// The events console in a real browser: headless Chromium (Debian's
// chromium, driven by chromedp) against the local run as `make run` starts
// it — moto_server, the real bootstraps under the Lambda Runtime Interface
// Emulator, the gateway serving the webhooks and the Lambda Invoke API —
// with the console over its state file.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"webhooks/cmd/webhookctl/console"
	"webhooks/internal/awskit"
	"webhooks/internal/awskit/awstest"
	"webhooks/internal/localrun"
)

// chromiumInstall says how to get the browser the console's tests drive.
const chromiumInstall = "install Debian's chromium (apt-get install -y chromium), or set CHROMIUM to a Chromium binary"

// chromiumOrSkip finds Chromium: $CHROMIUM, else chromium on the PATH. On CI
// (CI=true) a missing browser fails the test; elsewhere it skips and says how
// to install it.
func chromiumOrSkip(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("headless Chromium not found: " + chromiumInstall)
	}
	t.Skip("headless Chromium not found: " + chromiumInstall)
	return ""
}

// fileLogs writes each function's output to <dir>/<name>.log, as make run does.
type fileLogs struct {
	dir   string
	mu    sync.Mutex
	files map[string]*os.File
}

func (l *fileLogs) writer(name string) io.Writer {
	l.mu.Lock()
	defer l.mu.Unlock()
	if f := l.files[name]; f != nil {
		return f
	}
	f, err := os.Create(filepath.Join(l.dir, name+".log"))
	if err != nil {
		return io.Discard
	}
	l.files[name] = f
	return f
}

func (l *fileLogs) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.files {
		f.Close()
	}
}

func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto_server, the functions and headless Chromium")
	}
	browser := chromiumOrSkip(t)
	endpoint := awstest.Endpoint(t)
	emulator, skip, err := localrun.EmulatorForTests()
	if err != nil {
		t.Fatal(err)
	}
	if skip != "" {
		t.Skip(skip)
	}
	bin := t.TempDir()
	if _, err := localrun.BuildFunctions("../..", bin, "tiki", "apigift"); err != nil {
		t.Fatal(err)
	}
	runDir := t.TempDir()
	logs := &fileLogs{dir: filepath.Join(runDir, "logs"), files: map[string]*os.File{}}
	if err := os.MkdirAll(logs.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	defer logs.close()
	stack, err := localrun.Start(context.Background(), localrun.Config{
		SecretsFile:    filepath.Join(eventsDir, "dev-secrets.json"),
		BinDir:         bin,
		Prefix:         awskit.Unique("console"),
		AWS:            localrun.AWSEnv{Endpoint: endpoint},
		Emulator:       emulator,
		FunctionOutput: logs.writer,
		Timeout:        30 * time.Second,
	})
	if err != nil {
		t.Fatalf("localrun.Start: %v", err)
	}
	defer func() {
		pids := stack.Pids()
		stack.Stop()
		for _, pid := range pids {
			if syscall.Kill(pid, 0) == nil {
				t.Errorf("process %d still running after Stop", pid)
			}
		}
	}()
	gw := httptest.NewServer(stack.Gateway)
	defer gw.Close()
	state := filepath.Join(runDir, "local.json")
	if err := localrun.WriteState(state, stack.State(gw.URL)); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvStack, "")

	// Webhooks through the gateway, as a provider sends them.
	const subject = "347171821"
	for i, code := range []string{subject, "347171822"} {
		mustCtl(t, "send", "-state", state, "-secrets", eventsDir+"/dev-secrets.json", "-provider", "tiki", "-kind", "order", "-data", tikiOrder(code, fmt.Sprint("REF-", i)))
	}
	mustCtl(t, "send", "-state", state, "-sample", eventsDir+"/apigift/quarantined-inventory-item-delivered-wrong-key.json")

	tgt, err := (&targetFlags{state: state}).resolve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := newConsole(tgt, state, "", "", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()

	var quarantined console.SearchReply
	getJSON(t, hs.URL+"/api/events?provider=apigift&status=quarantined", &quarantined)
	if len(quarantined.Events) != 1 {
		t.Fatalf("quarantined apigift events: %+v", quarantined)
	}
	qid := quarantined.Events[0].ID

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()
	// The first run starts the browser, and must not carry a timeout (it would
	// stop the browser); the steps after it do: generous bounds on a hang, not
	// timings, for a loaded 2-core machine.
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start %s: %v", browser, err)
	}
	ctx, cancel := context.WithTimeout(bctx, 4*time.Minute)
	defer cancel()

	type step = chromedp.Action[chromedp.Void]
	do := func(t *testing.T, steps ...step) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	text := func(t *testing.T, id string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
		if err != nil {
			t.Fatalf("text of #%s: %v", id, err)
		}
		return v
	}
	eval := func(t *testing.T, expr string, into any) {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if err := json.Unmarshal(v, into); err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
	}
	shots := os.Getenv("CONSOLE_SCREENSHOTS") // a directory: keep each step's screenshot there
	shot := func(name string) step {
		return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			if shots == "" {
				return chromedp.Void{}, nil
			}
			buf, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return chromedp.Void{}, err
			}
			return chromedp.Void{}, os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o644)
		}
	}
	waitText := func(id, want string) step {
		expr := fmt.Sprintf(`(document.getElementById(%q) || {textContent: ""}).textContent.includes(%q)`, id, want)
		return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.Poll[bool](expr, chromedp.WithPollingInterval(100*time.Millisecond))(ctx, tg)
			return chromedp.Void{}, err
		}
	}

	t.Run("search finds the event by keyboard", func(t *testing.T) {
		do(t,
			chromedp.Navigate(hs.URL+"/"),
			chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)),
			chromedp.SetValue(chromedp.ID("search-provider"), "tiki"),
			chromedp.Focus(chromedp.ID("search-subject")),
			chromedp.SendKeys(chromedp.ID("search-subject"), subject+kb.Enter),
			chromedp.WaitVisible(chromedp.CSS("a.event-link")),
			waitText("search-cost", "Read "),
			shot("1-search"),
		)
		var labelled bool
		eval(t, `[...document.querySelectorAll("input, select")].every(e => e.labels && e.labels.length > 0 && e.labels[0].textContent.trim() !== "")`, &labelled)
		if !labelled {
			t.Error("an input or select has no label")
		}
		results := text(t, "results")
		if !strings.Contains(results, subject) || !strings.Contains(results, "queued") || strings.Contains(results, "347171822") {
			t.Errorf("results:\n%s", results)
		}
		t.Logf("search: %s", text(t, "search-cost"))
	})

	t.Run("the event's page shows queued", func(t *testing.T) {
		do(t,
			chromedp.Click(chromedp.CSS("a.event-link")),
			chromedp.WaitVisible(chromedp.ID("event-status")),
			shot("2-event"),
		)
		status, timeline, data := text(t, "event-status"), text(t, "event-timeline"), text(t, "event-data")
		if status != "queued" || !strings.Contains(timeline, "queued") || !strings.Contains(timeline, "received") || !strings.Contains(data, subject) {
			t.Errorf("status %q, timeline %q, data %q", status, timeline, data)
		}
	})

	t.Run("a quarantined event is reprocessed from the page", func(t *testing.T) {
		do(t,
			chromedp.Navigate(hs.URL+"/#/event/apigift/"+url.PathEscape(qid)),
			chromedp.WaitVisible(chromedp.ID("reprocess")),
		)
		status := text(t, "event-status")
		do(t,
			chromedp.Click(chromedp.ID("reprocess")),
			waitText("event-reply", `"eventId"`),
			shot("3-reprocess"),
		)
		reply := text(t, "event-reply")
		// Still the wrong key: reprocessed, and quarantined again with the reason.
		if status != "quarantined" || !strings.Contains(reply, qid) || !strings.Contains(reply, `"status": "quarantined"`) {
			t.Errorf("status %q, reply:\n%s", status, reply)
		}
	})

	t.Run("a replay dry run shows its count", func(t *testing.T) {
		from := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		to := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		do(t,
			chromedp.Navigate(hs.URL+"/#/actions"),
			chromedp.WaitVisible(chromedp.ID("replay-form")),
			chromedp.SetValue(chromedp.ID("replay-provider"), "tiki"),
			chromedp.SetValue(chromedp.ID("replay-from"), from),
			chromedp.SetValue(chromedp.ID("replay-to"), to),
			chromedp.Click(chromedp.ID("replay-preview")),
			waitText("replay-reply", "Dry run:"),
			shot("4-replay-preview"),
		)
		if reply := text(t, "replay-reply"); !strings.Contains(reply, "Dry run: 2 event(s) would be sent again") {
			t.Errorf("replay preview:\n%s", reply)
		}
	})

	t.Run("overview: counts and the chart, nothing fetched from elsewhere", func(t *testing.T) {
		do(t,
			chromedp.Navigate(hs.URL+"/#/overview"),
			chromedp.WaitVisible(chromedp.ID("counts")),
			chromedp.WaitVisible(chromedp.CSS("#charts svg")),
			shot("5-overview"),
		)
		var foreign []string
		eval(t, `performance.getEntriesByType("resource").map(e => e.name).filter(n => !n.startsWith(location.origin))`, &foreign)
		if counts := text(t, "counts"); !strings.Contains(counts, "apigift") || len(foreign) > 0 {
			t.Errorf("counts %q, requests elsewhere %v", counts, foreign)
		}
		var rates console.Rates
		getJSON(t, hs.URL+"/api/metrics?hours=1", &rates)
		for _, p := range rates.Providers {
			if p.Provider == "tiki" && p.Total["accepted"] != 2 {
				t.Errorf("tiki accepted per the function logs: %+v", p.Total)
			}
		}
	})
	if t.Failed() {
		b, _ := os.ReadFile(filepath.Join(logs.dir, "apigift.log"))
		t.Logf("apigift log:\n%s", bytes.TrimSpace(b))
	}
}
