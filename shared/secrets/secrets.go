// Package secrets reads a provider's secret from AWS Secrets Manager and keeps it
// in memory for a bounded time. The AWSCURRENT version is always used; the
// AWSPREVIOUS version as well, but only for a grace period after AWSCURRENT was
// created (the secret's optional "previousVersionGraceHours", default 48, 0 =
// never), so that a request signed with a secret that is being rotated out
// still verifies (zero-downtime rotation) without the old secret working for
// ever. AWSPREVIOUS is read only when a request needs it (see Cache).
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// Defaults from the design: cache for 5 minutes, force a re-read on a
// verification failure at most once a minute, accept the previous version for
// 48 hours after the current one was created.
const (
	DefaultTTL        = 5 * time.Minute
	DefaultMinRefresh = time.Minute
	DefaultGrace      = 48 * time.Hour
)

// GraceField is the optional field of any provider's secret that sets, in
// hours, how long after AWSCURRENT's creation AWSPREVIOUS is still accepted.
const GraceField = "previousVersionGraceHours"

// maxGraceHours bounds GraceField (a year).
const maxGraceHours = 365 * 24

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
	Created   time.Time // when Secrets Manager created this version
}

// Previous reports whether v is the AWSPREVIOUS version.
func (v Version[C]) Previous() bool { return v.Stage == StagePrevious }

// Cache holds the parsed versions of one secret.
//
// AWSCURRENT is read first and alone: it is all a request signed with the
// current secret needs, so a fresh function makes one call. AWSPREVIOUS is read
// only when something needs it: a request that AWSCURRENT (and any version
// already read) does not verify, or a caller of Versions, which returns every
// usable version. It is read only while it may be used (within the grace period
// after AWSCURRENT's creation), at most once per read of AWSCURRENT, and after a
// failed read at most once per minimum refresh interval; a read that fails is
// an error (ErrUnavailable: the request is answered 503 and retried), never
// "previous version absent", so an unreadable AWSPREVIOUS neither accepts nor
// refuses a request that only it could decide.
type Cache[C any] struct {
	api        API
	id         string
	parse      func([]byte) (C, error)
	ttl        time.Duration
	minRefresh time.Duration
	now        func() time.Time

	mu         sync.Mutex
	current    *Version[C]
	grace      time.Duration // AWSCURRENT's grace period for AWSPREVIOUS
	fetched    time.Time
	lastForced time.Time
	prev       previousState[C]
	parsed     map[string]parsedVersion[C] // by version id: a version's value never changes
	firstSeen  map[string]time.Time        // by version id, for a version Secrets Manager gave no creation date
}

// previousState is what the cache knows of AWSPREVIOUS since AWSCURRENT was
// last read.
type previousState[C any] struct {
	read     bool        // read since AWSCURRENT was; version is nil when absent or broken
	version  *Version[C] // the previous version, when read and usable
	failedAt time.Time   // the last read that failed (Secrets Manager unavailable)
	failure  error       // its error, answered again until the next read may be tried
}

type parsedVersion[C any] struct {
	cfg   C
	grace time.Duration
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
	return &Cache[C]{api: api, id: id, parse: parse, ttl: o.ttl, minRefresh: o.minRefresh, now: o.now,
		parsed: map[string]parsedVersion[C]{}, firstSeen: map[string]time.Time{}}
}

// Current returns the AWSCURRENT version, reading Secrets Manager when the
// cached copy is older than the TTL. It never reads AWSPREVIOUS: it is the
// start-up check's read, the one the first request needs.
func (c *Cache[C]) Current(ctx context.Context) (Version[C], error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fresh(ctx); err != nil {
		return Version[C]{}, err
	}
	return *c.current, nil
}

// CurrentAndGraceEnd returns the AWSCURRENT version, reading Secrets Manager
// when the cached copy is older than the TTL, and the end of its grace period:
// the time after which AWSPREVIOUS verifies nothing, whatever it holds (at or
// before AWSCURRENT's creation when the grace is 0). It never reads
// AWSPREVIOUS: a caller that must outlast every version that could verify
// something can wait for that time instead of reading what AWSPREVIOUS holds.
func (c *Cache[C]) CurrentAndGraceEnd(ctx context.Context) (Version[C], time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fresh(ctx); err != nil {
		return Version[C]{}, time.Time{}, err
	}
	return *c.current, c.graceEnd(), nil
}

// Versions returns every usable version, AWSCURRENT first, reading Secrets
// Manager when the cached copy is older than the TTL. AWSPREVIOUS is among
// them only until the grace period after AWSCURRENT's creation has passed; it
// is read here when it may be usable and has not been read since AWSCURRENT
// was, and a failure to read it is an error (ErrUnavailable): a caller that
// reasons about every version never sees a partial list.
func (c *Cache[C]) Versions(ctx context.Context) ([]Version[C], error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fresh(ctx); err != nil {
		return nil, err
	}
	if err := c.ensurePrevious(ctx); err != nil {
		return nil, err
	}
	return c.usable(), nil
}

// fresh reads AWSCURRENT when it is not cached or older than the TTL.
func (c *Cache[C]) fresh(ctx context.Context) error {
	if c.current != nil && c.now().Sub(c.fetched) < c.ttl {
		return nil
	}
	return c.load(ctx)
}

// usable is the versions read so far that may be used now, AWSCURRENT first.
func (c *Cache[C]) usable() []Version[C] {
	out := []Version[C]{*c.current}
	if c.prev.version != nil && c.previousMayBeUsed() {
		out = append(out, *c.prev.version)
	}
	return out
}

// previousMayBeUsed reports whether AWSPREVIOUS may be used now: within the
// grace period (AWSCURRENT's) after AWSCURRENT was created.
func (c *Cache[C]) previousMayBeUsed() bool {
	return c.now().Before(c.graceEnd())
}

// graceEnd is when AWSCURRENT's grace period for AWSPREVIOUS ends.
func (c *Cache[C]) graceEnd() time.Time { return c.current.Created.Add(c.grace) }

// ensurePrevious reads AWSPREVIOUS if it may be used and has not been read
// since AWSCURRENT was. After a failed read, it answers that failure again
// without a call until the minimum refresh interval has passed, so a flood of
// requests that AWSCURRENT does not verify cannot flood Secrets Manager.
func (c *Cache[C]) ensurePrevious(ctx context.Context) error {
	if c.prev.read || !c.previousMayBeUsed() {
		return nil
	}
	now := c.now()
	if c.prev.failure != nil && now.Sub(c.prev.failedAt) < c.minRefresh {
		return c.prev.failure
	}
	p, _, err := c.read(ctx, StagePrevious)
	switch {
	case err != nil && errors.Is(err, ErrUnavailable):
		c.prev.failedAt, c.prev.failure = now, err
		return err
	case err != nil:
		// A broken previous version must not take the current one down with it:
		// it is read as absent.
		p = nil
	}
	c.prev = previousState[C]{read: true, version: p}
	return nil
}

// Refresh re-reads the secret ahead of its TTL, as after a verification failure,
// but at most once per minimum refresh interval. It reports whether it re-read,
// and returns every usable version as Versions does.
func (c *Cache[C]) Refresh(ctx context.Context) ([]Version[C], bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	refreshed, err := c.forceLoad(ctx)
	if err != nil || c.current == nil {
		return nil, refreshed, err
	}
	if err := c.ensurePrevious(ctx); err != nil {
		return nil, refreshed, err
	}
	return c.usable(), refreshed, nil
}

// forceLoad re-reads AWSCURRENT unless it was forced less than the minimum
// refresh interval ago; it reports whether it re-read.
func (c *Cache[C]) forceLoad(ctx context.Context) (bool, error) {
	now := c.now()
	if !c.lastForced.IsZero() && now.Sub(c.lastForced) < c.minRefresh {
		return false, nil
	}
	c.lastForced = now
	if err := c.load(ctx); err != nil {
		return false, err
	}
	return true, nil
}

// Try is how every use of the secret goes: it calls try with each usable
// version, prefer first (by version id; "" means AWSCURRENT first) and then
// the others in order, until one succeeds. AWSPREVIOUS is read only when no
// version already read succeeds (and only while it may be used). When none
// does, the cached copy may predate a rotation: it re-reads the secret
// (at most once per minimum refresh interval) and, when it did, tries again
// the same way. try receives the usable versions read so far too, AWSCURRENT
// always first, for checks that only the current version may decide.
//
// It returns the version that succeeded and the usable versions read. An error
// reading the secret is returned as is (ErrNotConfigured, ErrUnavailable) with
// no versions; that includes AWSPREVIOUS when it may be used and cannot be
// read, so that such a request is retried rather than refused. A failure of
// try is the first error try returned for the versions last tried.
func (c *Cache[C]) Try(ctx context.Context, prefer string, try func(v Version[C], all []Version[C]) error) (Version[C], []Version[C], error) {
	c.mu.Lock()
	err := c.fresh(ctx)
	var versions []Version[C]
	if err == nil {
		versions = c.usable()
	}
	c.mu.Unlock()
	if err != nil {
		return Version[C]{}, nil, err
	}
	v, versions, tryErr, err := c.round(ctx, versions, prefer, try)
	if err != nil || tryErr == nil {
		return v, versions, err
	}
	c.mu.Lock()
	refreshed, err := c.forceLoad(ctx)
	var fresh []Version[C]
	if refreshed {
		fresh = c.usable()
	}
	c.mu.Unlock()
	if err != nil || !refreshed {
		// The versions known have all been tried: the request is refused as it
		// would have been without the opportunistic re-read.
		return Version[C]{}, versions, tryErr
	}
	v, fresh, tryErr, err = c.round(ctx, fresh, prefer, try)
	if err != nil {
		return v, nil, err
	}
	return v, fresh, tryErr
}

// round tries the versions, then, when none succeeds, AWSPREVIOUS if it was
// not among them and may be used (reading it). err is a failure to read it.
func (c *Cache[C]) round(ctx context.Context, versions []Version[C], prefer string, try func(Version[C], []Version[C]) error) (v Version[C], all []Version[C], tryErr, err error) {
	v, tryErr = tryEach(versions, prefer, try)
	if tryErr == nil {
		return v, versions, nil, nil
	}
	c.mu.Lock()
	err = c.ensurePrevious(ctx)
	var more []Version[C]
	if err == nil {
		more = c.usable()
	}
	c.mu.Unlock()
	if err != nil {
		return Version[C]{}, nil, tryErr, err
	}
	for _, p := range more {
		if !tried(versions, p) && try(p, more) == nil {
			return p, more, nil, nil
		}
	}
	return Version[C]{}, more, tryErr, nil
}

// tried reports whether v is among versions.
func tried[C any](versions []Version[C], v Version[C]) bool {
	for _, t := range versions {
		if t.Stage == v.Stage && t.VersionID == v.VersionID && t.Created.Equal(v.Created) {
			return true
		}
	}
	return false
}

func tryEach[C any](versions []Version[C], prefer string, try func(Version[C], []Version[C]) error) (Version[C], error) {
	var first error
	attempt := func(v Version[C]) bool {
		err := try(v, versions)
		if err != nil && first == nil {
			first = err
		}
		return err == nil
	}
	if prefer != "" {
		for _, v := range versions {
			if v.VersionID == prefer && attempt(v) {
				return v, nil
			}
		}
	}
	for _, v := range versions {
		if (prefer == "" || v.VersionID != prefer) && attempt(v) {
			return v, nil
		}
	}
	return Version[C]{}, first
}

// Reload re-reads the secret now, regardless of the refresh limit, and returns
// every usable version as Versions does. It is for rare operator actions
// (re-processing after a fix), not for the request path, where Refresh's limit
// protects Secrets Manager from floods of bad requests.
func (c *Cache[C]) Reload(ctx context.Context) ([]Version[C], error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.load(ctx); err != nil {
		return nil, err
	}
	if err := c.ensurePrevious(ctx); err != nil {
		return nil, err
	}
	return c.usable(), nil
}

// load reads AWSCURRENT; AWSPREVIOUS is to be read again when needed.
func (c *Cache[C]) load(ctx context.Context) error {
	cur, grace, err := c.read(ctx, StageCurrent)
	if err != nil {
		return err
	}
	if cur == nil {
		return fmt.Errorf("%w: %s has no %s version", ErrNotConfigured, c.id, StageCurrent)
	}
	c.current, c.grace, c.fetched = cur, grace, c.now()
	c.prev = previousState[C]{failedAt: c.prev.failedAt, failure: c.prev.failure}
	return nil
}

// read returns nil, 0, nil when the stage does not exist. The duration is the
// version's grace period for the previous version.
func (c *Cache[C]) read(ctx context.Context, stage string) (*Version[C], time.Duration, error) {
	res, err := c.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(c.id), VersionStage: aws.String(stage)})
	if err != nil {
		var nf *smtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			if stage == StageCurrent {
				return nil, 0, fmt.Errorf("%w: %s not found", ErrNotConfigured, c.id)
			}
			return nil, 0, nil
		}
		return nil, 0, fmt.Errorf("%w: read %s (%s): %w", ErrUnavailable, c.id, stage, err)
	}
	vid := aws.ToString(res.VersionId)
	created := aws.ToTime(res.CreatedDate)
	if created.IsZero() {
		// Secrets Manager always gives a creation date; an emulator may not. The
		// first time this instance saw the version bounds it from above.
		if _, ok := c.firstSeen[vid]; !ok {
			c.firstSeen[vid] = c.now()
		}
		created = c.firstSeen[vid]
	}
	if pv, ok := c.parsed[vid]; ok && vid != "" {
		return &Version[C]{Stage: stage, VersionID: vid, Config: pv.cfg, Created: created}, pv.grace, nil
	}
	raw := res.SecretBinary
	if res.SecretString != nil {
		raw = []byte(*res.SecretString)
	}
	cfg, err := c.parse(raw)
	if err != nil {
		// The value is never part of the error: only which secret and stage.
		return nil, 0, fmt.Errorf("%w: %s (%s) is not a valid secret for this provider: %w", ErrNotConfigured, c.id, stage, err)
	}
	grace, err := ParseGrace(raw)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %s (%s): %w", ErrNotConfigured, c.id, stage, err)
	}
	if vid != "" {
		c.parsed[vid] = parsedVersion[C]{cfg: cfg, grace: grace}
	}
	return &Version[C]{Stage: stage, VersionID: vid, Config: cfg, Created: created}, grace, nil
}

// ParseGrace reads GraceField from a secret's JSON object: absent or null is
// DefaultGrace; otherwise a number of hours from 0 (never accept the previous
// version) to a year. The error never contains the secret's values.
func ParseGrace(raw []byte) (time.Duration, error) {
	var f map[string]json.RawMessage
	if err := json.Unmarshal(raw, &f); err != nil {
		return 0, errors.New("secret must be a JSON object")
	}
	v, ok := f[GraceField]
	if !ok || string(v) == "null" {
		return DefaultGrace, nil
	}
	var h float64
	if err := json.Unmarshal(v, &h); err != nil || math.IsNaN(h) || h < 0 || h > maxGraceHours {
		return 0, fmt.Errorf("secret field %q must be a number of hours from 0 to %d", GraceField, maxGraceHours)
	}
	return time.Duration(h * float64(time.Hour)), nil
}
