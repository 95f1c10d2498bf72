package devkit

import (
	"fmt"
	"testing"
)

// recorder is a testing.TB that records a failure instead of failing.
type recorder struct {
	testing.TB
	failed bool
	msg    string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Log(args ...any)           {}
func (r *recorder) Errorf(f string, a ...any) { r.failed, r.msg = true, fmt.Sprintf(f, a...) }

// The linearity check can fail: quadratic work (a rescan per byte) is refused,
// linear work with a constant overhead is not, and no counted work at all is
// refused as a check that counts nothing.
func TestCheckLinearWorkTellsQuadraticFromLinear(t *testing.T) {
	for name, c := range map[string]struct {
		steps func(n int) uint64
		fail  bool
	}{
		"linear": {func(n int) uint64 { return uint64(3*n + 500) }, false},
		"n log n": {func(n int) uint64 {
			l := 0
			for m := n; m > 1; m >>= 1 {
				l++
			}
			return uint64(n * l)
		}, false},
		"quadratic":       {func(n int) uint64 { return uint64(n) * uint64(n) / 64 }, true},
		"nothing counted": {func(int) uint64 { return 0 }, true},
	} {
		r := &recorder{TB: t}
		CheckLinearWork(r, name, 4096, func(size int) Work { return Work{Steps: c.steps(size), Bytes: size} })
		if r.failed != c.fail {
			t.Errorf("%s: failed %v (%s), want %v", name, r.failed, r.msg, c.fail)
		}
	}
}
