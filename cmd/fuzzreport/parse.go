package main

import (
	"bufio"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// outcome is what one `go test -fuzz` run did.
type outcome struct {
	Target target
	// Passed: go test exited 0, reported no failure, and fuzzed (executions
	// counted); anything else fails the run.
	Passed bool
	// Why it failed: the go test lines that say so.
	Failure string
	// From the last statistics line of the fuzzer.
	Execs, NewInteresting int64
	Fuzzing               time.Duration // the fuzzer's own elapsed time
	Wall                  time.Duration // the whole go test, build included
}

// The fuzzer's statistics line, e.g.
// "fuzz: elapsed: 4s, execs: 160314 (75741/sec), new interesting: 0 (total: 1)".
var statsLine = regexp.MustCompile(`^fuzz: elapsed: (\d+)s, execs: (\d+) \(\d+/sec\), new interesting: (\d+) \(total: \d+\)`)

// parseOutput reads go test -fuzz output and the command's error (nil when
// it exited 0). It passes only when the command succeeded, no line says FAIL
// or panic, and the fuzzer reported executions: a pattern that matches no
// fuzz test exits 0 having fuzzed nothing ("no fuzz tests to fuzz"), and that
// is a failure too.
func parseOutput(t target, out string, runErr error) outcome {
	o := outcome{Target: t}
	var failures []string
	stats := false
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if m := statsLine.FindStringSubmatch(line); m != nil {
			secs, _ := strconv.ParseInt(m[1], 10, 64)
			o.Fuzzing = time.Duration(secs) * time.Second
			o.Execs, _ = strconv.ParseInt(m[2], 10, 64)
			o.NewInteresting, _ = strconv.ParseInt(m[3], 10, 64)
			stats = true
			continue
		}
		switch {
		case strings.HasPrefix(trimmed, "--- FAIL"), strings.HasPrefix(line, "FAIL"), strings.HasPrefix(line, "panic: "),
			strings.HasPrefix(trimmed, "Failing input written to"), strings.HasPrefix(line, "fatal error: "),
			strings.HasPrefix(line, "testing: warning: no fuzz tests to fuzz"):
			failures = append(failures, trimmed)
		}
	}
	switch {
	case runErr != nil:
		failures = append([]string{fmt.Sprintf("go test: %v", runErr)}, failures...)
	case len(failures) == 0 && (!stats || o.Execs == 0):
		failures = append(failures, "the fuzzer reported no executions")
	}
	if len(failures) > 0 {
		o.Failure = strings.Join(failures, "; ")
		return o
	}
	o.Passed = true
	return o
}
