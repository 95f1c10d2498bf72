package devkit

import (
	"sync"
	"testing"
)

// Concurrent signers never get the same millisecond.
func TestUniqueClockNeverRepeats(t *testing.T) {
	var c UniqueClock
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				ms := c.Next().UnixMilli()
				mu.Lock()
				if seen[ms] {
					t.Errorf("%d handed out twice", ms)
				}
				seen[ms] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
