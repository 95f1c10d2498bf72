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
	"webhooks/internal/localrun"
	"webhooks/shared/providers"
)

type options struct {
	events, hostBin, lambdaBin, benchFile, out string
	levels                                     []int
	perLevel, coldRuns, costHooks              int
	instances                                  int
	commands                                   string
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
	flag.IntVar(&o.coldRuns, "cold-runs", 5, "cold starts per function")
	flag.IntVar(&o.costHooks, "cost-webhooks", 20, "webhooks per provider in the cost run")
	flag.IntVar(&o.instances, "instances", 8, "sandboxes (emulators) per function in the load run (Lambda's concurrency)")
	flag.StringVar(&o.commands, "commands", "", "the commands that produced this report, ';'-separated, for the report")
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

// report is everything the document shows.
type report struct {
	Date     time.Time
	Machine  machine
	Commands []string
	Bench    []benchResult
	Sizes    []binarySize
	Cold     []coldStart
	Load     []loadLevel
	Cost     []providerCost
	Opts     options
	Elapsed  time.Duration
}

func run(ctx context.Context, o options, log io.Writer) error {
	began := time.Now()
	r := &report{Date: began.UTC(), Machine: describeMachine(), Opts: o}
	for _, c := range strings.Split(o.commands, ";") {
		if c = strings.TrimSpace(c); c != "" {
			r.Commands = append(r.Commands, c)
		}
	}
	var err error
	if o.benchFile != "" {
		if r.Bench, err = parseBenchFile(o.benchFile); err != nil {
			return err
		}
	}
	if r.Sizes, err = binarySizes(o.lambdaBin, o.hostBin); err != nil {
		return err
	}

	motoLog, err := os.CreateTemp("", "perfreport-moto-*.log")
	if err != nil {
		return err
	}
	defer os.Remove(motoLog.Name())
	defer motoLog.Close()
	fmt.Fprintln(log, "perfreport: starting moto_server and the functions")
	moto, err := awskit.StartMoto(ctx, motoLog)
	if err != nil {
		return fmt.Errorf("moto_server: %w", err)
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
		return err
	}
	defer stack.Stop()
	if running := stack.Running(); len(running) != len(localrun.Providers) {
		return fmt.Errorf("only %v of the functions run; build them first (make run-bin)", running)
	}
	keys, err := devkit.DevSigners(providers.All, o.events)
	if err != nil {
		return err
	}

	fmt.Fprintln(log, "perfreport: cold starts")
	if r.Cold, err = measureColdStarts(ctx, stack, keys, o); err != nil {
		return err
	}
	fmt.Fprintln(log, "perfreport: load")
	if r.Load, err = runLoad(ctx, stack, keys, o, log); err != nil {
		return err
	}
	fmt.Fprintln(log, "perfreport: cost")
	var bare float64
	if len(r.Load) > 0 {
		bare = r.Load[0].Bare.Mean
	}
	if r.Cost, err = measureCost(ctx, stack, keys, o, bare); err != nil {
		return err
	}
	r.Elapsed = time.Since(began)

	var errs []error
	for _, l := range r.Load {
		if l.Pipeline.Errors > 0 || l.Bare.Errors > 0 {
			errs = append(errs, fmt.Errorf("load at concurrency %d: %d pipeline errors, %d bare-call errors (first: %s)", l.Concurrency, l.Pipeline.Errors, l.Bare.Errors, l.FirstError))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...) // the report is not written: a run with errors fails
	}
	doc := render(r)
	if err := os.WriteFile(o.out, []byte(doc), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(log, "perfreport: wrote %s in %s\n", o.out, r.Elapsed.Round(time.Second))
	return nil
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
