package main

import (
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"webhooks/internal/devkit"
	"webhooks/internal/devkit/kits"
	"webhooks/internal/localrun"
)

// ReferencePkg is the cold-start reference function (never deployed): it loads
// the SDK's default configuration and reads one secret at init, then answers.
const ReferencePkg = "./internal/devkit/reffunc"

// lambdaFlags are the Makefile's LAMBDA_FLAGS without -ldflags, which differs
// between the stripped bootstrap and the build read for its symbols.
var lambdaFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-buildvcs=false"}

// coldStart is one function's cold starts under the emulator, interleaved with
// as many of the reference function's, medians over the runs.
type coldStart struct {
	Provider string
	Runs     int
	Up       []time.Duration // emulator process start → listening
	Init     []time.Duration // the emulator's INIT REPORT: runtime process start → first request for work
	First    []time.Duration // REPORT Duration of the first invocation (init and first secret read included)
	Second   []time.Duration // REPORT Duration of the next, warm, invocation
	// TTFR is the time to first response: the first invocation sent (to a
	// listening emulator, which then starts the runtime) until its answer is
	// read, on the caller's clock.
	TTFR []time.Duration
	// ReportInit is the REPORT line's own Init Duration, which this emulator
	// measures around an asynchronous call: shown to say why it is not used.
	ReportInit []time.Duration
	// RefInit and RefTTFR are the reference function's, in the same rounds.
	RefInit, RefTTFR                           []time.Duration
	UpMed, InitMed, FirstMed, SecondMed, RIMed time.Duration
	TTFRMed, RefInitMed, RefTTFRMed            time.Duration
}

// Ratio is the function's median time to first response over the reference's.
func (c coldStart) Ratio() float64 {
	if c.RefTTFRMed <= 0 {
		return 0
	}
	return float64(c.TTFRMed) / float64(c.RefTTFRMed)
}

// ColdPart is what the cold start adds to the first response: its time less
// the same function's warm invocation of a webhook (the calls a webhook makes
// whenever it comes, which the reference, answering an empty request, does
// not make).
func (c coldStart) ColdPart() time.Duration { return max(c.TTFRMed-c.SecondMed, 0) }

// ColdRatio is ColdPart over the reference's time to first response: the
// cold start against the reference, like for like.
func (c coldStart) ColdRatio() float64 {
	if c.RefTTFRMed <= 0 {
		return 0
	}
	return float64(c.ColdPart()) / float64(c.RefTTFRMed)
}

// measureColdStarts starts each function's real bootstrap afresh under the
// Lambda Runtime Interface Emulator, opts.coldRuns times, each time next to a
// fresh start of the reference function (ref, a host bootstrap) with the same
// environment, the two in alternating order: the emulator's start, then its
// first invocation, which starts the runtime (the init phase, whose secret read
// is in it) and handles a webhook, and a second one. Any error fails the run.
func measureColdStarts(ctx context.Context, stack *localrun.Stack, keys devkit.Signers, ref string, o options) ([]coldStart, error) {
	var out []coldStart
	tag := fmt.Sprintf("cold%d-", time.Now().UnixNano())
	for _, kit := range kits.All {
		name := kit.Name
		p := stack.Providers[name]
		hooks, err := devkit.Generate(o.events, kit, tag, 2*o.coldRuns)
		if err != nil {
			return nil, err
		}
		cs := coldStart{Provider: name, Runs: o.coldRuns}
		start := func(binary string) (*localrun.Function, error) {
			return localrun.StartFunction(ctx, localrun.FunctionConfig{
				Name: "perf-cold-" + name, Binary: binary, Env: p.FunctionIn, Memory: MemoryMB,
				Emulator: stack.Emulator, EmulatorLogLevel: "info", // INIT REPORT is an info line
			})
		}
		receiver := func(i int) error {
			f, err := start(p.Binary)
			if err != nil {
				return err
			}
			defer f.Stop()
			cs.Up = append(cs.Up, f.StartDuration())
			for j := range 2 {
				ev, err := devkit.Event(keys, hooks[2*i+j], time.Now())
				if err != nil {
					return err
				}
				began := time.Now()
				raw, rep, err := f.InvokeReport(ctx, ev)
				took := time.Since(began)
				if err == nil {
					err = expectAccepted(raw)
				}
				if err == nil {
					err = checkReport(rep, j == 0)
				}
				if err != nil {
					return fmt.Errorf("cold start of %s: %w", name, err)
				}
				if j == 0 {
					cs.Init = append(cs.Init, rep.InitPhase)
					cs.ReportInit = append(cs.ReportInit, rep.InitDuration)
					cs.First = append(cs.First, rep.Duration)
					cs.TTFR = append(cs.TTFR, took)
				} else {
					cs.Second = append(cs.Second, rep.Duration)
				}
			}
			return nil
		}
		reference := func() error {
			f, err := start(ref)
			if err != nil {
				return err
			}
			defer f.Stop()
			began := time.Now()
			raw, rep, err := f.InvokeReport(ctx, []byte(`{}`))
			took := time.Since(began)
			if err == nil {
				err = expectStatus(raw, 200)
			}
			if err == nil {
				err = checkReport(rep, true)
			}
			if err != nil {
				return fmt.Errorf("cold start of the reference function beside %s: %w", name, err)
			}
			cs.RefInit = append(cs.RefInit, rep.InitPhase)
			cs.RefTTFR = append(cs.RefTTFR, took)
			return nil
		}
		for i := 0; i < o.coldRuns; i++ {
			steps := []func() error{func() error { return receiver(i) }, reference}
			if i%2 == 1 {
				steps[0], steps[1] = steps[1], steps[0]
			}
			for _, step := range steps {
				if err := step(); err != nil {
					return nil, err
				}
			}
		}
		cs.UpMed, cs.InitMed, cs.FirstMed, cs.SecondMed, cs.RIMed = medianDur(cs.Up), medianDur(cs.Init), medianDur(cs.First), medianDur(cs.Second), medianDur(cs.ReportInit)
		cs.TTFRMed, cs.RefInitMed, cs.RefTTFRMed = medianDur(cs.TTFR), medianDur(cs.RefInit), medianDur(cs.RefTTFR)
		out = append(out, cs)
	}
	return out, nil
}

// checkReport checks that the emulator reported the invocation, and the init
// phase of a first one.
func checkReport(rep localrun.Report, first bool) error {
	switch {
	case rep.Duration == 0:
		return fmt.Errorf("no REPORT line for request %s", rep.RequestID)
	case first && rep.InitPhase == 0:
		return fmt.Errorf("no INIT REPORT line before request %s", rep.RequestID)
	}
	return nil
}

// expectAccepted checks a function's response: 200 and outcome accepted.
func expectAccepted(raw []byte) error {
	res, err := localrun.ParseResponse(raw)
	if err != nil {
		return err
	}
	if res.Status != 200 || res.Header.Get("X-Webhook-Outcome") != "accepted" {
		return fmt.Errorf("answered %d %q: %s", res.Status, res.Header.Get("X-Webhook-Outcome"), res.Body)
	}
	return nil
}

// expectStatus checks a function's response status.
func expectStatus(raw []byte, status int) error {
	res, err := localrun.ParseResponse(raw)
	if err != nil {
		return err
	}
	if res.Status != status {
		return fmt.Errorf("answered %d, want %d: %s", res.Status, status, res.Body)
	}
	return nil
}

func medianDur(v []time.Duration) time.Duration {
	f := make([]float64, len(v))
	for i, d := range v {
		f[i] = float64(d)
	}
	return time.Duration(median(f))
}

// buildHost builds pkg for this machine into dir/name as `make run-bin` builds
// the bootstraps (stripped: -s -w), or with its symbols when symbols is set.
func buildHost(ctx context.Context, pkg, dir, name string, symbols bool) (string, error) {
	out := filepath.Join(dir, name)
	args := append([]string{"build"}, lambdaFlags...)
	if !symbols {
		args = append(args, "-ldflags", "-s -w -buildid=")
	}
	args = append(args, "-o", out, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return out, nil
}

// composition is what a binary is made of: the bytes of its symbols in the
// file (code, read-only and initialised data; not bss), by part.
type composition struct {
	Name  string
	File  int64            // the stripped binary's size
	Parts map[string]int64 // part → bytes
	Total int64            // all symbols' bytes
}

// measureComposition builds each function and the reference with symbols
// (the same flags as their bootstraps otherwise) and sums their symbols' sizes
// by part (partOf).
func measureComposition(ctx context.Context, sizes []binarySize, refFile int64) ([]composition, error) {
	dir, err := os.MkdirTemp("", "perfreport-nm-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var out []composition
	add := func(name, pkg string, file int64) error {
		bin, err := buildHost(ctx, pkg, dir, name, true)
		if err != nil {
			return err
		}
		c, err := symbolSizes(bin)
		if err != nil {
			return fmt.Errorf("symbols of %s: %w", name, err)
		}
		c.Name, c.File = name, file
		out = append(out, c)
		return nil
	}
	for _, s := range sizes {
		if err := add(s.Provider, "./functions/"+s.Provider, s.Host); err != nil {
			return nil, err
		}
	}
	if err := add("reference", ReferencePkg, refFile); err != nil {
		return nil, err
	}
	return out, nil
}

// symbolSizes reads an ELF binary's symbol table (what `go tool nm -size`
// prints), counting only symbols in sections stored in the file.
func symbolSizes(path string) (composition, error) {
	f, err := elf.Open(path)
	if err != nil {
		return composition{}, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return composition{}, err
	}
	c := composition{Parts: map[string]int64{}}
	for _, s := range syms {
		if int(s.Section) >= len(f.Sections) || s.Section == elf.SHN_UNDEF {
			continue
		}
		if sec := f.Sections[s.Section]; sec.Type == elf.SHT_NOBITS {
			continue
		}
		part := partOf(s.Name)
		c.Parts[part] += int64(s.Size)
		c.Total += int64(s.Size)
	}
	return c, nil
}

// partOf names the part of the program a symbol belongs to: this module, an
// AWS SDK service client, the SDK's configuration and credential providers
// (config, credentials and the clients only they use: sts, sso, ssooidc,
// signin, imds), the SDK's core, smithy-go, aws-lambda-go, another module, or
// Go's runtime and standard library.
func partOf(sym string) string {
	pkg := symbolPackage(sym)
	const sdk = "github.com/aws/aws-sdk-go-v2/"
	switch {
	case pkg == "":
		return "Go runtime and standard library"
	case strings.HasPrefix(pkg, "webhooks/"):
		return "this module (webhooks/...)"
	case strings.HasPrefix(pkg, sdk+"service/"):
		svc, _, _ := strings.Cut(strings.TrimPrefix(pkg, sdk+"service/"), "/")
		switch svc {
		case "sts", "sso", "ssooidc", "signin":
			return "SDK configuration and credential providers"
		case "internal":
			return "SDK core"
		}
		return "SDK client: " + svc
	case strings.HasPrefix(pkg, sdk+"config"), strings.HasPrefix(pkg, sdk+"credentials"),
		strings.HasPrefix(pkg, sdk+"feature/ec2/imds"), strings.HasPrefix(pkg, sdk+"internal/ini"):
		return "SDK configuration and credential providers"
	case strings.HasPrefix(pkg, sdk), strings.HasPrefix(pkg, "github.com/aws/aws-sdk-go-v2"):
		return "SDK core"
	case strings.HasPrefix(pkg, "github.com/aws/smithy-go"):
		return "smithy-go"
	case strings.HasPrefix(pkg, "github.com/aws/aws-lambda-go"):
		return "aws-lambda-go"
	case strings.Contains(strings.SplitN(pkg, "/", 2)[0], "."):
		return "other modules"
	}
	return "Go runtime and standard library"
}

// symbolPackage is the import path of a Go symbol's package ("" for the
// linker's own symbols): the name up to the first dot after its last slash,
// without a "type:" or "go:" prefix or a method's receiver.
func symbolPackage(sym string) string {
	for _, p := range []string{"type:", "go:", "go.", "*", "("} {
		sym = strings.TrimPrefix(sym, p)
	}
	if sym == "" || strings.HasPrefix(sym, "func.") || strings.HasPrefix(sym, "string.") || strings.HasPrefix(sym, "runtime") {
		return ""
	}
	if i := strings.IndexByte(sym, '['); i >= 0 {
		sym = sym[:i] // a generic instantiation's type arguments hold other paths
	}
	last := strings.LastIndexByte(sym, '/')
	dot := strings.IndexByte(sym[last+1:], '.')
	if dot < 0 {
		return ""
	}
	return sym[:last+1+dot]
}

// compositionParts is the parts of cs, largest first (by the first binary).
func compositionParts(cs []composition) []string {
	seen := map[string]int64{}
	for _, c := range cs {
		for p, n := range c.Parts {
			seen[p] = max(seen[p], n)
		}
	}
	parts := make([]string, 0, len(seen))
	for p := range seen {
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool {
		if seen[parts[i]] != seen[parts[j]] {
			return seen[parts[i]] > seen[parts[j]]
		}
		return parts[i] < parts[j]
	})
	return parts
}
