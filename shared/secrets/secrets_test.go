package secrets

import (
	"context"
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
	stages map[string][2]string // stage -> {versionId, value}
	calls  int
	fail   error
}

func (f *fakeSM) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls++
	if f.fail != nil {
		return nil, f.fail
	}
	v, ok := f.stages[aws.ToString(in.VersionStage)]
	if !ok {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("no such version")}
	}
	return &secretsmanager.GetSecretValueOutput{VersionId: aws.String(v[0]), SecretString: aws.String(v[1])}, nil
}

func parse(b []byte) (string, error) {
	if len(b) == 0 || strings.HasPrefix(string(b), "bad") {
		return "", errors.New("invalid")
	}
	return string(b), nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestVersionsCachesAndReturnsPrevious(t *testing.T) {
	sm := &fakeSM{stages: map[string][2]string{StageCurrent: {"v2", "new"}, StagePrevious: {"v1", "old"}}}
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
	sm.stages[StageCurrent] = [2]string{"v3", "newer"}
	c.t = c.t.Add(2 * time.Second)
	v, _ = cache.Versions(context.Background())
	if sm.calls == calls || v[0].Config != "newer" {
		t.Fatalf("not re-read after TTL: %+v", v)
	}
}

func TestRefreshIsRateLimited(t *testing.T) {
	sm := &fakeSM{stages: map[string][2]string{StageCurrent: {"v1", "a"}}}
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
	sm := &fakeSM{stages: map[string][2]string{StageCurrent: {"v2", "good"}, StagePrevious: {"v1", "bad"}}}
	v, err := New(sm, "id", parse).Versions(ctx)
	if err != nil || len(v) != 1 || v[0].Config != "good" {
		t.Errorf("invalid previous: %+v %v", v, err)
	}
}
