package capacity

// The run: one provider's webhooks served by N simulated instances.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"webhooks/infra/spec"
	"webhooks/internal/devkit"
	"webhooks/internal/devkit/kits"
	"webhooks/internal/loadtest"
	"webhooks/shared/eventstore"
	"webhooks/shared/lambdamain"
	"webhooks/shared/queue"
)

// LambdaFullVCPUMB is the memory at which a Lambda function has the
// equivalent of one vCPU; below it, CPU is allocated in proportion to memory
// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html).
const LambdaFullVCPUMB = 1769

// CPUScale is how much longer CPU work takes in a function of memoryMB than
// on one full core of this machine: 1 at or above LambdaFullVCPUMB. It
// assumes a Lambda vCPU as fast as a core here.
func CPUScale(memoryMB int) float64 {
	if memoryMB <= 0 || memoryMB >= LambdaFullVCPUMB {
		return 1
	}
	return float64(LambdaFullVCPUMB) / float64(memoryMB)
}

// Config is one run.
type Config struct {
	Provider  string
	Webhooks  int // distinct webhooks, all new events
	Instances int // simulated Lambda instances, one request at a time each
	Profile   Profile
	MemoryMB  int    // the function's memory, for CPUScale
	EventsDir string // samples and development secrets
	Seed      uint64
	// CPUSlots bounds how many handlers run at once in real time (0: the
	// cores Go may use), so that a handler's measured time is its CPU time,
	// not time spent waiting for a core.
	CPUSlots int
}

// Result is what one run measured. Durations are simulated time except CPU,
// which is measured and scaled.
type Result struct {
	Provider  string
	Profile   Profile
	Instances int
	Webhooks  int
	CPUScale  float64

	Accepted int // answered 200 with outcome "accepted"
	Messages int // messages on the queue afterwards
	Events   int // event items in the table afterwards
	// OnQueueOnce counts the webhooks whose own event is in exactly one
	// message; every message carries one webhook's event.
	OnQueueOnce int
	Failures    []string // the first few answers that were not "accepted", and accounting errors

	Service []time.Duration // per webhook, sorted: CPU×scale + AWS latency
	CPU     time.Duration   // scaled CPU, all webhooks
	AWS     time.Duration   // AWS latency, all webhooks
	Busy    []time.Duration // per instance: the simulated time it was busy
	Served  []int           // per instance: webhooks served

	Calls      map[string]int // AWS calls, all webhooks and instances
	WriteUnits float64        // DynamoDB write units, all webhooks (from the items' sizes)
}

// MeanService is the mean service time per webhook.
func (r *Result) MeanService() time.Duration {
	if len(r.Service) == 0 {
		return 0
	}
	return (r.CPU + r.AWS) / time.Duration(len(r.Service))
}

// PerInstance is the throughput of one instance kept busy: webhooks per
// second of its busy simulated time, over all instances.
func (r *Result) PerInstance() float64 {
	var busy time.Duration
	n := 0
	for i, b := range r.Busy {
		busy += b
		n += r.Served[i]
	}
	if busy <= 0 {
		return 0
	}
	return float64(n) / busy.Seconds()
}

// Makespan is the simulated time until the last instance finished.
func (r *Result) Makespan() time.Duration {
	var m time.Duration
	for _, b := range r.Busy {
		m = max(m, b)
	}
	return m
}

// CallsPer is the AWS calls of op per webhook.
func (r *Result) CallsPer(op string) float64 {
	if r.Webhooks == 0 {
		return 0
	}
	return float64(r.Calls[op]) / float64(r.Webhooks)
}

// ExactlyOnce reports whether every webhook was answered "accepted" and is
// on the queue once, as one event of the table.
func (r *Result) ExactlyOnce() bool {
	return r.Accepted == r.Webhooks && r.Messages == r.Webhooks && r.OnQueueOnce == r.Webhooks &&
		r.Events == r.Webhooks && len(r.Failures) == 0
}

// maxFailures bounds the failures a result keeps.
const maxFailures = 5

// Run serves cfg.Webhooks distinct webhooks of one provider, signed by its dev
// kit, with cfg.Instances instances sharing one in-memory table and queue.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Webhooks < 1 || cfg.Instances < 1 {
		return nil, errors.New("capacity: a run needs at least one webhook and one instance")
	}
	if err := cfg.Profile.Check(); err != nil {
		return nil, err
	}
	kit, err := kits.Get(cfg.Provider)
	if err != nil {
		return nil, err
	}
	if kit.InProcess == nil {
		return nil, fmt.Errorf("capacity: the %s kit builds no handler in process (Kit.InProcess)", cfg.Provider)
	}
	hooks, err := devkit.Generate(cfg.EventsDir, kit, "cap", cfg.Webhooks)
	if err != nil {
		return nil, err
	}
	keys, err := devkit.DevSigners([]devkit.Kit{kit}, cfg.EventsDir)
	if err != nil {
		return nil, err
	}
	dev, err := devkit.LoadDevSecrets(cfg.EventsDir)
	if err != nil {
		return nil, err
	}
	secret, ok := dev[cfg.Provider]
	if !ok {
		return nil, fmt.Errorf("capacity: no development secret for %s", cfg.Provider)
	}

	table, q := eventstore.NewMemory(), queue.NewMemory()
	// A secret rotated long ago (the steady state): no grace period in
	// which a request might need AWSPREVIOUS.
	created := time.Now().Add(-30 * 24 * time.Hour)
	insts := make([]*instance, cfg.Instances)
	serve := make([]func(context.Context, events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse, cfg.Instances)
	// The environment the stack gives a function (its table, queue and
	// secret stand for the in-memory ones).
	fnEnv := spec.FunctionEnvironment("capacity", "https://sqs.us-east-1.amazonaws.com/000000000000/capacity-"+cfg.Provider+".fifo", "capacity/"+cfg.Provider, spec.DefaultEventTTL, spec.MetricsNamespace("capacity"))
	env, err := lambdamain.LoadEnv(func(k string) string { return fnEnv[k] })
	if err != nil {
		return nil, err
	}
	for i := range insts {
		in := &instance{profile: cfg.Profile, rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i))), calls: map[string]int{}}
		h, err := kit.InProcess(env, devkit.Parts{Secrets: &memorySecret{value: string(secret), created: created, in: in},
			Store: table.WithFault(in.observe), Queue: timedQueue{q: q, in: in}, Stdout: io.Discard})
		if err != nil {
			return nil, err
		}
		insts[i], serve[i] = in, h
	}

	slots := cfg.CPUSlots
	if slots <= 0 {
		slots = runtime.GOMAXPROCS(0)
	}
	cpu := make(chan struct{}, slots)
	scale := CPUScale(cfg.MemoryMB)
	res := &Result{Provider: cfg.Provider, Profile: cfg.Profile, Instances: cfg.Instances, Webhooks: cfg.Webhooks, CPUScale: scale,
		Busy: make([]time.Duration, cfg.Instances), Served: make([]int, cfg.Instances), Calls: map[string]int{}}
	var mu sync.Mutex
	fail := func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		if len(res.Failures) < maxFailures {
			res.Failures = append(res.Failures, msg)
		}
	}

	work := make(chan int)
	var wg sync.WaitGroup
	for i := range insts {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			in := insts[i]
			for w := range work {
				req, err := keys.Request(cfg.Provider, hooks[w].Variant, hooks[w].Body, devkit.SigningClock.Next())
				if err != nil {
					fail(err.Error())
					continue
				}
				ev := devkit.HTTPEvent(req).Event
				in.aws = 0
				cpu <- struct{}{}
				t0 := time.Now()
				resp := serve[i](ctx, ev)
				took := time.Since(t0)
				<-cpu
				spent := time.Duration(float64(took)*scale) + in.aws
				res.Busy[i] += spent
				res.Served[i]++
				mu.Lock()
				res.Service = append(res.Service, spent)
				res.CPU += time.Duration(float64(took) * scale)
				res.AWS += in.aws
				if resp.StatusCode == 200 && resp.Headers["X-Webhook-Outcome"] == "accepted" {
					res.Accepted++
				}
				mu.Unlock()
				if resp.StatusCode != 200 || resp.Headers["X-Webhook-Outcome"] != "accepted" {
					fail(fmt.Sprintf("webhook %d: %d %s %s", w, resp.StatusCode, resp.Headers["X-Webhook-Outcome"], resp.Body))
				}
			}
		}(i)
	}
	for w := range hooks {
		select {
		case work <- w:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, in := range insts {
		for op, n := range in.calls {
			res.Calls[op] += n
		}
	}
	res.Service = sortedCopy(res.Service)
	if err := account(res, hooks, table, q); err != nil {
		return nil, err
	}
	return res, nil
}

// account checks the table and queue after a run: every webhook's event
// stored once and on the queue once (its marker in exactly one message), and
// the write units its items cost.
func account(res *Result, hooks []devkit.Webhook, table *eventstore.Memory, q *queue.Memory) error {
	markers := make([]string, len(hooks))
	for i, h := range hooks {
		markers[i] = h.Marker
	}
	idx, err := devkit.NewMarkers(markers)
	if err != nil {
		return err
	}
	seen := make([]int, len(hooks))
	msgs := q.Drain()
	res.Messages = len(msgs)
	for _, m := range msgs {
		found := idx.In(m.Body)
		if len(found) != 1 {
			res.Failures = append(res.Failures, fmt.Sprintf("message %s carries %d webhooks' markers", m.MessageID, len(found)))
			continue
		}
		seen[found[0]]++
	}
	for _, n := range seen {
		if n == 1 {
			res.OnQueueOnce++
		}
	}
	// Write units: an event item is written twice (the conditional put, then
	// the update that marks it queued, billed on the larger image: the same
	// item); every other write of the path is to a small item (a state, a
	// single-use record) of one unit per started KB of its size.
	writes := res.Calls[OpPutItem] + res.Calls[OpUpdateItem]
	other, otherUnits := 0, 0.0
	for _, it := range table.Items() {
		u := math.Ceil(float64(loadtest.ItemSize(it)) / 1024)
		if _, err := eventstore.Decode(it); err == nil { // an event, as the store reads it
			res.Events++
			res.WriteUnits += 2 * u
			continue
		}
		other++
		otherUnits += u
	}
	if rest := writes - 2*res.Events; rest > 0 && other > 0 {
		res.WriteUnits += float64(rest) * otherUnits / float64(other)
	}
	return nil
}
