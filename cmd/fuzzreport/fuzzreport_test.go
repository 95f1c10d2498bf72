package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const repoRoot = "../.."

var repoModules = []string{".", "consumer"}

func canned(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Outputs of real go test -fuzz runs (testdata/*.txt, made with Go 1.26 on
// a throwaway package): a pass, a crash, and a pattern that matched no fuzz
// test.
func TestParseOutput(t *testing.T) {
	tg := target{Module: ".", Dir: "x", Func: "FuzzOK"}
	pass := parseOutput(tg, canned(t, "pass.txt"), nil)
	if !pass.Passed || pass.Execs != 160314 || pass.NewInteresting != 0 || pass.Fuzzing != 4*time.Second {
		t.Errorf("pass.txt: %+v", pass)
	}
	crash := parseOutput(tg, canned(t, "crash.txt"), errors.New("exit status 1"))
	if crash.Passed || !strings.Contains(crash.Failure, "Failing input written to testdata/fuzz/FuzzCrash/1a4feb8ad1fe53b6") {
		t.Errorf("crash.txt: %+v", crash)
	}
	// The same crash, should go test ever exit 0 after it: still a failure.
	if o := parseOutput(tg, canned(t, "crash.txt"), nil); o.Passed {
		t.Errorf("crash.txt with exit status 0 passed: %+v", o)
	}
	nothing := parseOutput(tg, canned(t, "nothing.txt"), nil)
	if nothing.Passed || !strings.Contains(nothing.Failure, "no fuzz tests to fuzz") {
		t.Errorf("nothing.txt (exit status 0, nothing fuzzed): %+v", nothing)
	}
	if o := parseOutput(tg, "PASS\nok  \tx\t0.1s\n", nil); o.Passed {
		t.Errorf("an output without statistics passed: %+v", o)
	}
}

// discover finds what a plain text search of the test files finds: every
// func FuzzXxx(f *testing.F) of both modules, consumer/fieldname's FuzzRules
// among them.
func TestDiscoverFindsEveryFuzzTest(t *testing.T) {
	got, err := discover(repoRoot, repoModules)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tg := range got {
		names = append(names, tg.String())
	}
	// The oracle: a regular expression over every _test.go file outside
	// testdata, node_modules and hidden directories.
	decl := regexp.MustCompile(`(?m)^func (Fuzz[A-Z0-9_]\w*|Fuzz)\(\w+ \*testing\.F\)`)
	var want []string
	err = filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != repoRoot && (n == "testdata" || n == "node_modules" || strings.HasPrefix(n, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repoRoot, filepath.Dir(path))
		for _, m := range decl.FindAllStringSubmatch(string(b), -1) {
			want = append(want, filepath.ToSlash(rel)+":"+m[1])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(want)
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	if strings.Join(sorted, "\n") != strings.Join(want, "\n") {
		t.Errorf("discover found\n  %s\na text search finds\n  %s", strings.Join(sorted, "\n  "), strings.Join(want, "\n  "))
	}
	for _, must := range []string{"consumer/fieldname:FuzzRules", "consumer:FuzzDecodeBody", "shared/pan:FuzzRedact", "shared/jsonx:FuzzCheckObjectAgrees"} {
		if !strings.Contains(strings.Join(names, " ")+" ", must+" ") {
			t.Errorf("%s not found", must)
		}
	}
}

// A target whose go test never ends (here a stand-in for go that sleeps, with
// a child holding its output, as a fuzzing coordinator and its workers do) is
// killed, children included, once it outlasts its fuzztime by targetTimeout.
func TestHungTargetIsKilled(t *testing.T) {
	bin := t.TempDir()
	pidFile := filepath.Join(bin, "child.pid")
	script := "#!/bin/sh\nsleep 300 &\necho $! > " + pidFile + "\necho fuzz: elapsed: 0s, gathering baseline coverage: 0/7 completed\nwait\n"
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	old := targetTimeout
	targetTimeout = 500 * time.Millisecond
	defer func() { targetTimeout = old }()
	done := make(chan struct{})
	var out string
	var err error
	go func() {
		defer close(done)
		out, err = goTest(context.Background(), t.TempDir(), target{Module: ".", Dir: "p", Func: "FuzzX"}, "1s", io.Discard)
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("goTest has not returned 60 s after its limit")
	}
	if err == nil || !strings.Contains(err.Error(), "killed after 1.5s") {
		t.Errorf("err = %v, want the limit named", err)
	}
	if o := parseOutput(target{Func: "FuzzX"}, out, err); o.Passed {
		t.Errorf("a killed target passed: %+v", o)
	}
	b, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid == 0 {
		t.Fatalf("the child's pid: %q", b)
	}
	// Killed: gone, or a zombie its new parent has not reaped yet.
	deadline := time.Now().Add(30 * time.Second)
	for running(pid) {
		if time.Now().After(deadline) {
			t.Errorf("the child (pid %d) outlived the kill", pid)
			syscall.Kill(pid, syscall.SIGKILL)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// running: the process exists and is not a zombie.
func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil && !errors.Is(err, os.ErrNotExist)
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// A throwaway repository: a module with two fuzz tests and a document with
// the fuzz markers between other text.
func fakeRepo(t *testing.T) (root, before string) {
	t.Helper()
	root = t.TempDir()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "p", "testdata"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "docs"), 0o755))
	must(os.WriteFile(filepath.Join(root, "go.mod"), []byte("module fake\n\ngo 1.26\n"), 0o644))
	// FUNC, not func: the declarations in this file are not fuzz tests of
	// this package, and TestDiscoverFindsEveryFuzzTest's text search must
	// not take them for some.
	src := strings.ReplaceAll(`package p

import "testing"

FUNC FuzzA(f *testing.F) { f.Fuzz(func(t *testing.T, b []byte) {}) }

FUNC FuzzB(f *testing.F) { f.Fuzz(func(t *testing.T, b []byte) {}) }

FUNC Fuzzy(f *testing.F) {} // not a fuzz test: a lower-case letter after Fuzz

FUNC FuzzC(t *testing.T) {} // not a fuzz test: no *testing.F
`, "FUNC", "func")
	must(os.WriteFile(filepath.Join(root, "p", "p_test.go"), []byte(src), 0o644))
	must(os.WriteFile(filepath.Join(root, "p", "testdata", "x_test.go"), []byte("package x\n\nimport \"testing\"\n\nfunc FuzzIgnored(f *testing.F) {}\n"), 0o644))
	before = "# Reliability\n\nprose before\n\n<!-- fuzz:begin -->\nthe table of the last run that passed\n<!-- fuzz:end -->\n\nprose after\n"
	must(os.WriteFile(filepath.Join(root, "docs", "R.md"), []byte(before), 0o644))
	return root, before
}

// fakeFuzzer answers each target with a canned output.
func fakeFuzzer(outputs map[string]string) (fuzzer, *[]string) {
	var ran []string
	return func(_ context.Context, _ string, tg target, fuzztime string, w io.Writer) (string, error) {
		ran = append(ran, tg.String()+" "+fuzztime)
		out := outputs[tg.Func]
		io.WriteString(w, out)
		if strings.Contains(out, "--- FAIL") {
			return out, errors.New("exit status 1")
		}
		return out, nil
	}, &ran
}

func TestRunWritesTheSectionOnlyWhenEveryTargetPassed(t *testing.T) {
	for _, c := range []struct {
		name    string
		outputs map[string]string
	}{
		{"a crash", map[string]string{"FuzzA": "pass.txt", "FuzzB": "crash.txt"}},
		{"a target that fuzzed nothing", map[string]string{"FuzzA": "nothing.txt", "FuzzB": "pass.txt"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root, before := fakeRepo(t)
			outs := map[string]string{}
			for k, v := range c.outputs {
				outs[k] = canned(t, v)
			}
			fz, ran := fakeFuzzer(outs)
			err := run(context.Background(), options{root: root, modules: []string{"."}, fuzztime: "10s", report: "docs/R.md", command: "make fuzz"}, fz, io.Discard)
			if err == nil {
				t.Fatal("the run passed")
			}
			if len(*ran) != 2 {
				t.Errorf("ran %v: want both targets, even after a failure", *ran)
			}
			if got, _ := os.ReadFile(filepath.Join(root, "docs", "R.md")); string(got) != before {
				t.Errorf("the document changed:\n%s", got)
			}
		})
	}

	t.Run("every target passed", func(t *testing.T) {
		root, before := fakeRepo(t)
		fz, ran := fakeFuzzer(map[string]string{"FuzzA": canned(t, "pass.txt"), "FuzzB": canned(t, "pass.txt")})
		if err := run(context.Background(), options{root: root, modules: []string{"."}, fuzztime: "10s", report: "docs/R.md", command: "make fuzz FUZZTIME=10s"}, fz, io.Discard); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(*ran) != "[p:FuzzA 10s p:FuzzB 10s]" {
			t.Errorf("ran %v", *ran)
		}
		got, _ := os.ReadFile(filepath.Join(root, "docs", "R.md"))
		doc := string(got)
		head, _, _ := strings.Cut(before, "<!-- fuzz:begin")
		_, tail, _ := strings.Cut(before, "<!-- fuzz:end -->")
		if !strings.HasPrefix(doc, head) || !strings.HasSuffix(doc, tail) {
			t.Errorf("the text around the section changed:\n%s", doc)
		}
		for _, want := range []string{
			beginLine + "\nRun: `make fuzz FUZZTIME=10s` on ", " UTC, commit `unknown` (clean tree), ", ": 2 targets, each fuzzed for 10s, every one passed; ",
			"| `FuzzA` | `p` | 160,314 | 0 | 4s | ", "| `FuzzB` | `p` | 160,314 | 0 | 4s | ",
		} {
			if !strings.Contains(doc, want) {
				t.Errorf("the section lacks %q:\n%s", want, doc)
			}
		}
		if strings.Contains(doc, "the table of the last run") {
			t.Errorf("the old section is still there:\n%s", doc)
		}
	})

	t.Run("a subset", func(t *testing.T) {
		root, before := fakeRepo(t)
		fz, ran := fakeFuzzer(map[string]string{"FuzzB": canned(t, "pass.txt")})
		if err := run(context.Background(), options{root: root, modules: []string{"."}, fuzztime: "1s", report: "docs/R.md", targets: "p:FuzzB"}, fz, io.Discard); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(*ran) != "[p:FuzzB 1s]" {
			t.Errorf("ran %v", *ran)
		}
		if got, _ := os.ReadFile(filepath.Join(root, "docs", "R.md")); string(got) != before {
			t.Errorf("a subset run changed the document:\n%s", got)
		}
		if err := run(context.Background(), options{root: root, modules: []string{"."}, fuzztime: "1s", targets: "p:FuzzNope"}, fz, io.Discard); err == nil {
			t.Errorf("an unknown target was accepted")
		}
	})

	t.Run("no markers", func(t *testing.T) {
		root, _ := fakeRepo(t)
		os.WriteFile(filepath.Join(root, "docs", "R.md"), []byte("no markers\n"), 0o644)
		fz, ran := fakeFuzzer(nil)
		if err := run(context.Background(), options{root: root, modules: []string{"."}, fuzztime: "1s", report: "docs/R.md"}, fz, io.Discard); err == nil || len(*ran) != 0 {
			t.Errorf("a document without markers: err %v, ran %v; want an error before any fuzzing", err, *ran)
		}
	})
}

func TestReplaceSection(t *testing.T) {
	doc := "a\r\nb\n<!-- fuzz:begin old -->\nold\n<!-- fuzz:end -->\nc"
	got, err := replaceSection([]byte(doc), "new")
	if err != nil {
		t.Fatal(err)
	}
	if want := "a\r\nb\n" + beginLine + "\nnew\n<!-- fuzz:end -->\nc"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, bad := range []string{
		"no markers", "<!-- fuzz:begin -->\n", "<!-- fuzz:end -->\n<!-- fuzz:begin -->\n",
		"<!-- fuzz:begin -->\n<!-- fuzz:begin -->\n<!-- fuzz:end -->\n", "<!-- fuzz:begin -->\n<!-- fuzz:end -->\n<!-- fuzz:end -->\n",
	} {
		if _, err := replaceSection([]byte(bad), "x"); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

// docs/RELIABILITY.md: the table of properties above the fuzz section
// (prose, no numbers) describes every fuzz test there is.
func TestReliabilityDocumentDescribesEveryTarget(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "docs", "RELIABILITY.md"))
	if err != nil {
		t.Fatal(err)
	}
	props, _, _ := strings.Cut(string(b), beginMarker)
	_, props, _ = strings.Cut(props, "## 2. Fuzzing")
	all, err := discover(repoRoot, repoModules)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range all {
		row := regexp.MustCompile("(?m)^\\| `" + tg.Func + "` \\| `" + regexp.QuoteMeta(tg.Pkg()) + "`")
		if !row.MatchString(props) {
			t.Errorf("docs/RELIABILITY.md's table of fuzz properties has no row for %s (package %s): add one", tg.Func, tg.Pkg())
		}
	}
}

// docs/RELIABILITY.md: the fuzz results are the section fuzzreport writes
// after a run where every target passed, not a table written by hand.
func TestReliabilityFuzzSectionIsGenerated(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "docs", "RELIABILITY.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), beginLine+"\n")
	if !ok {
		t.Fatalf("docs/RELIABILITY.md has no line %q: its fuzz section is not fuzzreport's (run make fuzz)", beginLine)
	}
	section, _, _ = strings.Cut(section, endLine)
	head := regexp.MustCompile("^Run: `make fuzz[^`]*` on \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC, commit `[0-9a-f]+` \\((clean tree|with uncommitted changes)\\), " +
		"\\d+ CPUs, go[^:]+: (\\d+) targets, each fuzzed for [^,]+, every one passed; ")
	m := head.FindStringSubmatch(section)
	if m == nil {
		t.Fatalf("the fuzz section does not start as fuzzreport writes it:\n%.300s", section)
	}
	rows := regexp.MustCompile("(?m)^\\| `Fuzz\\w*` \\| `[^`]+` \\| [\\d,]+ \\| [\\d,]+ \\| [^|]+ \\| [^|]+ \\| pass \\|$").FindAllString(section, -1)
	if strconv.Itoa(len(rows)) != m[2] || !strings.Contains(section, "| target | package | executions | new interesting inputs | fuzzing | wall (build included) | result |") {
		t.Errorf("the fuzz section names %s targets and has %d rows of fuzzreport's:\n%s", m[2], len(rows), section)
	}
}
