package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"webhooks/internal/loadtest"
)

// harshConfig is the harsh run's configuration.
func harshConfig(o options) loadtest.SoakConfig {
	cfg := loadtest.SoakConfig{
		Endpoint: o.endpoint, EventsDir: "events", PerProvider: o.harsh, Redeliver: 0.1,
		Rules: loadtest.HarshRules(), Kills: loadtest.HarshKills(), Outages: loadtest.HarshOutages(o.outages, o.outage),
		MaxAttempts: o.attempts, RetryDelay: 50 * time.Millisecond, Backoff: 4, Redrive: true,
		Seed: 1200, BinDir: o.bin, Emulator: o.emulator, Concurrency: 16, Instances: 4, FunctionTimeout: 60 * time.Second,
	}
	loadtest.HarshRaces(&cfg, o.races)
	return cfg
}

// runHarsh runs the harsh soak and writes its section of the report. A run
// that fails the oracle, whose redrive did not run, or whose faults did not
// bite writes nothing: it prints what it found and fails.
func runHarsh(ctx context.Context, o options, soak soakFunc) error {
	cfg := harshConfig(o)
	if o.log != "" {
		f, err := os.Create(o.log)
		if err != nil {
			return err
		}
		defer f.Close()
		cfg.Output = f
	}
	fmt.Fprintf(progress, "soak: harsh, %d webhooks per provider\n", cfg.PerProvider)
	res, err := soak(ctx, cfg)
	if err != nil {
		return fmt.Errorf("harsh (nothing written): %w", err)
	}
	section := harshSection(o, res)
	return write(o.report, harshBegin, harshEnd, section, harshCheck(res))
}

// harshCheck is nil when the harsh run passed: the oracle held, the redrive
// ran, and the faults bit.
func harshCheck(res *loadtest.SoakResult) error {
	if err := res.Check(); err != nil {
		return fmt.Errorf("harsh soak: %w", err)
	}
	if err := res.Bit(); err != nil {
		return fmt.Errorf("harsh soak: %w", err)
	}
	return nil
}

func harshSection(o options, res *loadtest.SoakResult) string {
	cfg := res.Config
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\nRun: `go run ./cmd/soak -runs harsh -harsh %d -outages %d -outage %s -attempts %d -races %d` on %s, %d CPUs, %s, %s; it took %s.\n\n",
		harshBegin, o.harsh, o.outages, o.outage, o.attempts, o.races, today(), runtime.NumCPU(), runtime.Version(), cpuModel(), res.Duration.Round(time.Second))
	serial := ""
	if cfg.Serial {
		serial = " The calls reach moto one at a time (through `awskit.Serial`, so that its conditional writes are atomic, as DynamoDB's are)."
	}
	races := fmt.Sprintf("%d times", cfg.SingleUseRaces)
	if cfg.SingleUseRaces == 1 {
		races = "once"
	}
	fmt.Fprintf(&b, "%d distinct webhooks per provider (plus %s redeliveries of acknowledged ones), %d concurrent senders, %d sandboxes per function.%s "+
		"%s of the webhooks are sent as %d to %d identical concurrent copies per delivery, each copy retried on its own; "+
		"%s, 2 to %d distinct OSL Pay bodies are sent at once with one signed header set, each retried with those headers on a 5xx. "+
		"Each provider makes at most %d attempts per delivery, %s apart, then gives up. "+
		"Background faults on the AWS calls: %s. "+
		"%d outage windows, each of at most %s and closed sooner once half the load between two windows has been handed out (so that they never overlap). "+
		"Runtimes killed with SIGKILL at %s. "+
		"Then, faults off, each function is invoked with `%s`, and the oracle judges the table and every message drained from the queues, webhook by webhook.\n\n",
		cfg.PerProvider, percent(cfg.Redeliver), cfg.Concurrency, cfg.Instances, serial,
		percent(cfg.Copies), cfg.MinCopies, cfg.MaxCopies, races, cfg.RaceBodies,
		cfg.MaxAttempts, retryDelays(cfg), describeRulesList(cfg.Rules), len(res.Windows), dur(outageLength(cfg)), describeKills(cfg.Kills), loadtest.RedriveCommand)
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

	t, or := res.Total(), res.Oracle
	fmt.Fprintf(&b, "\n**The oracle, by content:** %d webhooks sent (the single-use races' bodies included), %d acknowledged; each of those %d stored as exactly one event, queued, received under that event's id and named by every 2xx answer; %d stored events and %d messages, each carrying exactly one webhook's marker; %d lost, %d split into several events, %d 2xx answers naming another event.\n",
		or.Webhooks, or.AckedWebhooks, or.Delivered, or.Stored+or.Quarantined, or.Messages, len(or.Lost), len(or.Split), len(or.Misattributed))

	b.WriteString("\n| races | webhooks sent as concurrent copies | requests in their bursts | single-use races | bodies | accepted | refused 401 | other answer |\n|---|---|---|---|---|---|---|---|\n")
	bodies, accepted, refused, other := 0, 0, 0, 0
	for _, r := range t.Races {
		bodies += r.Bodies
		accepted += r.Accepted
		refused += r.Refused
		other += r.Other
	}
	fmt.Fprintf(&b, "| all providers | %d | %d | %d | %d | %d | %d | %d |\n", t.Copied, t.CopiesSent, len(t.Races), bodies, accepted, refused, other)

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
	if len(res.LateWrites) > 0 {
		b.WriteString("\n| late write (applied after its caller gave up) | AWS's answer | count |\n|---|---|---|\n")
		for _, k := range loadtest.Keys(res.LateWrites) {
			i := strings.LastIndexByte(k, '/')
			fmt.Fprintf(&b, "| %s | %s | %d |\n", k[:i], k[i+1:], res.LateWrites[k])
		}
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

// retryDelays spells out the delays between a delivery's attempts.
func retryDelays(cfg loadtest.SoakConfig) string {
	var ds []string
	d := cfg.RetryDelay
	for a := 1; a < cfg.MaxAttempts; a++ {
		ds = append(ds, dur(d))
		if cfg.Backoff > 1 {
			d = time.Duration(float64(d) * cfg.Backoff)
		}
	}
	if len(ds) > 3 {
		return ds[0] + " growing ×" + fmt.Sprint(cfg.Backoff) + " to " + ds[len(ds)-1]
	}
	return strings.Join(ds, " then ")
}

func describeRulesList(rules []loadtest.Rule) string {
	parts := make([]string, len(rules))
	for i, r := range rules {
		parts[i] = describeRule(r, false)
	}
	return strings.Join(parts, ", ")
}

func describeKills(kills []loadtest.KillRule) string {
	parts := make([]string, len(kills))
	for i, k := range kills {
		scope := k.Service
		if k.Operation != "" {
			scope += "/" + k.Operation
		}
		if scope == "" {
			scope = "every service"
		}
		at := "before the call reaches AWS"
		if k.After {
			at = "after AWS applied it"
		}
		parts[i] = fmt.Sprintf("%s of %s calls %s", percent(k.Rate), scope, at)
	}
	return strings.Join(parts, ", ")
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
