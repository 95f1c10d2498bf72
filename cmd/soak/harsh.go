package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"webhooks/internal/loadtest"
)

type harshConfig struct {
	perProvider int
	outages     int
	outage      time.Duration
	attempts    int
	log         string
}

// runHarsh runs the harsh soak and writes its section of the report. A run
// that fails the oracle or whose redrive did not run writes nothing: it
// prints what it found and fails.
func runHarsh(ctx context.Context, endpoint, emulator, report, bin string, hc harshConfig) error {
	cfg := loadtest.SoakConfig{
		Endpoint: endpoint, EventsDir: "events", PerProvider: hc.perProvider, Redeliver: 0.1,
		Rules: loadtest.HarshRules(), Kills: loadtest.HarshKills(), Outages: loadtest.HarshOutages(hc.outages, hc.outage),
		MaxAttempts: hc.attempts, RetryDelay: 50 * time.Millisecond, Backoff: 4, Redrive: true,
		Seed: 1200, BinDir: bin, Emulator: emulator, Concurrency: 16,
	}
	if hc.log != "" {
		f, err := os.Create(hc.log)
		if err != nil {
			return err
		}
		defer f.Close()
		cfg.Output = f
	}
	fmt.Fprintf(os.Stderr, "soak: harsh, %d webhooks per provider\n", hc.perProvider)
	res, err := loadtest.Soak(ctx, cfg)
	if err != nil {
		return fmt.Errorf("harsh: %w", err)
	}
	section := harshSection(cfg, res)
	checkErr := errors.Join(res.Check(), res.Bit())
	if report == "" || checkErr != nil {
		fmt.Println(section)
	}
	if checkErr != nil {
		return fmt.Errorf("harsh soak (nothing written to %s): %w", report, checkErr)
	}
	if report == "" {
		return nil
	}
	return splice(report, harshBegin, harshEnd, section)
}

func harshSection(cfg loadtest.SoakConfig, res *loadtest.SoakResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\nRun: `make soak` on %s, %d CPUs, %s, %s; %s.\n\n", harshBegin, time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.Version(), cpuModel(), res.Duration.Round(time.Second))
	fmt.Fprintf(&b, "%d distinct webhooks per provider (plus 10%% redeliveries of acknowledged ones), 16 concurrent senders, 4 sandboxes per function. "+
		"Each provider makes at most %d attempts per delivery, %s then %s apart, then gives up. "+
		"Background faults: 3%% errors, 3%% throttling, 3%% lost responses on every AWS call. "+
		"%d outage windows, each of at most %s and closed sooner once half the load between two windows has been handed out (so that they never overlap). Runtimes killed with SIGKILL at 2%% of their DynamoDB and SQS calls before the call reaches AWS and 2%% after AWS applied it. "+
		"Then, faults off, each function is invoked with `%s`, and the oracle judges the table and every message drained from the queues.\n\n",
		cfg.PerProvider, cfg.MaxAttempts, cfg.RetryDelay, time.Duration(float64(cfg.RetryDelay)*cfg.Backoff), len(res.Windows), outageLength(cfg), loadtest.RedriveCommand)
	b.WriteString("| provider | webhooks | deliveries | attempts | non-2xx seen by senders | runtimes killed | gave up | stored | stranded after the load | redrive found | redrive sent | of which first delivered by the redrive | of which on the queue already | queued | quarantined | duplicates within 5 min | duplicates outside | lost |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	row := func(p loadtest.ProviderResult, o loadtest.OracleReport) {
		within, outside := o.DuplicateMessages()
		name := p.Provider
		if name == "all" {
			name = "**all**"
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d |\n",
			name, p.Webhooks, p.Deliveries, p.Attempts, p.NonOK, p.Kills, p.Unacked, o.Stored, p.Stranded,
			p.Redrive.Found, p.Redrive.Sent, o.RedriveFirst, len(o.RedriveAgain), o.Queued, o.Quarantined, within, outside, len(o.Lost))
	}
	for _, p := range res.Providers {
		row(p, p.Oracle)
	}
	row(res.Total(), res.Oracle)

	b.WriteString("\n| outage window | kind | open for | calls failed |\n|---|---|---|---|\n")
	for _, w := range res.Windows {
		fmt.Fprintf(&b, "| %s | %s | %s | %d |\n", w.Service, kindName(w.Kind), w.Closed.Sub(w.Opened).Round(100*time.Millisecond), w.Failed)
	}
	b.WriteString("\n| runtime killed | at | count |\n|---|---|---|\n")
	for _, k := range loadtest.Keys(res.Kills) {
		i := strings.LastIndexByte(k, '/')
		fmt.Fprintf(&b, "| %s | %s | %d |\n", k[:i], killPoint(k[i+1:]), res.Kills[k])
	}
	if res.KillsMissed > 0 {
		fmt.Fprintf(&b, "\n%d chosen kills found no runtime at the other end of the connection and let the call go on.\n", res.KillsMissed)
	}
	if len(res.Oracle.DuplicatesOutside) > 0 {
		b.WriteString("\nDuplicates outside the window:\n\n")
		for _, d := range res.Oracle.DuplicatesOutside {
			fmt.Fprintf(&b, "- `%s/%s`: %d deliveries, %s apart: %s\n", d.Provider, d.EventID, d.Deliveries, d.Gap.Round(time.Second), d.Cause)
		}
	}
	b.WriteString("\n" + harshEnd)
	return b.String()
}

func outageLength(cfg loadtest.SoakConfig) time.Duration {
	if len(cfg.Outages) == 0 {
		return 0
	}
	return cfg.Outages[0].For
}

func kindName(k loadtest.Kind) string {
	switch k {
	case loadtest.Reset:
		return "connection reset"
	case loadtest.Unavailable:
		return "503 ServiceUnavailable"
	case loadtest.Error:
		return "500 InternalServerError"
	}
	return string(k)
}

func killPoint(p string) string {
	if p == "after" {
		return "after AWS applied the call, before the runtime saw the answer"
	}
	return "before the call reached AWS"
}
