package main

// The "Capacity" section: the capacity model of internal/loadtest/capacity under the
// usage its simulation measures. `make bench` runs it after the cost run,
// with the latency measured against moto_server by the load run (or the
// documented AWS figures: -capacity-latency aws); `-only capacity` runs the
// simulation alone, with no moto_server, emulator or build, and writes the
// section alone to -out.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"webhooks/internal/devkit/kits"
	"webhooks/internal/loadtest/capacity"
)

// capacityOptions are the section's flags, registered beside main's.
type capacityOptions struct {
	only      string
	webhooks  int
	instances int
	latency   string
	multiples string
}

var capOpts = func() *capacityOptions {
	c := &capacityOptions{}
	flag.StringVar(&c.only, "only", "", `"capacity": run only the capacity simulation and write its section alone to -out`)
	flag.IntVar(&c.webhooks, "capacity-webhooks", 400, "webhooks per provider in the capacity simulation")
	flag.IntVar(&c.instances, "capacity-instances", 8, "simulated Lambda instances per provider in the capacity simulation")
	flag.StringVar(&c.latency, "capacity-latency", "", `AWS call latency of the capacity simulation: "aws" (documented figures), "moto" (the load run's, or the last report's with -only); default: moto in a full run, aws with -only`)
	flag.StringVar(&c.multiples, "capacity-multiples", "10,100", "multiples of the assumed peak the capacity section answers for")
	return c
}()

// capacityReport is the section's data: the simulation's runs, and the model
// under the usage they measured.
type capacityReport struct {
	Profile   capacity.Profile
	MemoryMB  int
	Webhooks  int
	Instances int
	Runs      []*capacity.Result
	Replays   map[string]capacity.Replay // per provider: open loop at its peak
	Load      capacity.Load
	Limits    []capacity.Limit
	Rows      []capacity.Row
	Multiples []float64
	Command   string
	// FullVCPUMB is the memory at which a function has a whole vCPU
	// (capacity.LambdaFullVCPUMB); Arrivals the open-loop replay's arrivals.
	FullVCPUMB, Arrivals int
}

// ReplayArrivals is how many arrivals the open-loop replay offers per provider.
const ReplayArrivals = 20000

// capacityProfile picks the latency profile: name "aws" or "moto"; r's load
// run, when there is one, supplies moto's means.
func capacityProfile(name string, r *report) (capacity.Profile, error) {
	switch name {
	case "aws":
		return capacity.AWSDocumented, nil
	case "moto":
		if r == nil || len(r.Load) == 0 {
			return capacity.MotoLastReport, nil
		}
		ops := r.Load[0].BareOps
		ms := func(op string) time.Duration { return time.Duration(ops[op] * float64(time.Millisecond)) }
		return capacity.MotoMeasured(fmt.Sprintf("moto_server means measured by this run's load at concurrency %d, p99/p50 assumed", r.Load[0].Concurrency),
			ms("PutItem"), ms("SendMessage"), ms("UpdateItem")), nil
	}
	return capacity.Profile{}, fmt.Errorf("-capacity-latency %q: want aws or moto", name)
}

// measureCapacity runs the simulation for every provider and the model under
// the usage it measured.
func measureCapacity(ctx context.Context, o options, r *report, log io.Writer) (*capacityReport, error) {
	name := capOpts.latency
	if name == "" {
		name = "moto"
		if r == nil {
			name = "aws"
		}
	}
	prof, err := capacityProfile(name, r)
	if err != nil {
		return nil, err
	}
	var mult []float64
	for _, f := range strings.Split(capOpts.multiples, ",") {
		var k float64
		if _, err := fmt.Sscan(strings.TrimSpace(f), &k); err != nil || k <= 1 {
			return nil, fmt.Errorf("-capacity-multiples: %q is not a multiple above 1", f)
		}
		mult = append(mult, k)
	}
	c := &capacityReport{Profile: prof, MemoryMB: MemoryMB, Webhooks: capOpts.webhooks, Instances: capOpts.instances,
		Replays: map[string]capacity.Replay{}, Limits: capacity.Limits, Multiples: mult, FullVCPUMB: capacity.LambdaFullVCPUMB, Arrivals: ReplayArrivals,
		Command: fmt.Sprintf("go run ./cmd/perfreport -only capacity -capacity-latency %s -capacity-webhooks %d -capacity-instances %d -out <file>", name, capOpts.webhooks, capOpts.instances)}
	usage := map[string]capacity.Usage{}
	for i, p := range kits.Names() {
		fmt.Fprintf(log, "perfreport: capacity simulation of %s (%s latency)\n", p, prof.Name)
		res, err := capacity.Run(ctx, capacity.Config{Provider: p, Webhooks: capOpts.webhooks, Instances: capOpts.instances,
			Profile: prof, MemoryMB: MemoryMB, EventsDir: o.events, Seed: uint64(i + 1)})
		if err != nil {
			return nil, fmt.Errorf("capacity simulation of %s: %w", p, err)
		}
		if !res.ExactlyOnce() {
			return nil, fmt.Errorf("capacity simulation of %s: not every webhook was answered and queued exactly once: %v", p, res.Failures)
		}
		c.Runs = append(c.Runs, res)
		usage[p] = capacity.UsageOf(res)
	}
	c.Load = capacity.Load{Peaks: capacity.Peaks, Usage: usage, In: capacity.DefaultInputs}
	for i, p := range c.Load.Peaks {
		if res := c.run(p.Provider); res != nil {
			c.Replays[p.Provider] = capacity.OpenLoop(res.Service, p.Rate, c.Arrivals, 0, uint64(100+i))
		}
	}
	c.Rows = capacity.Analyse(c.Limits, c.Load)
	return c, nil
}

func (c *capacityReport) run(provider string) *capacity.Result {
	for _, r := range c.Runs {
		if r.Provider == provider {
			return r
		}
	}
	return nil
}

// runCapacityOnly is -only capacity: the simulation alone, its section alone.
func runCapacityOnly(ctx context.Context, o options, log io.Writer) error {
	began := time.Now()
	r := &report{Date: began.UTC(), Opts: o, In: currentInputs(), Commit: gitCommit()}
	c, err := measureCapacity(ctx, o, nil, log)
	if err != nil {
		return err
	}
	r.Capacity, r.Elapsed = c, time.Since(began)
	var b strings.Builder
	fmt.Fprintf(&b, "# Capacity (simulation alone)\n\nGenerated by `cmd/perfreport -only capacity` on %s UTC in %s, on commit `%s`. `make bench` writes the same section into docs/PERFORMANCE.md.\n\n",
		r.Date.Format("2006-01-02 15:04"), r.Elapsed.Round(time.Millisecond), r.Commit)
	renderCapacity(&b, r)
	if err := writeFileAtomic(o.out, []byte(b.String())); err != nil {
		return err
	}
	fmt.Fprintf(log, "perfreport: wrote %s\n", o.out)
	return nil
}

// errCapacityOnly is the answer to an -only value other than capacity.
var errCapacityOnly = errors.New(`-only takes "capacity"`)

// fmtX formats a multiple of the peak.
func fmtX(k float64) string {
	switch {
	case math.IsInf(k, 1):
		return "never"
	case k >= 100:
		return fmt.Sprintf("×%.0f", k)
	case k >= 10:
		return fmt.Sprintf("×%.1f", k)
	}
	return fmt.Sprintf("×%.2f", k)
}

// num formats a rate or a count.
func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// renderCapacity writes the "Capacity" section (nothing when the run had none).
func renderCapacity(b *strings.Builder, r *report) {
	c := r.Capacity
	if c == nil {
		return
	}
	w := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	load := c.Load
	w("## Capacity\n\n")
	w("What limits a flash sale, on paper and in simulation (`internal/loadtest/capacity`). On paper: each limit on the webhook path with its value and\n")
	w("source (*documented*: read on the page cited; *assumed*: not found there), what the peak assumed below asks of it, and the multiple of\n")
	w("that peak at which it breaks. In simulation: each provider's real handler (`lambdamain.Assemble` over the in-memory table and queue, webhooks\n")
	w("signed by the dev kits) served by simulated Lambda instances, one request at a time each; every AWS call is charged a latency drawn from the\n")
	w("profile below on the instance's own simulated clock, and the handler's CPU time is measured here and scaled to the function's share of a\n")
	w("vCPU. Only the arithmetic and the accounting are tested (every webhook answered, stored and queued exactly once); the figures are reported.\n\n")
	w("Run alone (no moto_server, no build, seconds): `%s`.\n\n", c.Command)

	w("### Limits, at the peak assumed\n\n")
	w("*Demand* is what the peak below asks of the limit (for a limit per function, queue or entity: of the busiest, named); *breaks at* the\n")
	w("multiple of the whole peak that reaches the limit. First to break first.\n\n")
	w("| component | limit | value | demand at the peak | breaks at | knob | alarm that warns first | source |\n|---|---|---:|---:|---:|---|---|---|\n")
	for _, row := range c.Rows {
		l := row.Limit
		who := ""
		if row.Use.Who != "" {
			who = " (" + row.Use.Who + ")"
		}
		src := "assumed"
		if l.Documented {
			src = "documented"
		}
		w("| %s | %s | %s %s | %s%s | %s | %s | %s | %s: %s |\n", l.Component, l.Name, num(l.Value), l.Unit, num(row.Use.Demand), who,
			fmtX(row.BreaksAt), l.Knob, l.AlarmText(), src, l.Source)
	}
	w("\nModel inputs: a hot entity's state costs %s WRU and %s RRU on its partition (a partition serves %s RRU/s beside its WRU, in a linear\n",
		num(load.In.HotStateWRU), num(load.In.HotStateRRU), num(load.In.PartitionRRU))
	w("combination), so one entity takes at most %s states/s; a secret read is %s `GetSecretValue` calls and %s KMS `Decrypt` each, once per\n",
		num(capacity.PartitionCap(load.In.HotStateWRU, load.In.HotStateRRU, limitValue(c.Limits, capacity.KindPartition), load.In.PartitionRRU)),
		num(load.In.SecretCallsPerRead), num(load.In.KMSPerSecretCall))
	w("instance start and every %s; Lambda starts at most %s environments per function every %s.\n\n",
		load.In.SecretTTL, num(limitValue(c.Limits, capacity.KindScaling)), load.In.ScalingWindow)

	w("### The peak assumed per provider\n\n")
	w("Assumptions, not measurements: no provider publishes its volumes. *Concurrency* is Little's law, the peak times the mean handler\n")
	w("time the simulation measured; *per instance* is one instance kept busy.\n\n")
	w("| provider | peak webhooks/s | why | hottest entity | its webhooks/s | handler mean | per instance | concurrency at the peak |\n|---|---:|---|---|---:|---:|---:|---:|\n")
	for _, p := range load.Peaks {
		u := load.Usage[p.Provider]
		w("| %s | %s | %s | %s | %s | %s | %s/s | %s |\n", p.Provider, num(p.Rate), p.Why, p.HotEntity, num(p.HotRate),
			ms(u.Service), num(capacity.PerInstance(u.Service)), num(load.Concurrency(p)))
	}
	w("| **all** | **%s** | | | | | | **%s** |\n\n", num(load.Rate()), num(load.TotalConcurrency()))

	w("### At multiples of the peak\n\n")
	w("| multiple | webhooks/s | concurrency | table WRU/s | first to break | its knob | alarm that warns first | also broken |\n|---:|---:|---:|---:|---|---|---|---|\n")
	for _, k := range c.Multiples {
		at := load.Times(k)
		first, ok := capacity.FirstBroken(c.Rows, k)
		var also []string
		for _, row := range c.Rows {
			if row.BreaksAt < k && row.Limit.ID != first.Limit.ID {
				also = append(also, fmt.Sprintf("%s (%s)", row.Limit.ID, fmtX(row.BreaksAt)))
			}
		}
		if !ok {
			w("| %s | %s | %s | %s | nothing | | | |\n", fmtX(k), num(at.Rate()), num(at.TotalConcurrency()), num(at.WriteUnits()))
			continue
		}
		w("| %s | %s | %s | %s | %s: %s (at %s) | %s | %s | %s |\n", fmtX(k), num(at.Rate()), num(at.TotalConcurrency()), num(at.WriteUnits()),
			first.Limit.Component, first.Limit.ID, fmtX(first.BreaksAt), first.Limit.Knob, first.Limit.AlarmText(), strings.Join(also, ", "))
	}
	w("\n")

	w("### Simulation\n\n")
	w("Latency profile **%s** (%s), a log-normal per call given by its median (p50) and p99:\n\n", c.Profile.Name, c.Profile.Source)
	w("| AWS call | p50 | p99 | mean |\n|---|---:|---:|---:|\n")
	for _, op := range capacity.Ops {
		d := c.Profile.Ops[op]
		w("| %s | %s | %s | %s |\n", op, ms(d.P50), ms(d.P99), ms(d.Mean()))
	}
	w("\nPer provider, %d distinct webhooks on %d simulated instances, %d MB functions: CPU time measured here ×%.2f (Lambda gives a function\n",
		c.Webhooks, c.Instances, c.MemoryMB, float64(c.FullVCPUMB)/float64(c.MemoryMB))
	w("below %d MB that share of a vCPU). *Handler* is the simulated time per webhook: scaled CPU plus the AWS calls' latency. The open-loop replay\n", c.FullVCPUMB)
	w("offers %d Poisson arrivals at the provider's peak, each served for one of the run's handler times by an instance of its own (as Lambda\n", c.Arrivals)
	w("serves synchronous invocations): Little's law says *mean in flight* = *λW*; *p99 in flight* is what a burst needs above the mean.\n")
	w("CPU is the handler's time here with no more handlers at once than cores; garbage collection and other processes on this machine land in\n")
	w("it and are scaled with it, so the tail (p99) is pessimistic. An instance's first webhook also reads the secret.\n\n")
	w("| provider | exactly once | AWS calls per webhook | WRU | handler p50 | p99 | mean | CPU | AWS | per instance | replay: mean in flight | λW | p99 in flight | peak |\n")
	w("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, res := range c.Runs {
		once := "no"
		if res.ExactlyOnce() {
			once = fmt.Sprintf("yes, %d of %d", res.OnQueueOnce, res.Webhooks)
		}
		var calls []string
		for _, op := range capacity.Ops {
			if op == capacity.OpGetSecretValue {
				continue // per instance, not per webhook
			}
			if v := res.CallsPer(op); v > 0 {
				calls = append(calls, fmt.Sprintf("%s %s", num(v), op))
			}
		}
		n := time.Duration(max(1, res.Webhooks))
		rp := c.Replays[res.Provider]
		w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s/s | %s | %s | %d | %d |\n", res.Provider, once, strings.Join(calls, ", "),
			num(res.WriteUnits/float64(max(1, res.Webhooks))), ms(capacity.Percentile(res.Service, 50)), ms(capacity.Percentile(res.Service, 99)),
			ms(res.MeanService()), ms(res.CPU/n), ms(res.AWS/n), num(res.PerInstance()), num(rp.MeanInFlight), num(rp.Little()), rp.P99InFlight, rp.PeakInFlight)
	}
	w("\nEach instance read its secret once (`GetSecretValue` for AWSCURRENT: a secret rotated long ago has no AWSPREVIOUS to read) and kept it: these calls are per instance and per\n")
	w("cache period, counted in the limits above, not per webhook. Write units per webhook are computed from the sizes of the items the run left\n")
	w("in the table (an event item written twice: the conditional put and the queued mark, both counted at its final size, so an upper estimate;\n")
	w("the cost section's counts of the real calls are exact).\n\n")
}

// limitValue is the value of the first limit of kind.
func limitValue(limits []capacity.Limit, kind capacity.Kind) float64 {
	for _, l := range limits {
		if l.Kind == kind {
			return l.Value
		}
	}
	return 0
}
