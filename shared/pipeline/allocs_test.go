package pipeline_test

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"webhooks/internal/devkit"
	"webhooks/shared/apigw"
)

// allocSizes are the body sizes bytes allocated per body byte is measured at,
// up to the body limit.
var allocSizes = []int{1 << 10, 4 << 10, 16 << 10, 64 << 10, apigw.DefaultMaxBody - 512}

// The CPU path's memory is linear in the body, with no step: pooled parse
// and redaction storage serves bodies up to the body limit, so the bytes
// allocated per body byte at 64 KB and at the limit are no more than at
// 16 KB (plus a tenth, for the fixed part's share), on token-rich and on
// string-heavy bodies. Counted with runtime.MemStats (garbage collection
// paused while counting), never timed.
func TestAllocationPerBodyByteIsFlat(t *testing.T) {
	now := devkit.SampleTime.Add(time.Second)
	shapes := map[string]devkit.Shape{}
	for _, s := range devkit.Shapes {
		shapes[s.Name] = s
	}
	// One P, as a function with one vCPU has: sync.Pool keeps an item per P,
	// and a goroutine that moved to another P would miss its own.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, c := range providerCases {
		run := c.run(t)
		for _, name := range []string{"known-lookalikes", "card-numbers"} {
			var perByte []float64
			for _, n := range allocSizes {
				ev := devkit.AdversarialEvent(t, kitOf(t, c.provider), shapes[name], n)
				for range 4 { // warm every pooled Doc and redactor at this size
					if _, err := run(ev, now); err != nil {
						t.Fatal(err)
					}
				}
				reps := max(8, (1<<20)/n)
				var before, after runtime.MemStats
				// No collection while counting: one would empty the pools, as
				// it may on a warm instance, and make the count depend on when.
				gc := debug.SetGCPercent(-1)
				runtime.ReadMemStats(&before)
				for range reps {
					if _, err := run(ev, now); err != nil {
						t.Fatal(err)
					}
				}
				runtime.ReadMemStats(&after)
				debug.SetGCPercent(gc)
				perByte = append(perByte, float64(after.TotalAlloc-before.TotalAlloc)/float64(reps)/float64(len(ev.Body)))
			}
			t.Logf("%s/%s: bytes allocated per body byte at %v bytes: %.2f", c.provider, name, allocSizes, perByte)
			base := perByte[2] // 16 KB
			for i := 3; i < len(perByte); i++ {
				if perByte[i] > 1.1*base {
					t.Errorf("%s/%s: %.2f bytes allocated per body byte at %d bytes, %.2f at %d: not flat", c.provider, name, perByte[i], allocSizes[i], base, allocSizes[2])
				}
			}
		}
	}
}
