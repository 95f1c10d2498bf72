package capacity

// Little's law, and an open-loop replay that checks it: arrivals at a rate
// on a simulated clock, each served for one of the run's measured service
// times by an instance of its own, as Lambda serves synchronous invocations
// (a new instance when every warm one is busy, up to a concurrency cap, past
// which the invocation is throttled, never queued).

import (
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// Concurrency is Little's law: the mean number of requests in flight when
// they arrive at rate per second and each lasts service.
func Concurrency(rate float64, service time.Duration) float64 {
	return rate * service.Seconds()
}

// PerInstance is the throughput of one instance serving one request at a
// time, each lasting service: 1/service.
func PerInstance(service time.Duration) float64 {
	if service <= 0 {
		return 0
	}
	return 1 / service.Seconds()
}

// Replay is what an open-loop replay measured.
type Replay struct {
	Rate     float64       // offered arrivals per second
	Arrivals int           // requests offered
	Cap      int           // concurrency cap (0: none)
	Span     time.Duration // first arrival to last departure
	Served   int
	// Throttled are the arrivals that found Cap requests in flight.
	Throttled int
	// MeanInFlight is the time average of requests in flight over Span.
	MeanInFlight float64
	// MeanService is the mean service time of the served requests.
	MeanService time.Duration
	// PeakInFlight is the most requests in flight at once; P99InFlight the
	// 99th percentile of what arrivals found in flight (themselves included).
	PeakInFlight, P99InFlight int
}

// Little is λ·W with λ the served requests over Span: equal to MeanInFlight
// by Little's law.
func (r Replay) Little() float64 {
	if r.Span <= 0 {
		return 0
	}
	return float64(r.Served) / r.Span.Seconds() * r.MeanService.Seconds()
}

// OpenLoop offers n Poisson arrivals at rate per second, the i-th served for
// service[i mod len(service)], with at most limit in flight (0: no limit).
func OpenLoop(service []time.Duration, rate float64, n, limit int, seed uint64) Replay {
	out := Replay{Rate: rate, Arrivals: n, Cap: limit}
	if len(service) == 0 || rate <= 0 || n <= 0 {
		return out
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	var t float64              // seconds
	var ends []float64         // departures of requests in flight, a min-heap by time
	var busy float64           // integral of requests in flight, request-seconds
	var served []float64       // service seconds of served requests
	found := make([]int, 0, n) // in flight at each served arrival, itself included
	var last float64
	for i := 0; i < n; i++ {
		t += rng.ExpFloat64() / rate
		for len(ends) > 0 && ends[0] <= t {
			popMin(&ends)
		}
		if limit > 0 && len(ends) >= limit {
			out.Throttled++
			continue
		}
		s := service[i%len(service)].Seconds()
		pushMin(&ends, t+s)
		served = append(served, s)
		busy += s
		last = math.Max(last, t+s)
		found = append(found, len(ends))
		out.PeakInFlight = max(out.PeakInFlight, len(ends))
	}
	out.Served = len(served)
	if out.Served == 0 {
		return out
	}
	first := 0.0 // the clock starts at 0, before the first arrival
	out.Span = time.Duration((last - first) * float64(time.Second))
	out.MeanInFlight = busy / (last - first)
	out.MeanService = time.Duration(busy / float64(out.Served) * float64(time.Second))
	sort.Ints(found)
	out.P99InFlight = found[max(0, int(math.Ceil(0.99*float64(len(found))))-1)]
	return out
}

func pushMin(h *[]float64, v float64) {
	*h = append(*h, v)
	for i := len(*h) - 1; i > 0; {
		p := (i - 1) / 2
		if (*h)[p] <= (*h)[i] {
			break
		}
		(*h)[p], (*h)[i] = (*h)[i], (*h)[p]
		i = p
	}
}

func popMin(h *[]float64) {
	a := *h
	n := len(a) - 1
	a[0] = a[n]
	a = a[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && a[l] < a[m] {
			m = l
		}
		if r < n && a[r] < a[m] {
			m = r
		}
		if m == i {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
}
