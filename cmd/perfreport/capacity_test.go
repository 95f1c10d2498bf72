package main

// The "Capacity" section holds no number of its own either: every figure
// comes from the model's tables, the simulation's results or its options.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"webhooks/internal/devkit"
	"webhooks/internal/devkit/kits"
	"webhooks/internal/loadtest/capacity"
)

// capacityFixture is a capacity section whose every input and measurement
// is scaled by k (a whole number).
func capacityFixture(k float64) *report {
	d := func(ms float64) time.Duration { return time.Duration(ms * k * float64(time.Millisecond)) }
	prof := capacity.Profile{Name: "test-profile", Source: "test source", Ops: map[string]capacity.Dist{}}
	for i, op := range capacity.Ops {
		x := float64(i + 1)
		prof.Ops[op] = capacity.Dist{P50: d(1.5 * x), P99: d(4.5 * x)}
	}
	limits := make([]capacity.Limit, len(capacity.Limits))
	for i, l := range capacity.Limits {
		l.Value *= k * float64(i+2)
		l.ScalingPerWindow *= k
		limits[i] = l
	}
	in := capacity.DefaultInputs
	in.HotStateWRU, in.HotStateRRU, in.PartitionRRU, in.SecretCallsPerRead, in.KMSPerSecretCall = 2, 3*k, 3000*k, 2*k, k
	in.SecretTTL, in.ScalingWindow = time.Duration(k)*in.SecretTTL, time.Duration(k)*in.ScalingWindow
	c := &capacityReport{Profile: prof, MemoryMB: int(256 * k), Webhooks: int(40 * k), Instances: int(4 * k), Replays: map[string]capacity.Replay{},
		Limits: limits, Multiples: []float64{10 * k, 100 * k}, FullVCPUMB: int(1769 * k), Arrivals: int(2000 * k), Command: fmt.Sprintf("go run ./cmd/perfreport -only capacity -capacity-webhooks %d", int(40*k))}
	usage := map[string]capacity.Usage{}
	var peaks []capacity.Peak
	for i, p := range kits.Names() {
		x := float64(i + 1)
		n := int(40 * k)
		res := &capacity.Result{Provider: p, Webhooks: n, Instances: c.Instances, Accepted: n, Messages: n, Events: n, OnQueueOnce: n,
			CPU: time.Duration(n) * d(0.5*x), AWS: time.Duration(n) * d(20*x), Calls: map[string]int{capacity.OpPutItem: n, capacity.OpSendMessage: int(float64(n) * x)},
			WriteUnits: float64(n) * 2.5 * x * k, Busy: []time.Duration{time.Duration(n) * d(20.5*x)}, Served: []int{n}}
		for j := 0; j < n; j++ {
			res.Service = append(res.Service, d(20.5*x+float64(j)))
		}
		c.Runs = append(c.Runs, res)
		usage[p] = capacity.UsageOf(res)
		peaks = append(peaks, capacity.Peak{Provider: p, Peak: devkit.Peak{Rate: 100 * x * k, Why: "why " + p, HotRate: 7 * x * k, HotEntity: "entity", HotState: true}})
		c.Replays[p] = capacity.Replay{Served: n, Span: d(1000 * x), MeanService: d(20 * x), MeanInFlight: 3.5 * x * k, P99InFlight: int(9 * x * k), PeakInFlight: int(11 * x * k)}
	}
	c.Load = capacity.Load{Peaks: peaks, Usage: usage, In: in}
	c.Rows = capacity.Analyse(c.Limits, c.Load)
	return &report{Capacity: c}
}

func renderedCapacity(r *report) string {
	var b strings.Builder
	renderCapacity(&b, r)
	return b.String()
}

func TestCapacityHoldsNoFixedNumber(t *testing.T) {
	a, b := strings.Split(renderedCapacity(capacityFixture(1)), "\n"), strings.Split(renderedCapacity(capacityFixture(2)), "\n")
	if len(a) != len(b) {
		t.Fatalf("the two sections have %d and %d lines: the fixture should only change numbers", len(a), len(b))
	}
	for i := range a {
		if a[i] == b[i] && standaloneNumber.MatchString(a[i]) {
			t.Errorf("line %d holds a number that is not the run's:\n%s", i+1, a[i])
		}
	}
}

// The section shows every limit, every provider's peak and run, and both
// multiples; a report without a capacity run has no section.
func TestCapacityShowsTheRun(t *testing.T) {
	doc := renderedCapacity(capacityFixture(1))
	for _, want := range []string{"## Capacity", "### Limits, at the peak assumed", "### The peak assumed per provider", "### At multiples of the peak", "### Simulation", "test-profile"} {
		if !strings.Contains(doc, want) {
			t.Errorf("the section lacks %q", want)
		}
	}
	for _, l := range capacity.Limits {
		if !strings.Contains(doc, l.Name) {
			t.Errorf("the section lacks limit %q", l.ID)
		}
	}
	for _, p := range kits.Names() {
		if strings.Count(doc, "| "+p+" |") != 2 {
			t.Errorf("provider %s is not in both the peaks and the simulation", p)
		}
	}
	if renderedCapacity(&report{}) != "" {
		t.Error("a report without a capacity run renders a section")
	}
	if _, err := capacityProfile("nope", nil); err == nil {
		t.Error("an unknown latency profile is accepted")
	}
}
