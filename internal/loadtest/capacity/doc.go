// Package capacity is the capacity model of a flash sale, on paper and in
// simulation (docs/PERFORMANCE.md, "Capacity").
//
// On paper (limits.go, peaks.go, model.go): every AWS limit on the webhook
// path with its documented value and its source, the peak assumed per
// provider and why (each provider's kit states its own: devkit.Peak), and, at multiples of that peak, which limit breaks
// first, the knob that moves it and the alarm that warns first. The
// arithmetic is plain functions a test checks.
//
// In simulation (sim.go, latency.go): each provider's real handler
// (lambdamain.Assemble, through its kit, over eventstore.Memory and queue.Memory, real provider code,
// webhooks signed by the dev kits) served by N goroutines standing for Lambda
// instances, one request at a time each. Every AWS call the handler makes is
// charged a latency drawn from a distribution (an input: documented AWS
// figures, or those measured against moto_server) to the instance's own
// simulated clock; nothing sleeps. The handler's CPU time is measured and
// scaled to the function's share of a vCPU. The run yields the service time
// per webhook, hence throughput per instance and, by Little's law, the
// concurrency a peak needs; an open-loop replay of the measured service times
// on a simulated clock checks that law.
//
// Local tooling only: never deployed.
package capacity
