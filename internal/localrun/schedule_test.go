package localrun

import (
	"context"
	"encoding/json"
	"maps"
	"sync"
	"testing"
	"time"

	"webhooks/infra/spec"
)

type recorder struct {
	mu    sync.Mutex
	calls map[string]int
	sig   chan struct{}
}

func (r *recorder) Invoke(_ context.Context, payload []byte) ([]byte, error) {
	r.mu.Lock()
	r.calls[string(payload)]++
	r.mu.Unlock()
	select {
	case r.sig <- struct{}{}:
	default:
	}
	return []byte(`{"found":0,"sent":0,"failed":0}`), nil
}

func (r *recorder) count(p string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[p]
}

// payloads is a copy of what was invoked (the schedules keep invoking).
func (r *recorder) payloads() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.calls)
}

// The local run fires the stack's own redrive runs: each function gets each
// run's command (the rule's input), at the run's rate divided by Speed.
func TestSchedulesFireTheStacksRunsOnEveryFunction(t *testing.T) {
	runs := []spec.RedriveRun{spec.DefaultRedrive, spec.DefaultRedriveSweep}
	fns := map[string]Invoker{}
	recs := map[string]*recorder{}
	for _, p := range Providers {
		recs[p] = &recorder{calls: map[string]int{}, sig: make(chan struct{}, 1)}
		fns[p] = recs[p]
	}
	// The sweep's day becomes 2 s, the 5-minute run the 1 s floor.
	sch, err := StartSchedules(context.Background(), fns, ScheduleOptions{Runs: runs, Speed: 86400 / 2})
	if err != nil {
		t.Fatal(err)
	}
	defer sch.Stop()
	if sch.Intervals[0] != time.Second || sch.Intervals[1] != 2*time.Second {
		t.Errorf("intervals %v, want [1s 2s]", sch.Intervals)
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, p := range Providers {
		for _, run := range runs {
			want, _ := json.Marshal(run.Command())
			for recs[p].count(string(want)) == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%s never got %s: %v", p, want, recs[p].payloads())
				}
				select {
				case <-recs[p].sig:
				case <-time.After(100 * time.Millisecond):
				}
			}
		}
		for payload := range recs[p].payloads() {
			if payload != `{"redrive":{"olderThan":"5m"}}` && payload != `{"redrive":{"olderThan":"15m","sweep":true}}` {
				t.Errorf("%s got %s", p, payload)
			}
		}
	}
}

// A cron schedule has no interval to fire at locally: refused, not ignored.
func TestSchedulesRefuseACron(t *testing.T) {
	sch, err := spec.ParseSchedule("cron(0 3 * * ? *)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := StartSchedules(context.Background(), nil, ScheduleOptions{Runs: []spec.RedriveRun{{Schedule: sch, OlderThan: "5m"}}}); err == nil {
		t.Error("a cron schedule was accepted")
	}
}
