// Package workcount counts the steps of the request path's inner loops (the
// JSON parser's, the redactor's, the lookups in a parsed body), so that tests
// can check that the work grows linearly with the body by counting it, never
// by timing it (see docs/RELIABILITY.md).
//
// It costs nothing until a test turns counting on: each counted call adds
// the steps it already keeps in a field or a local variable once, when it
// returns, through Add — one load and a branch not taken, never per byte,
// never an atomic operation or an allocation.
//
// Counting is for tests only, one measurement at a time: Measure is not safe
// for concurrent use, and counts whatever runs while it measures.
package workcount

var (
	on    bool
	steps uint64
)

// Add adds n steps while a Measure runs.
func Add(n uint64) {
	if on {
		steps += n
	}
}

// Measure runs f with counting on and returns the steps counted meanwhile.
func Measure(f func()) uint64 {
	on, steps = true, 0
	defer func() { on = false }()
	f()
	return steps
}
