package consumer

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Idempotency makes a Handler handle each event once, whatever the number of
// deliveries: before handling an event it claims the event's key (its
// CloudEvent id) in a Store; once handled it marks the key done, so a later
// copy is skipped; if handling fails it releases the claim, so the retry can
// handle it. A claim left by a consumer that died lasts Lease; then another
// delivery may take it.
type Idempotency struct {
	Store Store
	// TTL is how long a handled key is remembered; default DefaultTTL (the
	// receivers keep events, and so may send one again, for up to 30 days).
	TTL time.Duration
	// Lease is how long a claim keeps other deliveries of the event out
	// while it is being handled; default DefaultLease. Make it longer than
	// the function's timeout (so that no other delivery handles the event
	// while a live invocation does) and shorter than the queue's visibility
	// timeout (so that the delivery after a crash or a timeout can take the
	// claim, instead of failing until the message is dead-lettered).
	Lease time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Defaults of Idempotency.
const (
	DefaultTTL   = 720 * time.Hour
	DefaultLease = 50 * time.Second // the webhook queues' visibility timeout is 60 s
)

// ErrInProgress is returned by Claim when another delivery of the event
// holds a live claim: the record fails and is received again later.
var ErrInProgress = errors.New("consumer: the event is being handled by another delivery")

// Store records claims and handled keys. A Store must make Claim atomic: of
// concurrent claims of one key, at most one succeeds.
type Store interface {
	// Claim takes key until leaseUntil, remembering it until expires. It
	// reports false (and no error) when key was handled before, and
	// ErrInProgress when another claim of key lasts beyond now.
	Claim(ctx context.Context, key string, now, leaseUntil, expires time.Time) (bool, error)
	// Complete marks a claimed key handled, remembered until expires.
	Complete(ctx context.Context, key string, expires time.Time) error
	// Release gives up a claim that was not completed.
	Release(ctx context.Context, key string) error
}

func (i *Idempotency) now() time.Time {
	if i.Now != nil {
		return i.Now()
	}
	return time.Now()
}

func (i *Idempotency) ttl() time.Duration {
	if i.TTL > 0 {
		return i.TTL
	}
	return DefaultTTL
}

// Claim claims key (see Store.Claim).
func (i *Idempotency) Claim(ctx context.Context, key string) (bool, error) {
	if i.Store == nil {
		return false, errors.New("consumer: Idempotency.Store is nil")
	}
	now := i.now()
	lease := i.Lease
	if lease <= 0 {
		lease = DefaultLease
	}
	return i.Store.Claim(ctx, key, now, now.Add(lease), now.Add(i.ttl()))
}

// Complete marks key handled.
func (i *Idempotency) Complete(ctx context.Context, key string) error {
	return i.Store.Complete(ctx, key, i.now().Add(i.ttl()))
}

// Release gives up the claim of key.
func (i *Idempotency) Release(ctx context.Context, key string) error {
	return i.Store.Release(ctx, key)
}

// MemoryStore is a Store in memory: for tests and for a single process (a
// Lambda function's instances do not share it; use DynamoDBStore there). The
// zero value is an empty store, ready for use by any number of goroutines.
type MemoryStore struct {
	mu    sync.Mutex
	items map[string]memoryItem // made by the first write
}

type memoryItem struct {
	done       bool
	leaseUntil time.Time
	expires    time.Time
}

// NewMemoryStore returns an empty MemoryStore (as new(MemoryStore) does).
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// set records an item; the caller holds s.mu.
func (s *MemoryStore) set(key string, it memoryItem) {
	if s.items == nil {
		s.items = map[string]memoryItem{}
	}
	s.items[key] = it
}

// Claim implements Store.
func (s *MemoryStore) Claim(_ context.Context, key string, now, leaseUntil, expires time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.items[key]; ok && now.Before(it.expires) {
		if it.done {
			return false, nil
		}
		if now.Before(it.leaseUntil) {
			return false, ErrInProgress
		}
	}
	s.set(key, memoryItem{leaseUntil: leaseUntil, expires: expires})
	return true, nil
}

// Complete implements Store.
func (s *MemoryStore) Complete(_ context.Context, key string, expires time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.set(key, memoryItem{done: true, expires: expires})
	return nil
}

// Release implements Store.
func (s *MemoryStore) Release(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.items[key]; ok && !it.done {
		delete(s.items, key)
	}
	return nil
}
