// Command perfreport measures the webhook receivers and writes
// docs/PERFORMANCE.md: benchmark results (from a `go test -bench` output
// file), binary sizes, cold starts of the real bootstraps under the AWS
// Lambda Runtime Interface Emulator, a load run through the local gateway against moto_server
// with the bare AWS calls measured beside it, and AWS calls, units and
// dollars per million webhooks. `make bench` runs it. Local tooling only:
// every server it starts listens on loopback, and it stops what it starts.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"webhooks/internal/awskit"
	"webhooks/internal/devkit"
	"webhooks/internal/devkit/kits"
	"webhooks/internal/loadtest"
	"webhooks/internal/localrun"
	"webhooks/shared/apigw"
)

type options struct {
	events, hostBin, lambdaBin, benchFile, out string
	levels                                     []int
	perLevel, coldRuns, costHooks              int
	instances                                  int
	commands                                   string
	coldOnly                                   bool
}

func main() {
	var o options
	var levels string
	flag.StringVar(&o.events, "events", "events", "events directory (samples and development secrets)")
	flag.StringVar(&o.hostBin, "host-bin", ".run/bin", "host bootstraps: <dir>/<provider>/bootstrap")
	flag.StringVar(&o.lambdaBin, "lambda-bin", "build", "Lambda (linux/arm64) bootstraps, for their sizes")
	flag.StringVar(&o.benchFile, "bench", "", "output of go test -bench -benchmem to include")
	flag.StringVar(&o.out, "out", "docs/PERFORMANCE.md", "report to write")
	flag.StringVar(&levels, "levels", "1,2,4,8,16,32", "load concurrency levels")
	flag.IntVar(&o.perLevel, "per-level", 400, "webhooks per load level (spread over the four providers)")
	flag.IntVar(&o.coldRuns, "cold-runs", 20, "cold starts per function, each beside one of the reference function (interleaved rounds)")
	flag.IntVar(&o.costHooks, "cost-webhooks", 20, "webhooks per provider in the cost run")
	flag.IntVar(&o.instances, "instances", 8, "sandboxes (emulators) per function in the load run (Lambda's concurrency)")
	flag.StringVar(&o.commands, "commands", "", "the commands that produced this report, ';'-separated, for the report")
	flag.BoolVar(&o.coldOnly, "cold-only", false, "measure only binary sizes and cold starts, print that part of the report to stdout, write nothing")
	flag.Parse()
	for _, f := range strings.Split(levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 256 {
			fmt.Fprintf(os.Stderr, "perfreport: bad level %q\n", f)
			os.Exit(2)
		}
		o.levels = append(o.levels, n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "perfreport: %v\n", err)
		stop()
		os.Exit(1)
	}
}

// report is everything the document shows: what this run measured, and the
// inputs it measured against (In), so that the document holds no number of
// its own.
type report struct {
	Date     time.Time
	Commit   string // the commit measured, with "-dirty" when the tree had changes
	Machine  machine
	Commands []string
	Bench    []benchResult
	Sizes    []binarySize
	RefSize  int64         // the reference function's host bootstrap, bytes
	Parts    []composition // what each binary is made of
	Cold     []coldStart
	Load     []loadLevel
	Cost     []providerCost
	Opts     options
	In       inputs
	Elapsed  time.Duration
	Capacity *capacityReport // the "Capacity" section (capacity.go)
}

// inputs are the constants of a run: the functions' configuration, the
// adversarial bodies' budget and the cost model's prices and units.
type inputs struct {
	Prices    loadtest.Prices
	MemoryMB  int           // the functions' configured memory
	BodyLimit int           // the request body limit, bytes
	Budget    time.Duration // CPU allowed per adversarial body
	SQSChunk  int           // bytes per billed SQS request
	Shapes    []string      // the adversarial shapes (internal/devkit)
}

// AdversarialBudget is the CPU a request path may spend on one adversarial
// body at the body limit.
const AdversarialBudget = 50 * time.Millisecond

func currentInputs() inputs {
	in := inputs{Prices: loadtest.USEast1, MemoryMB: MemoryMB, BodyLimit: apigw.DefaultMaxBody, Budget: AdversarialBudget, SQSChunk: loadtest.SQSChunk}
	for _, s := range devkit.Shapes {
		in.Shapes = append(in.Shapes, s.Name)
	}
	return in
}

// run measures, then writes the report only if every measurement succeeded.
func run(ctx context.Context, o options, log io.Writer) error {
	switch capOpts.only {
	case "capacity":
		return runCapacityOnly(ctx, o, log)
	case "":
	default:
		return errCapacityOnly
	}
	r, err := measure(ctx, o, log)
	if err != nil {
		return err // nothing is written
	}
	if o.coldOnly {
		var b strings.Builder
		renderCold(&b, r)
		fmt.Print(b.String())
		return nil
	}
	return finish(r, o.out, log)
}

func measure(ctx context.Context, o options, log io.Writer) (*report, error) {
	began := time.Now()
	r := &report{Date: began.UTC(), Opts: o, In: currentInputs()}
	var err error
	if o.benchFile != "" {
		if r.Bench, err = parseBenchFile(o.benchFile); err != nil {
			return nil, err
		}
	}
	r.Commit, r.Machine = gitCommit(), describeMachine()
	for _, c := range strings.Split(o.commands, ";") {
		if c = strings.TrimSpace(c); c != "" {
			r.Commands = append(r.Commands, c)
		}
	}
	if r.Sizes, err = binarySizes(o.lambdaBin, o.hostBin); err != nil {
		return nil, err
	}
	refDir, err := os.MkdirTemp("", "perfreport-ref-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(refDir)
	ref, err := buildHost(ctx, ReferencePkg, refDir, "bootstrap", false)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(ref); err == nil {
		r.RefSize = fi.Size()
	}
	if r.Parts, err = measureComposition(ctx, r.Sizes, r.RefSize); err != nil {
		return nil, err
	}

	motoLog, err := os.CreateTemp("", "perfreport-moto-*.log")
	if err != nil {
		return nil, err
	}
	defer os.Remove(motoLog.Name())
	defer motoLog.Close()
	fmt.Fprintln(log, "perfreport: starting moto_server and the functions")
	moto, err := awskit.StartMoto(ctx, motoLog)
	if err != nil {
		return nil, fmt.Errorf("moto_server: %w", err)
	}
	defer moto.Stop()

	fnLogs := newLatencyLogs()
	stack, err := localrun.Start(ctx, localrun.Config{
		SecretsFile:    filepath.Join(o.events, "dev-secrets.json"),
		BinDir:         o.hostBin,
		Prefix:         "perf",
		AWS:            localrun.AWSEnv{Endpoint: moto.Endpoint},
		FunctionOutput: fnLogs.writer,
		Timeout:        10 * time.Second,
		Instances:      o.instances,
	})
	if err != nil {
		return nil, err
	}
	defer stack.Stop()
	if running := stack.Running(); len(running) != len(localrun.Providers) {
		return nil, fmt.Errorf("only %v of the functions run; build them first (make run-bin)", running)
	}
	keys, err := devkit.DevSigners(kits.All, o.events)
	if err != nil {
		return nil, err
	}

	fmt.Fprintln(log, "perfreport: cold starts")
	if r.Cold, err = measureColdStarts(ctx, stack, keys, ref, o); err != nil {
		return nil, err
	}
	if o.coldOnly {
		r.Elapsed = time.Since(began)
		return r, nil
	}
	// The cost run before the load: its billed duration is the handler's
	// time against a table that holds only the cold starts' events. After
	// the load's thousands of items, moto_server answers a Query several
	// times slower (it reads a table's items to answer), which DynamoDB
	// does not; that slowness would be billed as the function's.
	fmt.Fprintln(log, "perfreport: cost")
	if r.Cost, err = measureCost(ctx, stack, keys, o); err != nil {
		return nil, err
	}
	fmt.Fprintln(log, "perfreport: load")
	if r.Load, err = runLoad(ctx, stack, keys, o, log); err != nil {
		return nil, err
	}
	if r.Capacity, err = measureCapacity(ctx, o, r, log); err != nil {
		return nil, err
	}
	r.Elapsed = time.Since(began)
	return r, nil
}

// finish writes the report to out, only if the run it describes passed: a
// load level with any error fails the run and leaves out as it was. The file
// is replaced in one rename, never left half written.
func finish(r *report, out string, log io.Writer) error {
	var errs []error
	for _, l := range r.Load {
		if l.Pipeline.Errors > 0 || l.Bare.Errors > 0 {
			errs = append(errs, fmt.Errorf("load at concurrency %d: %d pipeline errors, %d bare-call errors (first: %s)", l.Concurrency, l.Pipeline.Errors, l.Bare.Errors, l.FirstError))
		}
	}
	if len(r.Load) == 0 || len(r.Cost) == 0 || len(r.Cold) == 0 {
		errs = append(errs, errors.New("the run measured no load, cold start or cost"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s not written: %w", out, errors.Join(errs...))
	}
	if err := writeFileAtomic(out, []byte(render(r))); err != nil {
		return err
	}
	fmt.Fprintf(log, "perfreport: wrote %s in %s\n", out, r.Elapsed.Round(time.Second))
	return nil
}

// writeFileAtomic writes path through a temporary file in its directory.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// gitCommit is HEAD's short hash, "-dirty" added when the working tree has
// changes; "unknown" outside a git checkout.
func gitCommit() string {
	head, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(head))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err != nil || len(bytes.TrimSpace(st)) > 0 {
		c += "-dirty"
	}
	return c
}

type machine struct {
	CPUs    int
	Model   string
	Go      string
	OS      string
	Kernel  string
	Memory  string
	MotoVer string
}

func describeMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		if sc.Scan() {
			m.Memory = strings.Join(strings.Fields(strings.TrimPrefix(sc.Text(), "MemTotal:")), " ")
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("python3", "-c", "import moto; print(moto.__version__)").Output(); err == nil {
		m.MotoVer = strings.TrimSpace(string(out))
	}
	if m.Model == "" {
		m.Model = "unknown"
	}
	return m
}
