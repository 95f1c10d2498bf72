// Package secrets reads a provider's secret from AWS Secrets Manager and keeps it
// in memory for a bounded time. Both the AWSCURRENT and the AWSPREVIOUS versions
// are returned so that a request signed with a secret that is being rotated out
// still verifies (zero-downtime rotation).
package secrets

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// Defaults from the design: cache for 5 minutes, force a re-read on a
// verification failure at most once a minute.
const (
	DefaultTTL        = 5 * time.Minute
	DefaultMinRefresh = time.Minute
)

// Stage labels read, in the order they are tried.
const (
	StageCurrent  = "AWSCURRENT"
	StagePrevious = "AWSPREVIOUS"
)

var (
	// ErrNotConfigured means the secret does not exist or has no usable AWSCURRENT
	// value: an operator must set it. Never treated as "skip verification".
	ErrNotConfigured = errors.New("secrets: secret is not configured")
	// ErrUnavailable means Secrets Manager could not be read; the caller should
	// answer with a retryable 5xx.
	ErrUnavailable = errors.New("secrets: Secrets Manager is unavailable")
)

// API is the part of the Secrets Manager client this package uses.
type API interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ API = (*secretsmanager.Client)(nil)

// Version is one readable version of the secret.
type Version[C any] struct {
	Stage     string
	VersionID string
	Config    C
}

// Cache holds the parsed versions of one secret.
type Cache[C any] struct {
	api        API
	id         string
	parse      func([]byte) (C, error)
	ttl        time.Duration
	minRefresh time.Duration
	now        func() time.Time

	mu         sync.Mutex
	versions   []Version[C]
	fetched    time.Time
	lastForced time.Time
	parsed     map[string]C // by version id: a version's value never changes
}

// Option changes a Cache's defaults.
type Option func(*cacheOpts)

type cacheOpts struct {
	ttl, minRefresh time.Duration
	now             func() time.Time
}

// WithTTL sets how long values are served from memory.
func WithTTL(d time.Duration) Option { return func(o *cacheOpts) { o.ttl = d } }

// WithMinRefresh sets the least time between two forced re-reads.
func WithMinRefresh(d time.Duration) Option { return func(o *cacheOpts) { o.minRefresh = d } }

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(o *cacheOpts) { o.now = now } }

// New returns a cache of the secret id, parsed with parse. parse must reject an
// empty or incomplete value with an error.
func New[C any](api API, id string, parse func([]byte) (C, error), opts ...Option) *Cache[C] {
	o := cacheOpts{ttl: DefaultTTL, minRefresh: DefaultMinRefresh, now: time.Now}
	for _, f := range opts {
		f(&o)
	}
	return &Cache[C]{api: api, id: id, parse: parse, ttl: o.ttl, minRefresh: o.minRefresh, now: o.now, parsed: map[string]C{}}
}

// Versions returns the usable versions, AWSCURRENT first, reading Secrets
// Manager when the cached copy is older than the TTL.
func (c *Cache[C]) Versions(ctx context.Context) ([]Version[C], error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.versions != nil && c.now().Sub(c.fetched) < c.ttl {
		return c.versions, nil
	}
	return c.load(ctx)
}

// Refresh re-reads the secret ahead of its TTL, as after a verification failure,
// but at most once per minimum refresh interval. It reports whether it re-read.
func (c *Cache[C]) Refresh(ctx context.Context) ([]Version[C], bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !c.lastForced.IsZero() && now.Sub(c.lastForced) < c.minRefresh {
		return c.versions, false, nil
	}
	c.lastForced = now
	v, err := c.load(ctx)
	return v, err == nil, err
}

// Reload re-reads the secret now, regardless of the refresh limit. It is for
// rare operator actions (re-processing after a fix), not for the request path,
// where Refresh's limit protects Secrets Manager from floods of bad requests.
func (c *Cache[C]) Reload(ctx context.Context) ([]Version[C], error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.load(ctx)
}

func (c *Cache[C]) load(ctx context.Context) ([]Version[C], error) {
	cur, err := c.read(ctx, StageCurrent)
	if err != nil {
		return nil, err
	}
	if cur == nil {
		return nil, fmt.Errorf("%w: %s has no %s version", ErrNotConfigured, c.id, StageCurrent)
	}
	out := []Version[C]{*cur}
	prev, err := c.read(ctx, StagePrevious)
	switch {
	case err != nil && errors.Is(err, ErrUnavailable):
		return nil, err
	case err != nil:
		// A broken previous version must not take the current one down with it.
	case prev != nil:
		out = append(out, *prev)
	}
	c.versions, c.fetched = out, c.now()
	return out, nil
}

// read returns nil, nil when the stage does not exist.
func (c *Cache[C]) read(ctx context.Context, stage string) (*Version[C], error) {
	res, err := c.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(c.id), VersionStage: aws.String(stage)})
	if err != nil {
		var nf *smtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			if stage == StageCurrent {
				return nil, fmt.Errorf("%w: %s not found", ErrNotConfigured, c.id)
			}
			return nil, nil
		}
		return nil, fmt.Errorf("%w: read %s (%s): %w", ErrUnavailable, c.id, stage, err)
	}
	vid := aws.ToString(res.VersionId)
	if cfg, ok := c.parsed[vid]; ok && vid != "" {
		return &Version[C]{Stage: stage, VersionID: vid, Config: cfg}, nil
	}
	raw := res.SecretBinary
	if res.SecretString != nil {
		raw = []byte(*res.SecretString)
	}
	cfg, err := c.parse(raw)
	if err != nil {
		// The value is never part of the error: only which secret and stage.
		return nil, fmt.Errorf("%w: %s (%s) is not a valid secret for this provider: %w", ErrNotConfigured, c.id, stage, err)
	}
	if vid != "" {
		c.parsed[vid] = cfg
	}
	return &Version[C]{Stage: stage, VersionID: vid, Config: cfg}, nil
}
