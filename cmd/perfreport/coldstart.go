package main

import (
	"context"
	"fmt"
	"time"

	"webhooks/internal/devkit"
	"webhooks/internal/devkit/kits"
	"webhooks/internal/localrun"
)

// coldStart is one function's cold starts under the emulator, medians over the runs.
type coldStart struct {
	Provider string
	Runs     int
	Up       []time.Duration // emulator process start → listening
	Init     []time.Duration // the emulator's INIT REPORT: runtime process start → first request for work
	First    []time.Duration // REPORT Duration of the first invocation (init and first secret read included)
	Second   []time.Duration // REPORT Duration of the next, warm, invocation
	// ReportInit is the REPORT line's own Init Duration, which this emulator
	// measures around an asynchronous call: shown to say why it is not used.
	ReportInit                                 []time.Duration
	UpMed, InitMed, FirstMed, SecondMed, RIMed time.Duration
}

// measureColdStarts starts each function's real bootstrap afresh under the
// Lambda Runtime Interface Emulator, opts.coldRuns times: the emulator's start,
// then its first invocation, which starts the runtime (the init phase, whose
// secret read is in it) and handles a webhook, and a second one.
func measureColdStarts(ctx context.Context, stack *localrun.Stack, keys devkit.Signers, o options) ([]coldStart, error) {
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
		for i := 0; i < o.coldRuns; i++ {
			f, err := localrun.StartFunction(ctx, localrun.FunctionConfig{
				Name: "perf-cold-" + name, Binary: p.Binary, Env: p.FunctionIn, Memory: MemoryMB,
				Emulator: stack.Emulator, EmulatorLogLevel: "info", // INIT REPORT is an info line
			})
			if err != nil {
				return nil, err
			}
			cs.Up = append(cs.Up, f.StartDuration())
			for j := range 2 {
				ev, err := devkit.Event(keys, hooks[2*i+j], time.Now())
				if err != nil {
					f.Stop()
					return nil, err
				}
				raw, rep, err := f.InvokeReport(ctx, ev)
				if err == nil {
					err = expectAccepted(raw)
				}
				if err == nil && rep.Duration == 0 {
					err = fmt.Errorf("no REPORT line for request %s", rep.RequestID)
				}
				if err == nil && j == 0 && rep.InitPhase == 0 {
					err = fmt.Errorf("no INIT REPORT line before request %s", rep.RequestID)
				}
				if err != nil {
					f.Stop()
					return nil, fmt.Errorf("cold start of %s: %w", name, err)
				}
				if j == 0 {
					cs.Init = append(cs.Init, rep.InitPhase)
					cs.ReportInit = append(cs.ReportInit, rep.InitDuration)
					cs.First = append(cs.First, rep.Duration)
				} else {
					cs.Second = append(cs.Second, rep.Duration)
				}
			}
			f.Stop()
		}
		cs.UpMed, cs.InitMed, cs.FirstMed, cs.SecondMed, cs.RIMed = medianDur(cs.Up), medianDur(cs.Init), medianDur(cs.First), medianDur(cs.Second), medianDur(cs.ReportInit)
		out = append(out, cs)
	}
	return out, nil
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

func medianDur(v []time.Duration) time.Duration {
	f := make([]float64, len(v))
	for i, d := range v {
		f[i] = float64(d)
	}
	return time.Duration(median(f))
}
