package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"webhooks/internal/loadtest"
)

const prose = "# Reliability\n\nProse before.\n\n" + begin + "\nold classic section\n" + end + "\n\nProse between.\n\n" + harshBegin + "\nold harsh section\n" + harshEnd + "\n\nProse after.\n"

func report(t *testing.T, content string) string {
	t.Helper()
	stdout, progress = io.Discard, io.Discard // a failing run prints its section
	p := filepath.Join(t.TempDir(), "RELIABILITY.md")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeSoak answers every run with a result that passes every check (a harsh
// run's faults bit as well), after break_ has had its way with it.
func fakeSoak(calls *int, break_ func(*loadtest.SoakResult)) soakFunc {
	return func(_ context.Context, cfg loadtest.SoakConfig) (*loadtest.SoakResult, error) {
		*calls++
		n := cfg.PerProvider
		res := &loadtest.SoakResult{Config: cfg, Duration: time.Second,
			Calls: map[string]int{"dynamodb/PutItem": 10 * n}, Faults: map[string]int{"dynamodb/PutItem/error": n}}
		for _, p := range []string{"tiki", "apigift", "alchemypay", "oslpay"} {
			pr := loadtest.ProviderResult{Provider: p, Webhooks: n, Deliveries: n, Attempts: n + 1, NonOK: 1, Acked: n, Events: n, Messages: n,
				Oracle: loadtest.OracleReport{Stored: n, Queued: n, Acked: n, Received: n, Messages: n, Webhooks: n, AckedWebhooks: n, Delivered: n}}
			if len(cfg.Kills) > 0 { // a harsh run whose faults bit
				pr.Kills, pr.Stranded, pr.Copied, pr.CopiesSent = 1, 1, 1, 3
			}
			res.Providers = append(res.Providers, pr)
		}
		res.Oracle = loadtest.OracleReport{Stored: 4 * n, Queued: 4 * n, Acked: 4 * n, Received: 4 * n, Messages: 4 * n, Webhooks: 4 * n, AckedWebhooks: 4 * n, Delivered: 4 * n}
		if len(cfg.Kills) > 0 {
			res.Kills = map[string]int{"dynamodb/PutItem/before": 4}
			res.LateWrites = map[string]int{"dynamodb/PutItem/applied": 1}
			for range cfg.Outages {
				res.Windows = append(res.Windows, loadtest.Window{Service: "sqs", Kind: loadtest.Reset, Failed: 3})
			}
			for range cfg.SingleUseRaces {
				res.Providers[3].Races = append(res.Providers[3].Races, loadtest.Race{Bodies: 3, Accepted: 1, Refused: 2})
			}
		}
		if break_ != nil {
			break_(res)
		}
		return res, nil
	}
}

func opts(path string) options {
	return options{report: path, perKind: 2, mixed: 3, harsh: 4, outages: 1, outage: time.Second, attempts: 3, races: 2, bin: "bin"}
}

// A run that fails any check leaves the report byte for byte as it was.
func TestAFailingRunLeavesTheReportUnchanged(t *testing.T) {
	for _, c := range []struct {
		name   string
		run    string
		break_ func(*loadtest.SoakResult)
	}{
		{"classic: the oracle finds a webhook lost", "classic", func(r *loadtest.SoakResult) {
			r.Oracle.Lost = []string{"tiki webhook -s3: answered 2xx 1 time(s), naming \"x\" (duplicate), but no stored event carries its marker"}
		}},
		{"classic: a message too many", "classic", func(r *loadtest.SoakResult) { r.Providers[1].Extra = 1 }},
		{"classic: a webhook never acknowledged", "classic", func(r *loadtest.SoakResult) { r.Providers[2].Unacked = 1 }},
		{"classic: the redrive failed", "classic", func(r *loadtest.SoakResult) { r.Providers[0].Redrive.Err = loadtest.ErrRedrive }},
		{"classic: a webhook acknowledged but not delivered", "classic", func(r *loadtest.SoakResult) { r.Oracle.Delivered-- }},
		{"harsh: a 2xx answer names another event", "harsh", func(r *loadtest.SoakResult) {
			r.Oracle.Misattributed = []string{"oslpay webhook -s1: answered 2xx (duplicate) naming event \"a\"; its event is b"}
		}},
		{"harsh: two bodies accepted with one credential", "harsh", func(r *loadtest.SoakResult) {
			r.Oracle.SingleUse = []string{"oslpay race 0: 2 bodies accepted or stored"}
		}},
		{"harsh: no write landed late", "harsh", func(r *loadtest.SoakResult) { r.LateWrites = nil }},
		{"harsh: no single-use race decided", "harsh", func(r *loadtest.SoakResult) { r.Providers[3].Races[0].Refused = 0; r.Providers[3].Races[1].Refused = 0 }},
	} {
		path := report(t, prose)
		calls := 0
		err := soakAll(context.Background(), opts(path), []string{c.run}, fakeSoak(&calls, c.break_))
		if err == nil || !strings.Contains(err.Error(), "nothing written to "+path) {
			t.Errorf("%s: %v", c.name, err)
		}
		if got, _ := os.ReadFile(path); string(got) != prose {
			t.Errorf("%s: the report changed:\n%s", c.name, got)
		}
		if calls == 0 {
			t.Errorf("%s: no soak ran", c.name)
		}
	}
	// A soak that cannot run at all writes nothing either.
	path := report(t, prose)
	err := soakAll(context.Background(), opts(path), []string{"classic", "harsh"}, func(context.Context, loadtest.SoakConfig) (*loadtest.SoakResult, error) {
		return nil, errors.New("moto went away")
	})
	if got, _ := os.ReadFile(path); err == nil || string(got) != prose {
		t.Errorf("a soak that failed to run: %v; report:\n%s", err, got)
	}
}

// A passing run rewrites its own section and nothing else, with the numbers
// of its configuration and result, and no claim it did not measure.
func TestAPassingRunWritesOnlyItsSection(t *testing.T) {
	path := report(t, prose)
	calls := 0
	if err := soakAll(context.Background(), opts(path), []string{"classic"}, fakeSoak(&calls, nil)); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	before, after, _ := strings.Cut(prose, "old classic section")
	i, j := bytes.Index(got, []byte(begin)), bytes.Index(got, []byte(end))
	section := string(got[i : j+len(end)])
	if !strings.HasPrefix(string(got), strings.TrimSuffix(before, begin+"\n")) || !strings.HasSuffix(string(got), strings.TrimPrefix(after, "\n"+end)) {
		t.Errorf("the report outside the classic section changed:\n%s", got)
	}
	for _, want := range []string{
		"Run: `go run ./cmd/soak -runs classic -per-kind 2 -mixed 3`",
		"16 concurrent senders, 4 sandboxes per function, a 60 s function timeout; a webhook bounds itself to 8 s",
		"up to 30 attempts, 5 ms apart",
		"| error (500), 20% | tiki | 2 |",
		"| mixed (5% error, 5% throttle, 5% lost response, 2% timeout, 3% latency +50 ms) | oslpay | 3 |",
		"**Total: 52 webhooks, 52 acknowledged; 52 of them each stored as exactly one event",
	} {
		if !strings.Contains(section, want) {
			t.Errorf("the classic section lacks %q:\n%s", want, section)
		}
	}
	if strings.Contains(section, "harsh") {
		t.Errorf("the classic section speaks of the harsh soak, which it did not run:\n%s", section)
	}

	if err := soakAll(context.Background(), opts(path), []string{"harsh"}, fakeSoak(&calls, nil)); err != nil {
		t.Fatal(err)
	}
	got2, _ := os.ReadFile(path)
	if !bytes.Contains(got2, []byte(section)) || !bytes.Contains(got2, []byte("Prose between.")) || bytes.Contains(got2, []byte("old harsh section")) {
		t.Errorf("the harsh run:\n%s", got2)
	}
	for _, want := range []string{
		"-races 2`", "2 times, 2 to 5 distinct OSL Pay bodies", "10% of the webhooks are sent as 2 to 20 identical concurrent copies",
		"at most 3 attempts per delivery, 50 ms then 200 ms apart", "3% lost response, 2% of writes landing late.", "2% of dynamodb calls after AWS applied it",
		"through `awskit.Serial`", "| all providers | 4 | 12 | 2 | 6 | 2 | 4 | 0 |",
	} {
		if !bytes.Contains(got2, []byte(want)) {
			t.Errorf("the harsh section lacks %q", want)
		}
	}
}

// A report without a run's markers is an error, found before any soak runs.
func TestAReportWithoutMarkersIsAnError(t *testing.T) {
	for _, content := range []string{
		"# Reliability\n\nno markers\n",
		strings.Replace(prose, harshEnd, "", 1),
		strings.Replace(prose, harshBegin, harshEnd, 1),
		prose + harshBegin + "\n",
	} {
		path := report(t, content)
		calls := 0
		err := soakAll(context.Background(), opts(path), []string{"classic", "harsh"}, fakeSoak(&calls, nil))
		if err == nil || !strings.Contains(err.Error(), "has not exactly one") || calls != 0 {
			t.Errorf("%q: %v after %d soaks", content, err, calls)
		}
		if got, _ := os.ReadFile(path); string(got) != content {
			t.Errorf("the report changed:\n%s", got)
		}
	}
	if err := soakAll(context.Background(), opts(filepath.Join(t.TempDir(), "missing.md")), []string{"classic"}, nil); err == nil {
		t.Error("a missing report: no error")
	}
}
