package secrets

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// accepts is a try function that succeeds for the version whose value is key.
func accepts(key string) func(Version[string], []Version[string]) error {
	return func(v Version[string], all []Version[string]) error {
		if len(all) == 0 || all[0].Stage != StageCurrent {
			return fmt.Errorf("all does not start with %s: %+v", StageCurrent, all)
		}
		if v.Config != key {
			return errors.New("not verified")
		}
		return nil
	}
}

func rotated(created time.Time) *fakeSM {
	return &fakeSM{stages: map[string][2]string{StageCurrent: {"v2", `{"V":"new"}`}, StagePrevious: {"v1", `{"V":"old"}`}},
		created: map[string]time.Time{"v2": created, "v1": created.Add(-90 * 24 * time.Hour)}}
}

// The start-up check and a request signed with AWSCURRENT read AWSCURRENT only:
// one call for a fresh function, within the grace period too.
func TestCurrentRequestReadsOneVersion(t *testing.T) {
	created := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	sm := rotated(created)
	c := &clock{created.Add(time.Hour)}
	cache := New(sm, "id", parse, WithClock(c.now))
	cur, err := cache.Current(context.Background())
	if err != nil || cur.Config != "new" || cur.Previous() {
		t.Fatalf("Current: %+v %v", cur, err)
	}
	v, all, err := cache.Try(context.Background(), "", accepts("new"))
	if err != nil || v.Config != "new" || len(all) != 1 {
		t.Fatalf("Try: %+v %+v %v", v, all, err)
	}
	if sm.calls != 1 || sm.stageCalls[StagePrevious] != 0 {
		t.Fatalf("%d calls (%d of %s), want 1 and 0", sm.calls, sm.stageCalls[StagePrevious], StagePrevious)
	}
}

// A request that only AWSPREVIOUS verifies reads it once, within the grace
// period; later ones are served from the cache; Versions lists both.
func TestPreviousReadWhenCurrentFails(t *testing.T) {
	created := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	sm := rotated(created)
	c := &clock{created.Add(time.Hour)}
	cache := New(sm, "id", parse, WithClock(c.now))
	for i := range 3 {
		v, all, err := cache.Try(context.Background(), "", accepts("old"))
		if err != nil || !v.Previous() || v.Config != "old" || len(all) != 2 {
			t.Fatalf("request %d: %+v %+v %v", i, v, all, err)
		}
	}
	if sm.stageCalls[StageCurrent] != 1 || sm.stageCalls[StagePrevious] != 1 {
		t.Fatalf("calls %v, want one of each", sm.stageCalls)
	}
	if v, err := cache.Versions(context.Background()); err != nil || len(v) != 2 || sm.calls != 2 {
		t.Fatalf("Versions: %+v %v (%d calls)", v, err, sm.calls)
	}
	// prefer: the version that verified the request is tried first (enrich).
	var order []string
	_, _, _ = cache.Try(context.Background(), "v1", func(v Version[string], _ []Version[string]) error {
		order = append(order, v.VersionID)
		return errors.New("no")
	})
	if len(order) < 2 || order[0] != "v1" || order[1] != "v2" {
		t.Fatalf("prefer v1: tried %v", order)
	}
}

// Outside the grace period, or with a grace of 0, AWSPREVIOUS is never read,
// whatever the requests: one signed with it is refused (not verified), not
// answered as unavailable.
func TestPreviousNotReadOutsideGrace(t *testing.T) {
	created := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for name, tc := range map[string]struct {
		value string
		at    time.Duration
	}{
		"after 48h":  {`{"V":"new"}`, DefaultGrace},
		"grace 0":    {`{"V":"new","previousVersionGraceHours":0}`, time.Minute},
		"after 0.5h": {`{"V":"new","previousVersionGraceHours":0.5}`, 31 * time.Minute},
	} {
		sm := rotated(created)
		sm.stages[StageCurrent] = [2]string{"v2", tc.value}
		c := &clock{created.Add(tc.at)}
		cache := New(sm, "id", parse, WithClock(c.now))
		_, _, err := cache.Try(context.Background(), "", accepts("old"))
		if err == nil || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotConfigured) {
			t.Errorf("%s: request signed with the previous version: %v, want a verification failure", name, err)
		}
		if v, err := cache.Versions(context.Background()); err != nil || len(v) != 1 {
			t.Errorf("%s: Versions %+v %v", name, v, err)
		}
		if sm.stageCalls[StagePrevious] != 0 {
			t.Errorf("%s: %s read %d times", name, StagePrevious, sm.stageCalls[StagePrevious])
		}
	}
}

// AWSPREVIOUS that cannot be read (Secrets Manager failing for it) never lets a
// request through that AWSCURRENT does not verify: the request is answered
// ErrUnavailable (a 503, retried), with no versions, and not re-read more than
// once per minimum refresh interval. A request AWSCURRENT verifies is unaffected.
func TestPreviousUnavailable(t *testing.T) {
	created := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	sm := rotated(created)
	sm.failStage = map[string]error{StagePrevious: errors.New("dial tcp: refused")}
	c := &clock{created.Add(time.Hour)}
	cache := New(sm, "id", parse, WithClock(c.now))
	for _, key := range []string{"old", "forged", "old"} {
		v, all, err := cache.Try(context.Background(), "", accepts(key))
		if !errors.Is(err, ErrUnavailable) || all != nil || v.Config != "" {
			t.Fatalf("%s: %+v %+v %v, want ErrUnavailable and nothing else", key, v, all, err)
		}
	}
	if n := sm.stageCalls[StagePrevious]; n != 1 {
		t.Fatalf("%s read %d times within a minute, want 1", StagePrevious, n)
	}
	if _, err := cache.Versions(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Versions with %s unreadable: %v", StagePrevious, err)
	}
	if v, _, err := cache.Try(context.Background(), "", accepts("new")); err != nil || v.Config != "new" {
		t.Fatalf("current request: %+v %v", v, err)
	}
	c.t = c.t.Add(DefaultMinRefresh)
	delete(sm.failStage, StagePrevious)
	if v, _, err := cache.Try(context.Background(), "", accepts("old")); err != nil || !v.Previous() {
		t.Fatalf("after the interval, %s readable again: %+v %v", StagePrevious, v, err)
	}
}

// A broken AWSPREVIOUS (not a valid secret) is ignored: the request it would
// have had to verify is refused, never accepted, and AWSCURRENT keeps working.
func TestPreviousBrokenIsIgnored(t *testing.T) {
	created := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	sm := rotated(created)
	sm.stages[StagePrevious] = [2]string{"v1", "bad"}
	c := &clock{created.Add(time.Hour)}
	cache := New(sm, "id", parse, WithClock(c.now))
	if _, _, err := cache.Try(context.Background(), "", accepts("bad")); err == nil || errors.Is(err, ErrNotConfigured) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("request against a broken previous version: %v", err)
	}
	if v, _, err := cache.Try(context.Background(), "", accepts("new")); err != nil || v.Config != "new" {
		t.Fatalf("current: %+v %v", v, err)
	}
}

// The grace rules, as a property over random histories: rotations, time
// passing, Secrets Manager failing for one stage or both, and requests signed
// with the current, the previous, an older or no secret. Checked after every
// request:
//   - a request is accepted only with a version whose value signed it; never
//     one signed with no secret, or with a version that has had no label
//     (AWSCURRENT or AWSPREVIOUS) for a TTL or more;
//   - a version accepted as AWSPREVIOUS is within its grace period: before
//     AWSCURRENT's creation (as the cache read it) plus AWSCURRENT's grace;
//   - an error reading the secret comes with no versions;
//   - with Secrets Manager up, a request signed with the AWSCURRENT that has
//     been current for a TTL is accepted, and so is one signed with the
//     AWSPREVIOUS of that rotation while well inside the grace period;
//   - calls are bounded: AWSPREVIOUS is read at most once per read of
//     AWSCURRENT, plus once per minimum refresh interval after failures, and
//     never when the grace is 0.
func TestGraceRulesProperty(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 42))
		start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		c := &clock{start}
		graceH := []int{0, 1, 48}[rng.IntN(3)]
		value := func(n int) string { return fmt.Sprintf(`{"V":"k%d","previousVersionGraceHours":%d}`, n, graceH) }
		n := 1
		sm := &fakeSM{stages: map[string][2]string{StageCurrent: {"v1", value(1)}}, created: map[string]time.Time{"v1": start}}
		rotatedAt := start
		unlabelled := map[string]time.Time{} // version id -> when it lost its last label
		cache := New(sm, "id", parse, WithClock(c.now))
		failures := 0
		for step := range 300 {
			switch rng.IntN(10) {
			case 0: // rotation
				if n > 1 {
					unlabelled[fmt.Sprintf("v%d", n-1)] = c.t
				}
				n++
				sm.stages[StagePrevious] = sm.stages[StageCurrent]
				vid := fmt.Sprintf("v%d", n)
				sm.stages[StageCurrent] = [2]string{vid, value(n)}
				sm.created[vid] = c.t
				rotatedAt = c.t
			case 1:
				c.t = c.t.Add(time.Duration(rng.IntN(120)) * time.Minute)
			case 2:
				sm.failStage = map[string]error{[]string{StageCurrent, StagePrevious}[rng.IntN(2)]: errors.New("throttled")}
			case 3:
				sm.failStage = nil
			}
			c.t = c.t.Add(time.Duration(rng.IntN(40)) * time.Second)
			signer := n - rng.IntN(3) // current, previous or older
			key := fmt.Sprintf("k%d", signer)
			if rng.IntN(5) == 0 {
				key = "forged"
			}
			var cached Version[string]
			v, all, err := cache.Try(context.Background(), "", func(v Version[string], all []Version[string]) error {
				cached = all[0]
				return accepts(key)(v, all)
			})
			where := fmt.Sprintf("seed %d step %d (grace %dh, key %s, rotation %d)", seed, step, graceH, key, n)
			if err != nil && (errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotConfigured)) {
				failures++
				if all != nil {
					t.Fatalf("%s: secret error %v with versions %+v", where, err, all)
				}
				continue
			}
			if err == nil {
				// The cache may serve a version for up to a TTL after Secrets
				// Manager moved its label on; never longer.
				labelled := signer >= n-1 || c.t.Sub(unlabelled[v.VersionID]) < DefaultTTL
				if v.Config != key || key == "forged" || !labelled {
					t.Fatalf("%s: accepted with %+v", where, v)
				}
				if v.Previous() && !c.t.Before(cached.Created.Add(time.Duration(graceH)*time.Hour)) {
					t.Fatalf("%s: previous version accepted outside the grace period (current created %s, now %s)", where, cached.Created, c.t)
				}
			}
			up := sm.failStage == nil
			settled := c.t.Sub(rotatedAt) >= DefaultTTL
			if up && settled && err != nil && signer == n && key != "forged" {
				t.Fatalf("%s: request signed with AWSCURRENT refused: %v", where, err)
			}
			if up && settled && err != nil && signer == n-1 && key != "forged" && n > 1 &&
				c.t.Before(rotatedAt.Add(time.Duration(graceH)*time.Hour-DefaultTTL)) {
				t.Fatalf("%s: request signed with AWSPREVIOUS within the grace period refused: %v", where, err)
			}
		}
		elapsed := c.t.Sub(start)
		prev, cur := sm.stageCalls[StagePrevious], sm.stageCalls[StageCurrent]
		if limit := cur + int(elapsed/DefaultMinRefresh) + 1; prev > limit {
			t.Fatalf("seed %d: %d reads of %s for %d of %s in %s (limit %d)", seed, prev, StagePrevious, cur, StageCurrent, elapsed, limit)
		}
		if graceH == 0 && prev != 0 {
			t.Fatalf("seed %d: %s read %d times with a grace of 0", seed, StagePrevious, prev)
		}
	}
}
