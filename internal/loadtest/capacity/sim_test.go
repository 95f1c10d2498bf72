package capacity

import (
	"testing"
	"time"

	"webhooks/internal/devkit"
	"webhooks/internal/devkit/kits"
)

// Every kit builds its handler in process and states its peak.
func TestEveryKitCanBeSimulated(t *testing.T) {
	for _, k := range kits.All {
		if k.InProcess == nil || k.Peak.Rate <= 0 || k.Peak.HotRate <= 0 || k.Peak.HotRate > k.Peak.Rate || k.Peak.Why == "" || k.Peak.HotEntity == "" {
			t.Errorf("%s kit: in-process handler %v, peak %+v", k.Name, k.InProcess != nil, k.Peak)
		}
	}
}

// A run counts every webhook exactly once: answered "accepted", one event in
// the table, its own event in one message on the queue; and its accounting
// adds up (service time = CPU + AWS; busy time per instance sums to it; the
// calls the store made).
func TestRunCountsEveryWebhookOnce(t *testing.T) {
	n, inst := 48, 6
	if testing.Short() {
		n, inst = 24, 4
	}
	for _, p := range kits.Names() {
		t.Run(p, func(t *testing.T) {
			res, err := Run(t.Context(), Config{Provider: p, Webhooks: n, Instances: inst, Profile: AWSDocumented,
				MemoryMB: 256, EventsDir: devkit.EventsDir(), Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if !res.ExactlyOnce() {
				t.Fatalf("not exactly once: accepted %d, messages %d, on the queue once %d, events %d of %d; failures %v",
					res.Accepted, res.Messages, res.OnQueueOnce, res.Events, n, res.Failures)
			}
			if len(res.Service) != n {
				t.Fatalf("%d service times for %d webhooks", len(res.Service), n)
			}
			var sum, busy time.Duration
			served := 0
			for _, s := range res.Service {
				sum += s
			}
			for i, b := range res.Busy {
				busy += b
				served += res.Served[i]
			}
			if sum != res.CPU+res.AWS || busy != sum || served != n {
				t.Fatalf("service %v, CPU+AWS %v, busy %v, served %d of %d", sum, res.CPU+res.AWS, busy, served, n)
			}
			if res.Calls[OpSendMessage] != n || res.Calls[OpPutItem] < n {
				t.Fatalf("calls %v for %d webhooks: one send and at least one put each", res.Calls, n)
			}
			// Each instance that served a webhook read its secret once
			// (AWSCURRENT, at its first request: there is no AWSPREVIOUS, and
			// no request needs one); an instance the scheduler left idle
			// read nothing.
			working := 0
			for _, s := range res.Served {
				if s > 0 {
					working++
				}
			}
			if got := res.Calls[OpGetSecretValue]; got != working {
				t.Fatalf("%d secret reads by %d instances that served a webhook (of %d)", got, working, inst)
			}
			if res.WriteUnits < 2*float64(n) {
				t.Fatalf("%.1f write units for %d webhooks: at least two each", res.WriteUnits, n)
			}
			if res.PerInstance() <= 0 || res.MeanService() <= 0 {
				t.Fatalf("per instance %.1f/s, mean service %v", res.PerInstance(), res.MeanService())
			}
		})
	}
}
