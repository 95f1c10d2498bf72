package capacity

import (
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"webhooks/internal/devkit"
	"webhooks/internal/devkit/kits"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// Little's law and its inverse, on numbers worked by hand.
func TestLittlesLaw(t *testing.T) {
	if got := Concurrency(600, 30*time.Millisecond); !near(got, 18) {
		t.Errorf("600/s × 30 ms = %v, want 18", got)
	}
	if got := PerInstance(25 * time.Millisecond); !near(got, 40) {
		t.Errorf("one instance at 25 ms: %v/s, want 40", got)
	}
	if PerInstance(0) != 0 {
		t.Error("PerInstance(0) is not 0")
	}
}

// One entity's partition: 1,000 WRU/s and 3,000 RRU/s in a linear
// combination; two writes and one read per state: 1/(2/1000 + 1/3000).
func TestPartitionArithmetic(t *testing.T) {
	if got, want := PartitionCap(2, 1, 1000, 3000), 1/(0.002+1.0/3000); !near(got, want) {
		t.Errorf("cap %v, want %v", got, want)
	}
	if got := PartitionCap(2, 0, 1000, 3000); !near(got, 500) {
		t.Errorf("writes only: %v, want 500", got)
	}
	if got := PartitionShare(PartitionCap(2, 1, 1000, 3000), 2, 1, 1000, 3000); !near(got, 1) {
		t.Errorf("the cap's own share is %v, want 1", got)
	}
}

// testLoad is two providers with round numbers.
func testLoad() Load {
	return Load{
		Peaks: []Peak{
			{Provider: "a", Peak: devkit.Peak{Rate: 100, HotRate: 10, HotState: true}},
			{Provider: "b", Peak: devkit.Peak{Rate: 300, HotRate: 400, HotState: false}},
		},
		Usage: map[string]Usage{
			"a": {Service: 20 * time.Millisecond, WriteUnits: 3, Sends: 1},
			"b": {Service: 50 * time.Millisecond, WriteUnits: 2, Sends: 1},
		},
		In: Inputs{HotStateWRU: 2, HotStateRRU: 3, SecretCallsPerRead: 2, SecretTTL: 100 * time.Second, KMSPerSecretCall: 1,
			ScalingWindow: 10 * time.Second, PartitionRRU: 3000},
	}
}

// Each limit's demand, worked by hand for testLoad.
func TestDemands(t *testing.T) {
	load := testLoad()
	// a: 100/s × 20 ms = 2 executions; b: 300/s × 50 ms = 15.
	// Secret calls: a: 2 × (2/10 + 2/100) = 0.44; b: 2 × (15/10 + 15/100) = 3.3.
	for _, c := range []struct {
		kind Kind
		want float64
		who  string
	}{
		{KindRequests, 400, ""},
		{KindConcurrency, 17, ""},
		{KindScaling, 15, "b"},
		{KindTableWrites, 100*3 + 300*2, ""},
		{KindPartition, 10 * (2 + 3*1000.0/3000), "a"}, // b's hot entity records no state
		{KindQueueSends, 300, "b"},
		{KindGroupSends, 400, "b"},
		{KindSecretCalls, 0.44 + 3.3, ""},
		{KindKMS, 0.44 + 3.3, ""},
	} {
		l := Limit{Kind: c.kind, Value: 1000, ScalingPerWindow: 1000}
		got := l.Demand(load)
		if !near(got.Demand, c.want) || got.Who != c.who {
			t.Errorf("kind %d: demand %v (%q), want %v (%q)", c.kind, got.Demand, got.Who, c.want, c.who)
		}
		if !near(l.BreaksAt(load), 1000/c.want) {
			t.Errorf("kind %d: breaks at ×%v, want ×%v", c.kind, l.BreaksAt(load), 1000/c.want)
		}
		// The demand scales with the load (the scaling rate's per-window
		// cap aside, which 1,000 does not reach here).
		if got10 := l.Demand(load.Times(10)).Demand; !near(got10, 10*c.want) && c.kind != KindScaling {
			t.Errorf("kind %d: ×10 demand %v, want %v", c.kind, got10, 10*c.want)
		}
	}
}

// The rows come first-to-break first, and FirstBroken picks the first whose
// break point is below the multiple.
func TestAnalyseOrdersByBreakPoint(t *testing.T) {
	rows := Analyse(Limits, Load{Peaks: Peaks, Usage: defaultUsage(), In: DefaultInputs})
	if len(rows) != len(Limits) {
		t.Fatalf("%d rows for %d limits", len(rows), len(Limits))
	}
	for i := 1; i < len(rows); i++ {
		if rows[i].BreaksAt < rows[i-1].BreaksAt {
			t.Fatalf("row %d breaks at ×%v before row %d at ×%v", i, rows[i].BreaksAt, i-1, rows[i-1].BreaksAt)
		}
	}
	first, ok := FirstBroken(rows, 10)
	if !ok || first.Limit.ID != rows[0].Limit.ID || first.BreaksAt >= 10 {
		t.Fatalf("first broken at ×10: %+v (%v)", first, ok)
	}
	if _, ok := FirstBroken(rows, rows[0].BreaksAt); ok {
		t.Error("a limit counts as broken at exactly its break point")
	}
}

// defaultUsage is an assumed usage for every provider.
func defaultUsage() map[string]Usage {
	u := map[string]Usage{}
	for _, p := range kits.Names() {
		u[p] = Usage{Service: 30 * time.Millisecond, WriteUnits: 3, Sends: 1}
	}
	return u
}

// Every provider has a peak, every limit a value, a source, a knob and an
// alarm.
func TestTablesAreComplete(t *testing.T) {
	have := map[string]bool{}
	for _, p := range Peaks {
		have[p.Provider] = true
		if p.Rate <= 0 || p.Why == "" || p.HotRate > p.Rate {
			t.Errorf("peak %+v", p)
		}
	}
	for _, name := range kits.Names() {
		if !have[name] {
			t.Errorf("no peak assumed for %s", name)
		}
	}
	ids := map[string]bool{}
	for _, l := range Limits {
		if l.Value <= 0 || l.Source == "" || l.Knob == "" || len(l.Alarms) == 0 || l.Kind == 0 || ids[l.ID] {
			t.Errorf("limit %+v", l)
		}
		ids[l.ID] = true
	}
}

// The stage throttle of the model is the stack's (infra/stack/config.go),
// read from its source so this package does not build the CDK.
func TestStageThrottleIsTheStacks(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "..", "infra", "stack", "config.go")
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range vs.Names {
			if i < len(vs.Values) {
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.INT {
					v, _ := strconv.ParseFloat(lit.Value, 64)
					got[name.Name] = v
				}
			}
		}
		return true
	})
	if got["DefaultRateLimit"] != StageRateLimit || got["DefaultBurstLimit"] != StageBurstLimit {
		t.Fatalf("infra/stack has rate %v burst %v; the model %v and %v", got["DefaultRateLimit"], got["DefaultBurstLimit"], StageRateLimit, StageBurstLimit)
	}
}

// The open-loop replay keeps Little's law: the time-average in flight equals
// the served rate times the mean service time; with a cap, nothing beyond it
// runs and the throttled arrivals are counted.
func TestOpenLoopKeepsLittlesLaw(t *testing.T) {
	service := []time.Duration{10 * time.Millisecond, 30 * time.Millisecond, 20 * time.Millisecond}
	r := OpenLoop(service, 500, 20000, 0, 7)
	if r.Served != 20000 || r.Throttled != 0 {
		t.Fatalf("served %d, throttled %d", r.Served, r.Throttled)
	}
	if math.Abs(r.MeanInFlight-r.Little()) > 1e-6*r.MeanInFlight { // W is kept to the nanosecond
		t.Fatalf("mean in flight %v, λW %v", r.MeanInFlight, r.Little())
	}
	if !near(r.MeanService.Seconds(), 0.02) {
		t.Fatalf("mean service %v", r.MeanService)
	}
	// The offered λW (500/s × 20 ms = 10) within a few percent of the run's.
	if math.Abs(r.MeanInFlight-Concurrency(500, 20*time.Millisecond)) > 0.5 {
		t.Fatalf("mean in flight %v, offered λW 10", r.MeanInFlight)
	}
	if r.PeakInFlight < r.P99InFlight || float64(r.P99InFlight) < r.MeanInFlight {
		t.Fatalf("peak %d, p99 %d, mean %v", r.PeakInFlight, r.P99InFlight, r.MeanInFlight)
	}
	capped := OpenLoop(service, 500, 20000, 8, 7)
	if capped.PeakInFlight > 8 || capped.Throttled == 0 || capped.Served+capped.Throttled != 20000 {
		t.Fatalf("cap 8: peak %d, throttled %d, served %d", capped.PeakInFlight, capped.Throttled, capped.Served)
	}
}

// A log-normal's mean and its inverse.
func TestDistributions(t *testing.T) {
	d := DistFromMean(10*time.Millisecond, 3)
	if m := d.Mean(); math.Abs(float64(m-10*time.Millisecond)) > float64(time.Microsecond) {
		t.Errorf("mean %v, want 10ms", m)
	}
	if !near(float64(d.P99)/float64(d.P50), 3) {
		t.Errorf("p99/p50 %v", float64(d.P99)/float64(d.P50))
	}
	for _, p := range []Profile{AWSDocumented, MotoLastReport} {
		if err := p.Check(); err != nil {
			t.Error(err)
		}
	}
	if (Profile{Name: "x"}).Check() == nil {
		t.Error("an empty profile passes Check")
	}
	if CPUScale(256) != float64(LambdaFullVCPUMB)/256 || CPUScale(4096) != 1 {
		t.Errorf("CPUScale(256) = %v", CPUScale(256))
	}
}
