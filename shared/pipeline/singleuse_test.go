package pipeline_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"webhooks/shared/pipeline"
)

// The guarantee of a single-use credential, on generated rotations: its record
// exists at every moment some usable secret version could verify the captured
// credential with another body. The model: a version with tolerance tol
// verifies a credential signed at ts at time t when |t - ts| <= tol;
// AWSCURRENT always, AWSPREVIOUS only before AWSCURRENT's creation plus the
// grace period. The credential verified at receipt (ts within the verifying
// version's tolerance of it), and its record was made then with the rule of
// the provider that has one (OSL Pay: twice the tolerance and a minute). The
// record's maker never learns AWSPREVIOUS's tolerance unless AWSPREVIOUS is the
// version that verified: any value, up to the hundred years a secret may set,
// must be outlived.
func TestSingleUseRecordOutlivesEveryVersionProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 7))
	osl := func(tol time.Duration) time.Duration { return 2*tol + time.Minute }
	// A duration from a second to a hundred years, log-uniform, so short and
	// huge tolerances and graces are both drawn often.
	span := func() time.Duration {
		return time.Duration(float64(time.Second) * math.Pow(10, rng.Float64()*9.5))
	}
	received := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for i := range 200000 {
		tc, tp := span(), span()
		grace := time.Duration(0)
		if rng.IntN(4) > 0 {
			grace = span()
		}
		created := received.Add(-time.Duration(rng.Float64() * float64(2*grace+time.Hour)))
		graceEnd := created.Add(grace)
		byPrevious := received.Before(graceEnd) && rng.IntN(2) == 0
		tv := tc
		if byPrevious {
			tv = tp
		}
		ts := received.Add(time.Duration((rng.Float64()*2 - 1) * float64(tv)))

		keep := pipeline.KeepSingleUse(received, osl(tv), osl(tc), graceEnd)
		expires := time.Unix(received.Add(keep).Unix(), 0) // as the record keeps it: whole seconds

		last := ts.Add(tc) // AWSCURRENT's last moment
		if prevLast := ts.Add(tp); ts.Add(-tp).Before(graceEnd) {
			if prevLast.After(graceEnd) {
				prevLast = graceEnd
			}
			if prevLast.After(last) {
				last = prevLast
			}
		}
		if expires.Before(last) {
			t.Fatalf("case %d: current tolerance %v, previous %v, grace %v ending %v after receipt, verified by previous %v: the record expires %v after receipt, a version verifies until %v",
				i, tc, tp, grace, graceEnd.Sub(received), byPrevious, keep, last.Sub(received))
		}
		if keep < time.Hour {
			t.Fatalf("case %d: kept %v, less than an hour", i, keep)
		}
	}
}
