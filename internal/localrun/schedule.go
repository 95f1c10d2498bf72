package localrun

// The scheduled redrive runs, as the stack schedules them: each running
// function is invoked with each run's command (spec.RedriveRun) at the run's
// own rate, like the EventBridge rule the template creates. Speed divides the
// intervals, for demos (a 5-minute run every 5 seconds at Speed 60).

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"webhooks/infra/spec"
)

// DefaultRuns are the runs the local run fires unless told otherwise: the
// stack's defaults.
func DefaultRuns() []spec.RedriveRun {
	return []spec.RedriveRun{spec.DefaultRedrive, spec.DefaultRedriveSweep}
}

// ScheduleOptions configure the local schedules.
type ScheduleOptions struct {
	// Runs are the scheduled runs; default DefaultRuns().
	Runs []spec.RedriveRun
	// Speed divides every interval (1: the template's own rates).
	Speed float64
	// Report receives each run's function and reply (or error); nil discards.
	Report func(provider string, run spec.RedriveRun, reply []byte, err error)
}

// Schedules fires the redrive runs until Stop.
type Schedules struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// Intervals are the effective intervals, in the order of the runs.
	Intervals []time.Duration
}

// StartSchedules starts the runs on every running function of the stack.
func (s *Stack) StartSchedules(ctx context.Context, o ScheduleOptions) (*Schedules, error) {
	fns := map[string]Invoker{}
	for _, name := range s.Running() {
		fns[name] = s.Providers[name].Function
	}
	return StartSchedules(ctx, fns, o)
}

// StartSchedules starts the runs on every function of fns (by provider). A
// run whose schedule is not a rate (a cron expression) is refused: the local
// run fires rates only.
func StartSchedules(ctx context.Context, fns map[string]Invoker, o ScheduleOptions) (*Schedules, error) {
	if o.Runs == nil {
		o.Runs = DefaultRuns()
	}
	if o.Speed <= 0 {
		o.Speed = 1
	}
	if o.Report == nil {
		o.Report = func(string, spec.RedriveRun, []byte, error) {}
	}
	sch := &Schedules{}
	var payloads [][]byte
	for _, run := range o.Runs {
		if run.Schedule.Off() {
			sch.Intervals = append(sch.Intervals, 0)
			payloads = append(payloads, nil)
			continue
		}
		if run.Schedule.Interval <= 0 {
			return nil, fmt.Errorf("localrun: schedule %s: only rate(...) schedules run locally", run.Schedule.Expression)
		}
		b, err := json.Marshal(run.Command())
		if err != nil {
			return nil, err
		}
		sch.Intervals = append(sch.Intervals, max(time.Duration(float64(run.Schedule.Interval)/o.Speed), time.Second))
		payloads = append(payloads, b)
	}
	ctx, sch.cancel = context.WithCancel(ctx)
	for name, f := range fns {
		for i, run := range o.Runs {
			if payloads[i] == nil {
				continue
			}
			sch.wg.Add(1)
			go func() {
				defer sch.wg.Done()
				t := time.NewTicker(sch.Intervals[i])
				defer t.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-t.C:
					}
					reply, err := f.Invoke(ctx, payloads[i])
					if ctx.Err() != nil {
						return
					}
					o.Report(name, run, reply, err)
				}
			}()
		}
	}
	return sch, nil
}

// Stop ends the schedules and waits for a run under way.
func (sch *Schedules) Stop() {
	if sch == nil {
		return
	}
	sch.cancel()
	sch.wg.Wait()
}
