package workcount

import "testing"

func TestMeasureCountsOnlyWhileMeasuring(t *testing.T) {
	Add(5) // not measuring: not counted
	if got := Measure(func() { Add(3); Add(4) }); got != 7 {
		t.Errorf("Measure counted %d, want 7", got)
	}
	Add(5)
	if got := Measure(func() {}); got != 0 {
		t.Errorf("Measure of nothing counted %d", got)
	}
}
