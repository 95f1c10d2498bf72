package main

import (
	"context"
	"fmt"
	"time"

	"webhooks/internal/hookgen"
	"webhooks/internal/lambdarun"
	"webhooks/internal/localrun"
	"webhooks/internal/signer"
)

// coldStart is one function's cold starts, medians over the runs.
type coldStart struct {
	Provider                     string
	Runs                         int
	Init                         []time.Duration // process start → first /next
	First, Second                []time.Duration // first invocation (first secret read included), then a warm one
	InitMed, FirstMed, SecondMed time.Duration
}

// measureColdStarts starts each function's real bootstrap afresh, opts.coldRuns
// times: the time until it asks the Runtime API for work, then its first
// invocation (which reads the secret from Secrets Manager) and a second one.
func measureColdStarts(ctx context.Context, stack *localrun.Stack, keys signer.Keys, o options) ([]coldStart, error) {
	var out []coldStart
	tag := fmt.Sprintf("cold%d-", time.Now().UnixNano())
	for _, name := range localrun.Providers {
		p := stack.Providers[name]
		hooks, err := hookgen.Generate(o.events, name, tag, 2*o.coldRuns)
		if err != nil {
			return nil, err
		}
		cs := coldStart{Provider: name, Runs: o.coldRuns}
		for i := 0; i < o.coldRuns; i++ {
			f, err := lambdarun.Start(ctx, lambdarun.Config{
				Name: "perf-cold-" + name, Binary: p.Binary, Env: p.FunctionIn, Memory: 256, Region: stack.AWS.Region,
			})
			if err != nil {
				return nil, err
			}
			cs.Init = append(cs.Init, f.InitDuration())
			for j, dst := range []*[]time.Duration{&cs.First, &cs.Second} {
				ev, err := hookgen.Event(keys, hooks[2*i+j], time.Now())
				if err != nil {
					f.Stop()
					return nil, err
				}
				t0 := time.Now()
				raw, err := f.Invoke(ctx, ev)
				d := time.Since(t0)
				if err == nil {
					err = expectAccepted(raw)
				}
				if err != nil {
					f.Stop()
					return nil, fmt.Errorf("cold start of %s: %w", name, err)
				}
				*dst = append(*dst, d)
			}
			f.Stop()
		}
		cs.InitMed, cs.FirstMed, cs.SecondMed = medianDur(cs.Init), medianDur(cs.First), medianDur(cs.Second)
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
