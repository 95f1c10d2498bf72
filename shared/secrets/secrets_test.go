package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// fakeSM is a hand-written Secrets Manager with stages and a call counter.
type fakeSM struct {
	stages     map[string][2]string // stage -> {versionId, value}
	created    map[string]time.Time // versionId -> creation date (none: not reported)
	calls      int
	stageCalls map[string]int
	fail       error
	failStage  map[string]error // stage -> error, for that stage only
}

func (f *fakeSM) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls++
	if f.stageCalls == nil {
		f.stageCalls = map[string]int{}
	}
	f.stageCalls[aws.ToString(in.VersionStage)]++
	if f.fail != nil {
		return nil, f.fail
	}
	if err := f.failStage[aws.ToString(in.VersionStage)]; err != nil {
		return nil, err
	}
	v, ok := f.stages[aws.ToString(in.VersionStage)]
	if !ok {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("no such version")}
	}
	out := &secretsmanager.GetSecretValueOutput{VersionId: aws.String(v[0]), SecretString: aws.String(v[1])}
	if c, ok := f.created[v[0]]; ok {
		out.CreatedDate = aws.Time(c)
	}
	return out, nil
}

func parse(b []byte) (string, error) {
	if len(b) == 0 || strings.HasPrefix(string(b), "bad") {
		return "", errors.New("invalid")
	}
	if strings.HasPrefix(string(b), "{") {
		var v struct{ V string }
		if err := json.Unmarshal(b, &v); err != nil {
			return "", err
		}
		return v.V, nil
	}
	return string(b), nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestVersionsCachesAndReturnsPrevious(t *testing.T) {
	sm := &fakeSM{stages: map[string][2]string{StageCurrent: {"v2", `{"V":"new"}`}, StagePrevious: {"v1", `{"V":"old"}`}}}
	c := &clock{time.Unix(0, 0)}
	cache := New(sm, "id", parse, WithClock(c.now))
	v, err := cache.Versions(context.Background())
	if err != nil || len(v) != 2 || v[0].Config != "new" || v[1].Config != "old" || v[0].Stage != StageCurrent {
		t.Fatalf("versions %+v %v", v, err)
	}
	calls := sm.calls
	c.t = c.t.Add(DefaultTTL - time.Second)
	if _, err := cache.Versions(context.Background()); err != nil || sm.calls != calls {
		t.Fatalf("re-read within TTL (%d calls)", sm.calls-calls)
	}
	sm.stages[StageCurrent] = [2]string{"v3", `{"V":"newer"}`}
	c.t = c.t.Add(2 * time.Second)
	v, _ = cache.Versions(context.Background())
	if sm.calls == calls || v[0].Config != "newer" {
		t.Fatalf("not re-read after TTL: %+v", v)
	}
}

func TestRefreshIsRateLimited(t *testing.T) {
	sm := &fakeSM{stages: map[string][2]string{StageCurrent: {"v1", `{"V":"a"}`}}}
	c := &clock{time.Unix(0, 0)}
	cache := New(sm, "id", parse, WithClock(c.now))
	if _, err := cache.Versions(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := cache.Refresh(context.Background()); !ok {
		t.Fatal("first forced refresh refused")
	}
	c.t = c.t.Add(30 * time.Second)
	calls := sm.calls
	if _, ok, _ := cache.Refresh(context.Background()); ok || sm.calls != calls {
		t.Fatal("second refresh within a minute was allowed")
	}
	c.t = c.t.Add(31 * time.Second)
	if _, ok, _ := cache.Refresh(context.Background()); !ok {
		t.Fatal("refresh after a minute refused")
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		sm   *fakeSM
		want error
	}{
		{"secret missing", &fakeSM{stages: map[string][2]string{}}, ErrNotConfigured},
		{"current invalid", &fakeSM{stages: map[string][2]string{StageCurrent: {"v1", "bad-value-XYZ"}}}, ErrNotConfigured},
		{"current empty", &fakeSM{stages: map[string][2]string{StageCurrent: {"v1", ""}}}, ErrNotConfigured},
		{"service down", &fakeSM{fail: fmt.Errorf("dial tcp: refused")}, ErrUnavailable},
	}
	for _, c := range cases {
		_, err := New(c.sm, "id", parse).Versions(ctx)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "XYZ") {
			t.Errorf("%s: error leaks the value: %v", c.name, err)
		}
	}
	// An invalid previous version is ignored; the current one still serves.
	sm := &fakeSM{stages: map[string][2]string{StageCurrent: {"v2", `{"V":"good"}`}, StagePrevious: {"v1", "bad"}}}
	v, err := New(sm, "id", parse).Versions(ctx)
	if err != nil || len(v) != 1 || v[0].Config != "good" {
		t.Errorf("invalid previous: %+v %v", v, err)
	}
}

// AWSPREVIOUS is usable only within the grace period after AWSCURRENT was
// created (default 48 hours), and is not even read once that has passed.
func TestPreviousVersionOnlyWithinGrace(t *testing.T) {
	created := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		value string
		grace time.Duration
	}{
		{"default", `{"V":"new"}`, DefaultGrace},
		{"6 hours", `{"V":"new","previousVersionGraceHours":6}`, 6 * time.Hour},
		{"half an hour", `{"V":"new","previousVersionGraceHours":0.5}`, 30 * time.Minute},
		{"never", `{"V":"new","previousVersionGraceHours":0}`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sm := &fakeSM{stages: map[string][2]string{StageCurrent: {"v2", tc.value}, StagePrevious: {"v1", `{"V":"old"}`}},
				created: map[string]time.Time{"v2": created, "v1": created.Add(-90 * 24 * time.Hour)}}
			c := &clock{created.Add(time.Minute)}
			cache := New(sm, "id", parse, WithClock(c.now))
			v, err := cache.Versions(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			wantPrev := tc.grace > time.Minute
			if (len(v) == 2) != wantPrev || v[0].Config != "new" || !v[0].Created.Equal(created) {
				t.Fatalf("a minute after rotation: %+v, want previous %v", v, wantPrev)
			}
			if wantPrev && (!v[1].Previous() || v[1].Config != "old") {
				t.Fatalf("previous version %+v", v[1])
			}
			if !wantPrev && sm.stageCalls[StagePrevious] != 0 {
				t.Errorf("AWSPREVIOUS read %d times though it can never be used", sm.stageCalls[StagePrevious])
			}
			// Just before and just after the end of the grace period, from the cache.
			if tc.grace > 2*time.Minute {
				c.t = created.Add(tc.grace - time.Second)
				cache = New(sm, "id", parse, WithClock(c.now), WithTTL(1000*time.Hour))
				if v, _ := cache.Versions(context.Background()); len(v) != 2 {
					t.Errorf("previous refused a second before the grace ends: %+v", v)
				}
				c.t = created.Add(tc.grace)
				if v, _ := cache.Versions(context.Background()); len(v) != 1 {
					t.Errorf("previous still served from cache when the grace has ended: %+v", v)
				}
				reads := sm.stageCalls[StagePrevious]
				if v, _ := New(sm, "id", parse, WithClock(c.now)).Versions(context.Background()); len(v) != 1 || sm.stageCalls[StagePrevious] != reads {
					t.Errorf("after the grace: %+v, previous read again: %v", v, sm.stageCalls[StagePrevious] != reads)
				}
			}
		})
	}
}

func TestGraceFieldMustBeValid(t *testing.T) {
	for _, v := range []string{`{"V":"x","previousVersionGraceHours":-1}`, `{"V":"x","previousVersionGraceHours":"48"}`,
		`{"V":"x","previousVersionGraceHours":100000}`, `{"V":"x","previousVersionGraceHours":true}`} {
		sm := &fakeSM{stages: map[string][2]string{StageCurrent: {"v1", v}}}
		if _, err := New(sm, "id", parse).Versions(context.Background()); !errors.Is(err, ErrNotConfigured) {
			t.Errorf("%s: %v, want ErrNotConfigured", v, err)
		}
	}
	for v, want := range map[string]time.Duration{`{}`: DefaultGrace, `{"previousVersionGraceHours":null}`: DefaultGrace,
		`{"previousVersionGraceHours":0}`: 0, `{"previousVersionGraceHours":72}`: 72 * time.Hour} {
		if got, err := ParseGrace([]byte(v)); err != nil || got != want {
			t.Errorf("ParseGrace(%s) = %v, %v; want %v", v, got, err, want)
		}
	}
}
