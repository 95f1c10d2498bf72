package pipeline

// The pipeline's ports: what it needs of the event store and of the queue,
// declared here, where they are used. A function passes the DynamoDB store
// (eventstore.Store) and the SQS publisher (queue.Publisher), as lambdamain
// wires them; the pipeline's own tests pass the in-memory ones beside them
// (eventstore.Memory, queue.Memory), which conformance tests hold to the
// same behaviour.

import (
	"context"
	"reflect"
	"time"

	"webhooks/shared/eventstore"
	"webhooks/shared/queue"
)

// Store keeps the events: the webhook path's writes (Create, UseOnce,
// MarkQueued, Quarantine, Release and the unsent markers) and
// what the operator commands read (Get, Unsent, Scan, the sweep's cursor).
// Its errors are eventstore's (ErrRefused, ErrUnavailable, ErrNotFound,
// ErrReplay, ErrConflict), wrapping the AWS error where there was one.
type Store interface {
	Create(ctx context.Context, it *eventstore.Item) (*eventstore.Item, error)
	Get(ctx context.Context, provider, eventID string) (*eventstore.Item, error)
	UseOnce(ctx context.Context, provider, credential, bodyMAC string, expires time.Time) error
	MarkQueued(ctx context.Context, provider, eventID, messageID string, received, expires time.Time) error
	Release(ctx context.Context, provider, eventID string) error
	Quarantine(ctx context.Context, provider, eventID, reason string) error
	MarkUnsent(ctx context.Context, provider, eventID string, received time.Time, unconfirmed bool) error
	ClearUnsent(ctx context.Context, provider, eventID string, received time.Time) error
	Unsent(ctx context.Context, provider string, before time.Time) ([]eventstore.Ref, error)
	Scan(ctx context.Context, flt eventstore.ScanFilter) ([]eventstore.Found, error)
	ScanFrom(ctx context.Context, flt eventstore.ScanFilter, cursor *eventstore.ScanCursor) ([]eventstore.Found, *eventstore.ScanCursor, error)
	SweepCursor(ctx context.Context, provider string) (*eventstore.ScanCursor, error)
	SaveSweepCursor(ctx context.Context, provider string, c *eventstore.ScanCursor) error
}

// Queue sends an event's message and returns its message id. Its errors are
// queue's (ErrRefused for a message refused for its content, ErrUnavailable).
type Queue interface {
	Send(ctx context.Context, m queue.Message) (string, error)
}

var (
	_ Store = (*eventstore.Store)(nil)
	_ Queue = (*queue.Publisher)(nil)
)

// missing reports whether a dependency is absent: nil, or a nil pointer in
// an interface (a *eventstore.Store that was never built).
func missing(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}
