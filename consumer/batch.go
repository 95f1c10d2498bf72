package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
)

// HandlerFunc handles one valid message. An error fails the record: it is
// received again after the queue's visibility timeout (and moves to the
// dead-letter queue after maxReceiveCount receives), and every later record
// of its message group in the batch fails with it.
type HandlerFunc func(ctx context.Context, m *Message) error

// Handler handles the batches of a Lambda event source mapping on a FIFO
// queue with ReportBatchItemFailures:
//
//   - a record that is not a valid CloudEvent of a known type fails
//     (Decode), and so does one whose Handle returns an error or panics (a
//     panic in Handle, OnInvalid or a Store is that step's error, wrapping
//     ErrPanic: the same outcome and log line, without the panic's value);
//   - after a failure, every later record of the same message group in the
//     batch fails too, without being handled, so an entity's events are
//     never handled out of order; other groups go on;
//   - with Idempotency, an event id already handled is skipped (reported
//     as a success), and replays follow Replays.
//
// Use it as the Lambda handler: lambda.Start(h.HandleBatch).
type Handler struct {
	// Handle is called for every valid message not skipped, in the batch's
	// order within its group.
	Handle HandlerFunc
	// Idempotency, when set, records each event it handles, so that a
	// message delivered twice (the receivers can, rarely, send an event
	// again after SQS's 5-minute de-duplication window) is handled once.
	Idempotency *Idempotency
	// Replays says what to do with a copy sent again by an operator's replay
	// (a message with replayid). The default, ReplayDeduplicate, treats it as
	// the same event: handled only if its id was never handled.
	Replays ReplayPolicy
	// Groups is how many message groups of a batch are handled at once
	// (records of one group always one after another); 0 or 1: one at a time.
	Groups int
	// OnInvalid, when set, is called for a record Decode refuses (err is its
	// *InvalidError; errors.Is(err, ErrUnknownType) for a type this package
	// does not know, such as an undocumented oslpay.<type>). Returning nil
	// skips the record (deleted, its group goes on): for a consumer that
	// parks such records elsewhere. Returning an error, or leaving OnInvalid
	// nil, fails it.
	OnInvalid func(ctx context.Context, rec events.SQSMessage, err error) error
	// Logger receives one line per failed record (the message id and the
	// reason, never the data); nil: slog.Default(). If it panics, the line
	// is written as JSON to standard error instead.
	Logger *slog.Logger
}

// ReplayPolicy says how a Handler treats a replayed copy of an event.
type ReplayPolicy int

const (
	// ReplayDeduplicate handles a replayed copy only if its event id was
	// never handled (without Idempotency: always).
	ReplayDeduplicate ReplayPolicy = iota
	// ReplayReprocess handles each replay's copy once, whether the original
	// was handled or not (with Idempotency, keyed on the id and the replay).
	ReplayReprocess
	// ReplayIgnore skips every replayed copy (reported as a success).
	ReplayIgnore
)

// ParseReplayPolicy reads "deduplicate", "reprocess" or "ignore" ("" is
// deduplicate).
func ParseReplayPolicy(s string) (ReplayPolicy, error) {
	switch s {
	case "", "deduplicate":
		return ReplayDeduplicate, nil
	case "reprocess":
		return ReplayReprocess, nil
	case "ignore":
		return ReplayIgnore, nil
	}
	return 0, fmt.Errorf("consumer: replay policy %q: want deduplicate, reprocess or ignore", s)
}

// Outcome of one record, for Result.
type Outcome string

// Outcomes.
const (
	Handled Outcome = "handled" // Handle returned nil
	Skipped Outcome = "skipped" // already handled (Idempotency) or an ignored replay
	Failed  Outcome = "failed"  // invalid, or Handle failed: retried
	Held    Outcome = "held"    // not handled: an earlier record of its group failed
)

// Result is what happened to each record of a batch, by SQS message id.
type Result map[string]Outcome

// HandleBatch handles a batch and reports the records that failed (or were
// held behind a failure) as batch item failures. It never returns an error:
// records that succeeded are deleted, the others are received again.
func (h *Handler) HandleBatch(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
	res := h.Process(ctx, batch)
	var resp events.SQSEventResponse
	for _, rec := range batch.Records { // in the batch's order
		if o := res[rec.MessageId]; o == Failed || o == Held {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp, nil
}

// Process handles a batch as HandleBatch does and says what happened to
// each record.
func (h *Handler) Process(ctx context.Context, batch events.SQSEvent) Result {
	// Records by message group, in the batch's order. A record without a
	// group (a standard queue) is a group of its own.
	var groups [][]events.SQSMessage
	index := map[string]int{}
	for _, rec := range batch.Records {
		g, ok := rec.Attributes["MessageGroupId"]
		if i, seen := index[g]; ok && seen {
			groups[i] = append(groups[i], rec)
			continue
		}
		if ok {
			index[g] = len(groups)
		}
		groups = append(groups, []events.SQSMessage{rec})
	}
	res := make(Result, len(batch.Records))
	var mu sync.Mutex
	set := func(id string, o Outcome) {
		mu.Lock()
		res[id] = o
		mu.Unlock()
	}
	run := func(group []events.SQSMessage) {
		failed := false
		for _, rec := range group {
			if failed || ctx.Err() != nil {
				set(rec.MessageId, Held)
				continue
			}
			o := h.one(ctx, rec)
			set(rec.MessageId, o)
			failed = o == Failed
		}
	}
	workers := max(h.Groups, 1)
	if workers == 1 || len(groups) == 1 {
		for _, g := range groups {
			run(g)
		}
		return res
	}
	next := make(chan []events.SQSMessage)
	var wg sync.WaitGroup
	for range min(workers, len(groups)) {
		wg.Go(func() {
			for g := range next {
				run(g)
			}
		})
	}
	for _, g := range groups {
		next <- g
	}
	close(next)
	wg.Wait()
	return res
}

// one handles one record. A panic in Handle, OnInvalid or a Store is an
// error of that step (panicError), failing the record and logged like any
// other failure; a Logger that panics is replaced by fallbackLogger for that
// line (warn).
func (h *Handler) one(ctx context.Context, rec events.SQSMessage) (o Outcome) {
	defer func() {
		// A panic in this package's own steps (Decode): the record fails.
		if r := recover(); r != nil {
			h.warn(ctx, "record failed", "messageId", rec.MessageId, "error", panicError("decoding", r).Error())
			o = Failed
		}
	}()
	m, err := Decode(rec)
	if err != nil {
		if h.OnInvalid != nil && h.onInvalid(ctx, rec, err) == nil {
			return Skipped
		}
		h.warn(ctx, "invalid message", "messageId", rec.MessageId, "error", err.Error())
		return Failed
	}
	if m.Event.IsReplay() && h.Replays == ReplayIgnore {
		return Skipped
	}
	key := m.Event.ID
	if m.Event.IsReplay() && h.Replays == ReplayReprocess {
		key += "#replay#" + m.Event.ReplayID
	}
	if h.Idempotency != nil {
		var claimed bool
		err := guard("Store.Claim", func() (err error) {
			claimed, err = h.Idempotency.Claim(ctx, key)
			return err
		})
		if err != nil {
			h.warn(ctx, "idempotency claim failed", "messageId", rec.MessageId, "eventId", m.Event.ID, "error", err.Error())
			return Failed
		}
		if !claimed {
			return Skipped
		}
	}
	if err := h.call(ctx, m); err != nil {
		h.warn(ctx, "handler failed", "messageId", rec.MessageId, "eventId", m.Event.ID, "type", m.Event.Type, "error", err.Error())
		if h.Idempotency != nil {
			if rerr := guard("Store.Release", func() error { return h.Idempotency.Release(ctx, key) }); rerr != nil {
				h.warn(ctx, "idempotency release failed", "messageId", rec.MessageId, "eventId", m.Event.ID, "error", rerr.Error())
			}
		}
		return Failed
	}
	if h.Idempotency != nil {
		if err := guard("Store.Complete", func() error { return h.Idempotency.Complete(ctx, key) }); err != nil {
			// Handled but not recorded as done: the record succeeds (handling
			// it again now would be the duplicate), and its claim keeps a copy
			// delivered later out until the lease ends.
			h.warn(ctx, "idempotency completion failed", "messageId", rec.MessageId, "eventId", m.Event.ID, "error", err.Error())
		}
	}
	return Handled
}

// onInvalid runs OnInvalid, turning a panic into an error.
func (h *Handler) onInvalid(ctx context.Context, rec events.SQSMessage, invalid error) error {
	return guard("OnInvalid", func() error { return h.OnInvalid(ctx, rec, invalid) })
}

// call runs Handle, turning a panic into an error.
func (h *Handler) call(ctx context.Context, m *Message) error {
	if h.Handle == nil {
		return errors.New("consumer: Handler.Handle is nil")
	}
	return guard("Handle", func() error { return h.Handle(ctx, m) })
}

// ErrPanic is wrapped by the error of a step (Handle, OnInvalid, a Store's
// method) that panicked: the record fails as if the step had returned it.
var ErrPanic = errors.New("consumer: panic")

// guard runs f, turning a panic into an error (panicError).
func guard(step string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicError(step, r)
		}
	}()
	return f()
}

// panicError describes a panic recovered in step without its value, which
// may hold the event's data: the value's type (a runtime error's own text,
// which holds none) and the function and line that panicked. Call it from
// the deferred function that recovered, so that the panic's frames are on
// the stack.
func panicError(step string, r any) error {
	what := fmt.Sprintf("a value of type %T", r)
	if re, ok := r.(runtime.Error); ok {
		what = LogSafe(re.Error())
	}
	if site := panicSite(); site != "" {
		what += " at " + site
	}
	return fmt.Errorf("%w in %s: %s", ErrPanic, step, what)
}

// panicSite is the first function below the runtime's panic frames on the
// stack: the one that panicked ("main.handle (main.go:42)").
func panicSite() string {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(1, pcs)])
	inPanic := false
	for {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.gopanic":
			inPanic = true
		case inPanic && !strings.HasPrefix(f.Function, "runtime."):
			return fmt.Sprintf("%s (%s:%d)", f.Function, filepath.Base(f.File), f.Line)
		}
		if !more {
			return ""
		}
	}
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// fallbackLogger writes the lines of a Logger that panicked: JSON on
// standard error, which Lambda sends to the function's log group.
var fallbackLogger = slog.New(slog.NewJSONHandler(os.Stderr, nil))

// warn writes one warning line (a failed record: its ids and the reason,
// never the data). If the Logger panics, the same line goes to
// fallbackLogger; a panic there is dropped: logging never fails a batch.
func (h *Handler) warn(ctx context.Context, msg string, args ...any) {
	if guard("Logger", func() error { h.logger().WarnContext(ctx, msg, args...); return nil }) != nil {
		_ = guard("Logger", func() error { fallbackLogger.WarnContext(ctx, msg, args...); return nil })
	}
}
