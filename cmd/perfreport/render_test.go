package main

// The report's rules, without AWS and in milliseconds: the document holds no
// number that does not come from the run (its measurements or its inputs),
// and a run that failed writes nothing.

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"webhooks/internal/devkit/kits"
	"webhooks/internal/loadtest"
)

// fixture is a complete report whose every measured value and input is
// scaled by k (a whole number): two fixtures with different k share their
// layout (the same rows and lines) and no number.
func fixture(k float64) *report {
	f := func(x float64) float64 { return x * k }
	n := func(x int) int { return int(float64(x) * k) }
	d := func(ms float64) time.Duration { return time.Duration(ms * k * float64(time.Millisecond)) }
	in := inputs{
		Prices: loadtest.Prices{
			Region: "test-region-" + strings.Repeat("x", n(1)), Date: time.Date(2020+n(1), 1, 2, 0, 0, 0, 0, time.UTC).Format("2006-01-02"),
			HTTPAPIPerMillion: f(1.11), HTTPAPIChunkBytes: n(512) << 10, LambdaARMPerGBSecond: f(0.0000133334), LambdaRequestPerMillion: f(0.21),
			DynamoWRUPerMillion: f(0.625), DynamoRRUPerMillion: f(0.125), SQSFIFOPerMillion: f(0.51), SecretsPer10k: f(0.05), KMSPer10k: f(0.03), LogsPerGB: f(0.52),
		},
		MemoryMB: n(256), BodyLimit: n(256) << 10, Budget: d(50), SQSChunk: n(64) << 10, Shapes: []string{"digit-groups", "many-keys"},
	}
	r := &report{
		Date:     time.Date(2026, 11, n(10), n(7), n(9), 0, 0, time.UTC),
		Commit:   strings.Repeat("ab", n(3)),
		Machine:  machine{CPUs: n(2), Model: "CPU model " + strings.Repeat("z", n(1)), Go: "go1.26.8", OS: "linux/amd64", Kernel: "6.1." + strings.Repeat("9", n(1)), Memory: strings.Repeat("7", n(4)) + " kB", MotoVer: "5." + strings.Repeat("3", n(1))},
		Commands: []string{"make bench", "go run ./cmd/perfreport -cold-runs " + strings.Repeat("5", n(1))},
		Opts:     options{coldRuns: n(5), instances: n(8), perLevel: n(400), costHooks: n(20)},
		In:       in,
		Elapsed:  d(123456),
	}
	for i, name := range []string{"BenchmarkCPUPath/tiki", "BenchmarkCPUPathAdversarial/tiki/many-keys", "BenchmarkRedactAdversarial/digit-groups"} {
		x := float64(i + 1)
		r.Bench = append(r.Bench, benchResult{Pkg: "webhooks/shared/pipeline", Name: name, Runs: n(5), NsOp: f(1234 * x * x * x), MBs: f(21.5 * x), BytesOp: f(2217 * x), Allocs: f(25 * x), MinNsOp: f(1100 * x * x * x), MaxNsOp: f(1400 * x * x * x)})
	}
	for i, p := range kits.Names() {
		x := float64(i + 1)
		r.Sizes = append(r.Sizes, binarySize{Provider: p, Lambda: int64(f(9.5e6 * x)), Host: int64(f(10.1e6 * x))})
		cs := coldStart{Provider: p, Runs: n(5), Up: []time.Duration{d(11 * x), d(13 * x)}, Init: []time.Duration{d(21 * x), d(23 * x)},
			First: []time.Duration{d(31 * x), d(37 * x)}, Second: []time.Duration{d(4.1 * x), d(4.3 * x)}, ReportInit: []time.Duration{d(0.07 * x)}}
		cs.UpMed, cs.InitMed, cs.FirstMed, cs.SecondMed, cs.RIMed = d(12*x), d(22*x), d(33*x), d(4.2*x), d(0.07*x)
		r.Cold = append(r.Cold, cs)
	}
	for i, c := range []int{1, 4, 16} {
		x := float64(i + 1)
		l := loadLevel{Concurrency: n(c),
			Pipeline: stats{N: n(400), Throughput: f(95.5 * x), Mean: f(11.1 * x), P50: f(10.5 * x), P99: f(30.5 * x), Max: f(45.5 * x)},
			Bare:     stats{N: n(400), Throughput: f(150.5 * x), Mean: f(6.1 * x), P50: f(5.5 * x), P99: f(15.5 * x), Max: f(20.5 * x)},
			BareOps:  map[string]float64{"PutItem": f(2.1 * x), "SendMessage": f(3.1 * x), "UpdateItem": f(1.1 * x)},
			Handler:  map[string]float64{},
		}
		for j, p := range kits.Names() {
			l.Handler[p] = f(7.5 * x * float64(j+1))
		}
		r.Load = append(r.Load, l)
	}
	for i, p := range kits.Names() {
		x := float64(i + 1)
		a := loadtest.Amortised{RatePerSecond: f(10), Instances: 1, CacheSeconds: f(300), SecretCallsPerRead: f(2), KMSPerSecretCall: 1, KMSBackgroundPerHour: f(24)}
		u := loadtest.Usage{Provider: p, RequestBytes: n(900), MemoryMB: in.MemoryMB, DurationMs: f(12.5 * x), WriteUnits: f(2.6 * x), ReadUnits: f(0.5 * x), SQSRequests: f(1.5), LogBytes: f(700 * x)}
		fl := loadtest.Usage{Provider: p, RequestBytes: n(900), MemoryMB: in.MemoryMB, DurationMs: f(6.5), WriteUnits: f(2 * x), SQSRequests: f(1.5)}
		r.Cost = append(r.Cost, providerCost{
			Provider: p, Webhooks: n(20), SecretsPerRead: n(2), ItemBytes: n(1500 * (i + 1)), MsgBytes: f(1700 * x),
			Calls:          map[string]float64{"DynamoDB.PutItem": f(1.5), "SQS.SendMessage": f(1.25)},
			FirstCalls:     map[string]int{"DynamoDB.PutItem": n(2), "Secrets Manager.GetSecretValue": n(2)},
			DuplicateCalls: map[string]int{"DynamoDB.GetItem": n(3)},
			Snapshot:       loadtest.Snapshot{WriteUnitsByKind: map[string]float64{"event": f(40 * x), "state": f(20)}},
			Usage:          u, Floor: fl, Amortised: a,
			Cost: loadtest.PerMillion(in.Prices, u, a), FloorCost: loadtest.PerMillion(in.Prices, fl, a),
		})
	}
	return r
}

// A number standing on its own: not part of a word such as p50, arm64 or
// go1.26 (a digit after a letter, digit, '_', '.', '+', '/' or '-').
var standaloneNumber = regexp.MustCompile(`(?:^|[^\pL\pN_.+/\-])\d`)

// Every line of the document that holds a number changes when the run's
// measurements and inputs change: no number is written into the template
// (such as a before/after measured on another commit, or a rate of the local
// AWS API measured once), and the sentences around the numbers hold none.
func TestRenderHoldsNoFixedNumber(t *testing.T) {
	a, b := strings.Split(render(fixture(1)), "\n"), strings.Split(render(fixture(2)), "\n")
	if len(a) != len(b) {
		t.Fatalf("the two reports have %d and %d lines: the fixture should only change numbers", len(a), len(b))
	}
	for i := range a {
		if a[i] == b[i] && standaloneNumber.MatchString(a[i]) {
			t.Errorf("line %d holds a number that is not the run's:\n%s", i+1, a[i])
		}
	}
}

// The sections a run measured are all there, and no measurement is dropped.
func TestRenderShowsTheRun(t *testing.T) {
	doc := render(fixture(1))
	for _, want := range []string{
		"on commit `ababab`", "## Machine", "## Benchmarks", "### Adversarial bodies", "## Binary sizes", "## Cold start", "## Load",
		"## AWS calls and cost per webhook", "### Prices", "### Amortised calls", "### Dollars per million webhooks", "### Arithmetic",
		"| shared/pipeline | CPUPath/tiki |", "within the 50.00 ms budget", "| 16 | 400 | 0 |",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	r := fixture(1)
	r.In.Budget = time.Microsecond
	if !strings.Contains(render(r), "(OVER the 1.0 µs budget)") {
		t.Errorf("a slowest adversarial run over the budget is not called OVER")
	}
}

// The file a failed run would have written is left as it was: a load level
// with errors, or a run that measured nothing.
func TestFailedRunWritesNothing(t *testing.T) {
	out := filepath.Join(t.TempDir(), "PERFORMANCE.md")
	const before = "the report of the last run that passed\n"
	if err := os.WriteFile(out, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	withErrors := fixture(1)
	withErrors.Load[1].Pipeline.Errors = 2
	withErrors.Load[1].FirstError = "tiki: 500"
	empty := fixture(1)
	empty.Load = nil
	for name, r := range map[string]*report{"load errors": withErrors, "no load": empty} {
		err := finish(r, out, io.Discard)
		if err == nil {
			t.Errorf("%s: finish wrote the report", name)
		}
		if got, _ := os.ReadFile(out); string(got) != before {
			t.Errorf("%s: the report changed:\n%s", name, got)
		}
	}
	// The control: a run that passed replaces it, and leaves no temporary file.
	if err := finish(fixture(1), out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !strings.HasPrefix(string(got), "# Performance and cost") {
		t.Errorf("a passing run did not write the report:\n%.200s", got)
	}
	if files, _ := os.ReadDir(filepath.Dir(out)); len(files) != 1 {
		t.Errorf("files left beside the report: %v", files)
	}
}

// A benchmark output with a failure in it fails the run before anything is
// measured: the report is not written from failed benchmarks.
func TestFailedBenchmarksWriteNothing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "PERFORMANCE.md")
	const before = "unchanged\n"
	if err := os.WriteFile(out, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, bench := range map[string]string{
		"failed benchmark": benchOutput + "--- FAIL: BenchmarkDecode\n    decode_test.go:12: boom\nFAIL\nexit status 1\nFAIL\twebhooks/shared/providers/tiki\t1.2s\n",
		"failed package":   benchOutput + "FAIL\twebhooks/shared/pan [build failed]\n",
		"panic":            benchOutput + "panic: runtime error: index out of range\n",
	} {
		file := filepath.Join(dir, "bench.txt")
		if err := os.WriteFile(file, []byte(bench), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := parseBenchFile(file); err == nil {
			t.Errorf("%s: parseBenchFile accepts it", name)
		}
		err := run(context.Background(), options{benchFile: file, out: out, lambdaBin: dir, hostBin: dir}, io.Discard)
		if err == nil {
			t.Errorf("%s: the run passed", name)
		}
		if got, _ := os.ReadFile(out); string(got) != before {
			t.Errorf("%s: the report changed", name)
		}
	}
}

const benchOutput = `goos: linux
goarch: amd64
pkg: webhooks/shared/providers/tiki
cpu: AMD EPYC
BenchmarkDecode-2        	  200000	      1600 ns/op	  94.80 MB/s	     480 B/op	       8 allocs/op
BenchmarkDecode-2        	  200000	      1500 ns/op	  95.10 MB/s	     480 B/op	       8 allocs/op
BenchmarkDecode-2        	  200000	      1700 ns/op	  93.00 MB/s	     480 B/op	       8 allocs/op
BenchmarkAuthenticate-2  	 1000000	      1000 ns/op	     528 B/op	       8 allocs/op
PASS
ok  	webhooks/shared/providers/tiki	3.1s
pkg: webhooks/shared/pipeline
BenchmarkCPUPath/tiki-2  	   50000	      5700 ns/op	  26.20 MB/s	    2217 B/op	      25 allocs/op
PASS
ok  	webhooks/shared/pipeline	2.0s
`

func TestParseBenchFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bench.txt")
	if err := os.WriteFile(file, []byte(benchOutput), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := parseBenchFile(file)
	if err != nil {
		t.Fatal(err)
	}
	want := []benchResult{
		{Pkg: "webhooks/shared/providers/tiki", Name: "BenchmarkDecode", Runs: 3, NsOp: 1600, MBs: 94.8, BytesOp: 480, Allocs: 8, MinNsOp: 1500, MaxNsOp: 1700},
		{Pkg: "webhooks/shared/providers/tiki", Name: "BenchmarkAuthenticate", Runs: 1, NsOp: 1000, BytesOp: 528, Allocs: 8, MinNsOp: 1000, MaxNsOp: 1000},
		{Pkg: "webhooks/shared/pipeline", Name: "BenchmarkCPUPath/tiki", Runs: 1, NsOp: 5700, MBs: 26.2, BytesOp: 2217, Allocs: 25, MinNsOp: 5700, MaxNsOp: 5700},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("result %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	empty := filepath.Join(t.TempDir(), "empty.txt")
	os.WriteFile(empty, []byte("PASS\n"), 0o644)
	if _, err := parseBenchFile(empty); err == nil || errors.Is(err, os.ErrNotExist) {
		t.Errorf("an output without results: %v, want an error", err)
	}
}

func TestPartOf(t *testing.T) {
	for sym, want := range map[string]string{
		"github.com/aws/aws-sdk-go-v2/service/dynamodb.(*Client).PutItem":                                   "SDK client: dynamodb",
		"github.com/aws/aws-sdk-go-v2/service/sqs.timeOperationMetric[go.shape.struct { URI net/url.URL }]": "SDK client: sqs",
		"type:*github.com/aws/aws-sdk-go-v2/service/sts.Options":                                            "SDK configuration and credential providers",
		"github.com/aws/aws-sdk-go-v2/config.LoadDefaultConfig":                                             "SDK configuration and credential providers",
		"github.com/aws/aws-sdk-go-v2/aws/retry.NewStandard":                                                "SDK core",
		"webhooks/shared/pipeline.(*Handler[go.shape.struct]).Invoke":                                       "this module (webhooks/...)",
		"runtime.mallocgc":                "Go runtime and standard library",
		"net/http.(*Transport).RoundTrip": "Go runtime and standard library",
		"go:func.*":                       "Go runtime and standard library",
		"github.com/aws/smithy-go/middleware.(*Stack).String":         "smithy-go",
		"github.com/aws/aws-lambda-go/lambda.Start":                   "aws-lambda-go",
		"github.com/santhosh-tekuri/jsonschema/v6.(*Schema).Validate": "other modules",
		"vendor/golang.org/x/net/http2/hpack.(*Decoder).Write":        "Go runtime and standard library",
	} {
		if got := partOf(sym); got != want {
			t.Errorf("partOf(%q) = %q, want %q", sym, got, want)
		}
	}
}
