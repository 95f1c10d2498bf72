// Command fuzzreport runs every fuzz test of the repository's modules with
// `go test -fuzz` for a set time each, one after another, and then, only if
// every one of them passed, writes what the run did (targets, executions,
// new interesting inputs, time, commit, date) between the fuzz markers of
// docs/RELIABILITY.md. A crash, a failure or a target that fuzzed nothing
// leaves the document as it was and exits non-zero. `make fuzz` runs it.
//
// The targets are found in the source (every func FuzzXxx(*testing.F) in a
// test file), not listed by hand: a new fuzz test is fuzzed and reported
// without anyone remembering to add it.
package main

import (
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
	"strings"
	"syscall"
	"time"
)

type options struct {
	root     string   // the repository root
	modules  []string // module directories, relative to root
	fuzztime string   // go test -fuzztime
	report   string   // the document to write ("" writes nothing)
	command  string   // the command line the report names
	targets  string   // a subset ("pkg:Func ..."); the report is then not written
	list     bool
}

func main() {
	var o options
	var modules string
	flag.StringVar(&o.root, "root", ".", "the repository root")
	flag.StringVar(&modules, "modules", ". consumer", "the Go modules' directories, relative to -root, space-separated")
	flag.StringVar(&o.fuzztime, "fuzztime", "30s", "go test -fuzztime for each target")
	flag.StringVar(&o.report, "report", "docs/RELIABILITY.md", "the document whose fuzz section is rewritten after a run where every target passed (empty: none)")
	flag.StringVar(&o.command, "command", "", "the command line to name in the report (default: this command's)")
	flag.StringVar(&o.targets, "targets", "", "fuzz only these targets (pkg:Func, space- or comma-separated); the report is then not written")
	flag.BoolVar(&o.list, "list", false, "list the fuzz targets and exit")
	flag.Parse()
	o.modules = strings.Fields(modules)
	if o.command == "" {
		o.command = "go run ./cmd/fuzzreport " + strings.Join(os.Args[1:], " ")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, goTest, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "fuzzreport: %v\n", err)
		stop()
		os.Exit(1)
	}
}

// fuzzer runs one target for fuzztime and returns its combined output
// (also streamed to w) and the command's error.
type fuzzer func(ctx context.Context, root string, t target, fuzztime string, w io.Writer) (string, error)

// targetTimeout bounds one target's go test beyond its fuzztime: the build,
// the baseline coverage of its corpus, and the end. Go's fuzzing coordinator
// can wait forever for workers that failed to start (seen with Go 1.26 on a
// loaded machine), and one such target must not hang the whole run.
var targetTimeout = 15 * time.Minute

// goTest runs `go test -short -run ^$ -fuzz ^Func$ -fuzztime T ./dir` in the
// target's module, in its own process group, killed whole if it outlasts
// fuzztime by targetTimeout. -short selects no fuzz input (the fuzz tests
// have no short mode) but keeps the packages' TestMain from starting
// moto_server in the coordinator and in every fuzzing worker: fuzz tests make
// no AWS call.
func goTest(ctx context.Context, root string, t target, fuzztime string, w io.Writer) (string, error) {
	limit := targetTimeout
	if d, err := time.ParseDuration(fuzztime); err == nil {
		limit += d
	} else {
		limit *= 2 // a count of executions: no duration to add
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-short", "-run", "^$", "-fuzz", "^"+t.Func+"$", "-fuzztime", fuzztime, "./"+t.Dir)
	cmd.Dir = filepath.Join(root, t.Module)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var buf bytes.Buffer
	cmd.Stdout = io.MultiWriter(w, &buf)
	cmd.Stderr = cmd.Stdout
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("killed after %s (fuzztime %s): %w", limit, fuzztime, err)
	}
	return buf.String(), err
}

// run is the whole command: find the targets, fuzz each (all of them, even
// after a failure, so that one run shows every failure), print the table,
// and write it into the report only if every target of the repository ran
// and passed.
func run(ctx context.Context, o options, fuzz fuzzer, w io.Writer) error {
	all, err := discover(o.root, o.modules)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		return errors.New("no fuzz targets found")
	}
	if o.list {
		for _, t := range all {
			fmt.Fprintln(w, t)
		}
		return nil
	}
	targets := all
	if o.targets != "" {
		if targets, err = selectTargets(all, o.targets); err != nil {
			return err
		}
	}
	if _, err := time.ParseDuration(o.fuzztime); err != nil && !strings.HasSuffix(o.fuzztime, "x") {
		return fmt.Errorf("-fuzztime %q: a duration, or a count such as 1000x", o.fuzztime)
	}
	// The document is read, and its markers checked, before hours of fuzzing.
	var doc []byte
	if o.report != "" && o.targets == "" {
		if doc, err = os.ReadFile(filepath.Join(o.root, o.report)); err != nil {
			return err
		}
		if _, err := replaceSection(doc, ""); err != nil {
			return fmt.Errorf("%s: %w", o.report, err)
		}
	}
	r := campaign{Command: o.command, FuzzTime: o.fuzztime, Date: time.Now().UTC(), Commit: gitCommit(o.root),
		CPUs: runtime.NumCPU(), Go: runtime.Version()}
	began := time.Now()
	for i, t := range targets {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fmt.Fprintf(w, "== %d/%d %s (%s)\n", i+1, len(targets), t, o.fuzztime)
		t0 := time.Now()
		out, runErr := fuzz(ctx, o.root, t, o.fuzztime, w)
		res := parseOutput(t, out, runErr)
		res.Wall = time.Since(t0)
		r.Results = append(r.Results, res)
	}
	r.Elapsed = time.Since(began)
	table := r.render()
	fmt.Fprintf(w, "\n%s\n", table)
	var failed []string
	for _, res := range r.Results {
		if !res.Passed {
			failed = append(failed, fmt.Sprintf("%s: %s", res.Target, res.Failure))
		}
	}
	switch {
	case len(failed) > 0:
		return fmt.Errorf("%d of %d targets failed, %s left unchanged:\n  %s", len(failed), len(targets), reportName(o), strings.Join(failed, "\n  "))
	case o.report == "":
		return nil
	case o.targets != "":
		fmt.Fprintf(w, "fuzzreport: a subset of the targets ran: %s left unchanged\n", o.report)
		return nil
	}
	// Found again: a target added while the run went on would be missing.
	now, err := discover(o.root, o.modules)
	if err != nil {
		return err
	}
	if fmt.Sprint(now) != fmt.Sprint(all) {
		return fmt.Errorf("the fuzz targets changed during the run (%v, now %v): %s left unchanged", all, now, o.report)
	}
	updated, err := replaceSection(doc, table)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(o.root, o.report), updated); err != nil {
		return err
	}
	fmt.Fprintf(w, "fuzzreport: every target passed; wrote the fuzz section of %s\n", o.report)
	return nil
}

func reportName(o options) string {
	if o.report == "" {
		return "no report"
	}
	return o.report
}

// writeFileAtomic replaces path through a temporary file in its directory.
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

// gitCommit is HEAD's short hash and whether the working tree had changes
// ("-dirty"); "unknown" outside a git checkout.
func gitCommit(root string) string {
	git := func(args ...string) ([]byte, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir = root
		return cmd.Output()
	}
	head, err := git("rev-parse", "--short=12", "HEAD")
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(head))
	if st, err := git("status", "--porcelain", "--untracked-files=no"); err != nil || len(bytes.TrimSpace(st)) > 0 {
		c += "-dirty"
	}
	return c
}
