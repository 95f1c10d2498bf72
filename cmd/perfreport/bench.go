package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"webhooks/internal/localrun"
)

// benchResult is one benchmark, the median of its runs.
type benchResult struct {
	Pkg, Name        string
	Runs             int
	NsOp, MBs        float64
	BytesOp, Allocs  float64
	MinNsOp, MaxNsOp float64
}

// parseBenchFile reads `go test -bench -benchmem` output (any -count) and
// returns the median of each benchmark's runs, in the order first seen. An
// output with a failure in it (a failed benchmark, test or package, a panic)
// is an error: a report is made from passing runs only.
func parseBenchFile(path string) ([]benchResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	type acc struct {
		pkg, name              string
		ns, mbs, bytes, allocs []float64
	}
	var order []string
	all := map[string]*acc{}
	pkg := ""
	sc := bufio.NewScanner(f)
	var failed []string
	for sc.Scan() {
		line := sc.Text()
		if benchFailure(line) {
			failed = append(failed, strings.TrimSpace(line))
			continue
		}
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		name := fields[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i] // the GOMAXPROCS suffix
			}
		}
		key := pkg + " " + name
		a := all[key]
		if a == nil {
			a = &acc{pkg: pkg, name: name}
			all[key] = a
			order = append(order, key)
		}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			switch fields[i+1] {
			case "ns/op":
				a.ns = append(a.ns, v)
			case "MB/s":
				a.mbs = append(a.mbs, v)
			case "B/op":
				a.bytes = append(a.bytes, v)
			case "allocs/op":
				a.allocs = append(a.allocs, v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(failed) > 0 {
		return nil, fmt.Errorf("%s records a failed run: %s", path, strings.Join(failed, "; "))
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("%s holds no benchmark results", path)
	}
	var out []benchResult
	for _, k := range order {
		a := all[k]
		r := benchResult{Pkg: a.pkg, Name: a.name, Runs: len(a.ns), NsOp: median(a.ns), MBs: median(a.mbs), BytesOp: median(a.bytes), Allocs: median(a.allocs)}
		if len(a.ns) > 0 {
			s := append([]float64(nil), a.ns...)
			sort.Float64s(s)
			r.MinNsOp, r.MaxNsOp = s[0], s[len(s)-1]
		}
		out = append(out, r)
	}
	return out, nil
}

// benchFailure: a line of go test output that says something failed.
func benchFailure(line string) bool {
	t := strings.TrimSpace(line)
	return t == "FAIL" || strings.HasPrefix(line, "FAIL\t") || strings.HasPrefix(t, "--- FAIL") ||
		strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ")
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// binarySize is one function's bootstrap sizes.
type binarySize struct {
	Provider     string
	Lambda, Host int64 // bytes; 0 when missing
}

func binarySizes(lambdaDir, hostDir string) ([]binarySize, error) {
	var out []binarySize
	for _, p := range localrun.Providers {
		s := binarySize{Provider: p}
		if fi, err := os.Stat(filepath.Join(lambdaDir, p, "bootstrap")); err == nil {
			s.Lambda = fi.Size()
		}
		fi, err := os.Stat(filepath.Join(hostDir, p, "bootstrap"))
		if err != nil {
			return nil, fmt.Errorf("host bootstrap of %s: %w (run make run-bin)", p, err)
		}
		s.Host = fi.Size()
		out = append(out, s)
	}
	return out, nil
}
