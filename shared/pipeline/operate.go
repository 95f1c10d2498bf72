package pipeline

// The operator commands that send stored events: redrive (events stored but
// never confirmed queued) and replay (queued events sent again to a consumer
// that lost its work). Neither adds a call or a write to the path of a
// webhook: redrive reads the unsent markers a failed send leaves (and, when
// asked, scans the table), replay scans the table.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"webhooks/shared/eventstore"
	"webhooks/shared/metrics"
	"webhooks/shared/queue"
)

// RedriveCommand sends every event stored but not confirmed queued for longer
// than OlderThan, then marks it queued. It reads the unsent markers a failed
// send leaves; Sweep also scans the table, for an event no marker names (its
// function was killed between storing and sending it).
type RedriveCommand struct {
	OlderThan string `json:"olderThan"`
	Sweep     bool   `json:"sweep,omitempty"`
}

// RedriveResult is the answer to a RedriveCommand.
type RedriveResult struct {
	Found  int `json:"found"`  // stored, not queued, older than the cutoff
	Sent   int `json:"sent"`   // sent and marked queued by this run
	Failed int `json:"failed"` // not sent (still stranded: the next run tries again)
	// Quarantined counts found events that turned out unprocessable: they
	// are quarantined now (reprocess is their path), not failed.
	Quarantined int `json:"quarantined,omitempty"`
	// Remaining counts found events not tried before the function's time ran
	// out (included in Failed): the next run takes them, oldest first.
	Remaining int `json:"remaining,omitempty"`
	// Missing counts unsent markers whose event is gone from the table
	// (included in Found): stored, never queued, and now lost to the table.
	// Each is logged with its id and raises the RedriveMissing alarm.
	Missing int `json:"missing,omitempty"`
	// SweepIncomplete: the sweep's scan did not reach the end of the table in
	// the half of the function's time it may use; the next sweep reads on
	// from where this one stopped.
	SweepIncomplete bool `json:"sweepIncomplete,omitempty"`
}

// ReplayCommand sends again every queued event received in [From, To)
// (RFC 3339), optionally only of Types and Subjects, oldest first. ReplayID
// resumes an earlier replay (see ReplayResult.Resume).
type ReplayCommand struct {
	From     string   `json:"from"`
	To       string   `json:"to"`
	Types    []string `json:"types,omitempty"`
	Subjects []string `json:"subjects,omitempty"`
	DryRun   bool     `json:"dryRun,omitempty"`
	ReplayID string   `json:"replayId,omitempty"`
}

// ReplayResult is the answer to a ReplayCommand.
type ReplayResult struct {
	Matched  int    `json:"matched"`
	Sent     int    `json:"sent"`
	ReplayID string `json:"replayId"`
	// Failed counts matched events not sent: expired since, unprocessable
	// now (a decryption key removed), or refused by SQS. Each is logged.
	Failed int `json:"failed,omitempty"`
	// Resume, when set, is the command that finishes this replay: the
	// function's time ran out (or SQS failed) before every matched event was
	// sent. It starts at the first event not sent, with the same replay id:
	// an event sent again within SQS's 5-minute de-duplication window is
	// dropped by SQS, not delivered twice.
	Resume *ReplayCommand `json:"resume,omitempty"`
}

// commandMargin is the time a command keeps in hand before the function's
// deadline: it starts no event it may not finish, and answers in time.
const commandMargin = 2 * time.Second

func timeShort(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < commandMargin
}

// eventContext bounds one event's calls so that the command still answers
// when they run slow (SQS throttling, SDK retries): the reply, with its
// counts and resume point, is never lost to Lambda's own timeout.
func eventContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, dl.Add(-commandMargin/2))
	}
	return context.WithCancel(ctx)
}

// scanContext bounds a Scan so that the command can still answer.
func scanContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, dl.Add(-commandMargin))
	}
	return context.WithCancel(ctx)
}

// Redrive runs a RedriveCommand.
func (h *Handler[C]) Redrive(ctx context.Context, cmd RedriveCommand) (RedriveResult, error) {
	var res RedriveResult
	if cmd.OlderThan == "" {
		return res, invalidCommand(`redrive: olderThan is required (a Go duration such as "5m")`)
	}
	d, err := time.ParseDuration(cmd.OlderThan)
	if err != nil || d < 0 {
		return res, invalidCommand("redrive: olderThan %q is not a non-negative Go duration such as \"5m\"", cmd.OlderThan)
	}
	name := h.p.Name()
	cutoff := h.opt.Now().Add(-d)
	refs, err := h.store.Unsent(ctx, name, cutoff)
	if err != nil {
		return res, fmt.Errorf("redrive: %w", err)
	}
	if cmd.Sweep {
		// A sweep that fails does not hold back what the markers name.
		found, complete := h.sweep(ctx, cutoff)
		res.SweepIncomplete = !complete
		refs = mergeRefs(refs, found)
	}
	for i, r := range refs {
		if timeShort(ctx) {
			res.Remaining = len(refs) - i
			res.Found += res.Remaining
			res.Failed += res.Remaining
			break
		}
		ectx, cancel := eventContext(ctx)
		h.redriveOne(ectx, r, cutoff, &res)
		cancel()
	}
	h.opt.Metrics.Redrive(name, res.Found, res.Sent, res.Failed, res.Missing)
	level := slog.LevelInfo
	if res.Failed > 0 || res.Missing > 0 {
		level = slog.LevelError
	}
	h.log.LogAttrs(ctx, level, "redrive", slog.String("olderThan", cmd.OlderThan), slog.Bool("sweep", cmd.Sweep),
		slog.Int("found", res.Found), slog.Int("sent", res.Sent), slog.Int("failed", res.Failed),
		slog.Int("quarantined", res.Quarantined), slog.Int("remaining", res.Remaining), slog.Int("missing", res.Missing),
		slog.Bool("sweepIncomplete", res.SweepIncomplete))
	return res, nil
}

// sweep scans the table for stored events received before the cutoff, in at
// most half the time left (the other half sends what it finds), reading on
// from where the last unfinished sweep stopped. complete: the scan reached
// the end of the table. A scan that fails (DynamoDB unavailable) is logged
// and returns what it found; its cursor is kept for the next sweep.
func (h *Handler[C]) sweep(ctx context.Context, cutoff time.Time) (found []eventstore.Found, complete bool) {
	name := h.p.Name()
	cursor, err := h.store.SweepCursor(ctx, name)
	if err != nil {
		h.log.WarnContext(ctx, "sweep cursor not read: this sweep starts over", slog.String("error", err.Error()))
	}
	sctx, cancel := context.WithCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		sctx, cancel = context.WithDeadline(ctx, time.Now().Add(time.Until(dl.Add(-commandMargin))/2))
	}
	found, next, err := h.store.ScanFrom(sctx, eventstore.ScanFilter{Provider: name, Status: eventstore.StatusStored, To: cutoff}, cursor)
	cancel()
	switch {
	case err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
		h.log.WarnContext(ctx, "redrive sweep did not reach the end of the table in its time; the next sweep reads on", slog.Int("found", len(found)))
	case err != nil:
		h.log.ErrorContext(ctx, "redrive sweep failed; sending what it found, the next sweep reads on", slog.Int("found", len(found)), slog.String("error", err.Error()))
	}
	if next != nil || cursor != nil {
		if err := h.store.SaveSweepCursor(ctx, name, next); err != nil {
			h.log.WarnContext(ctx, "sweep cursor not saved: the next sweep starts over", slog.String("error", err.Error()))
		}
	}
	return found, next == nil && err == nil
}

// redriveOne sends one event a marker or the sweep named, if it is still
// stored and older than the cutoff.
func (h *Handler[C]) redriveOne(ctx context.Context, r eventstore.Ref, cutoff time.Time, res *RedriveResult) {
	name := h.p.Name()
	it, err := h.store.Get(ctx, name, r.EventID)
	switch {
	case errors.Is(err, eventstore.ErrNotFound) && r.Unconfirmed:
		// The store that left this marker got no answer and was, it turns
		// out, not applied: that webhook was answered 503, nothing was stored.
		h.clearUnsent(ctx, name, r)
		return
	case errors.Is(err, eventstore.ErrNotFound):
		// The event was stored and is gone: an event has no TTL until it is
		// queued, so something deleted it (by hand, a restore, or a TTL it
		// was given before that rule). Nothing can be sent; it is reported
		// (the reply, the RedriveMissing metric and its alarm, this log line
		// with the event's id and receipt time), never passed over silently.
		res.Found++
		res.Missing++
		h.log.ErrorContext(ctx, "redrive: the marked event is gone from the table; it was stored, never queued, and cannot be sent",
			slog.String("eventId", r.EventID), slog.String("receivedAt", eventstore.FormatTime(r.ReceivedAt)))
		h.clearUnsent(ctx, name, r)
		return
	case err != nil:
		res.Found++
		res.Failed++
		h.log.ErrorContext(ctx, "redrive: event not read", slog.String("eventId", r.EventID), slog.String("error", err.Error()))
		return
	case it.Status != eventstore.StatusStored: // queued meanwhile, or quarantined (reprocess is its path)
		h.clearUnsent(ctx, name, r)
		return
	case !it.ReceivedAt.Before(cutoff):
		return
	}
	res.Found++
	data, q, err := h.storedData(ctx, it, "")
	if err != nil {
		res.Failed++
		h.log.ErrorContext(ctx, "redrive: event not prepared", slog.String("eventId", it.EventID), slog.String("error", err.Error()))
		return
	}
	out := h.advance(ctx, it, false, data, q, byRedrive)
	switch {
	case out.status >= 300:
		res.Failed++
		h.log.ErrorContext(ctx, "redrive: event not sent", slog.String("eventId", it.EventID), slog.String("error", errString(out.err)))
	case out.outcome == metrics.Quarantined:
		res.Quarantined++
		h.clearUnsent(ctx, name, r)
		h.log.WarnContext(ctx, "redrive: event quarantined", slog.String("eventId", it.EventID), slog.String("reason", it.Reason))
	case out.outcome == metrics.Accepted:
		res.Sent++
		if !r.ReceivedAt.Equal(it.ReceivedAt) {
			// A marker left by a redelivery (its own receipt time, when its
			// store got no answer): the send cleared the event's, not this.
			h.clearUnsent(ctx, name, r)
		}
		h.log.InfoContext(ctx, "redriven", slog.String("eventId", it.EventID), slog.String("eventType", it.Type))
	default: // queued meanwhile by a delivery of the webhook
		h.clearUnsent(ctx, name, r)
	}
}

func (h *Handler[C]) clearUnsent(ctx context.Context, provider string, r eventstore.Ref) {
	if err := h.store.ClearUnsent(ctx, provider, r.EventID, r.ReceivedAt); err != nil {
		h.log.WarnContext(ctx, "unsent marker not cleared", slog.String("eventId", r.EventID), slog.String("error", err.Error()))
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// mergeRefs adds the sweep's events to the markers' (each once), oldest first.
func mergeRefs(refs []eventstore.Ref, found []eventstore.Found) []eventstore.Ref {
	seen := make(map[string]bool, len(refs))
	for _, r := range refs {
		seen[r.EventID] = true
	}
	for _, f := range found {
		if !seen[f.EventID] {
			seen[f.EventID] = true
			refs = append(refs, f.Ref)
		}
	}
	slices.SortStableFunc(refs, func(a, b eventstore.Ref) int {
		if c := a.ReceivedAt.Compare(b.ReceivedAt); c != 0 {
			return c
		}
		return strings.Compare(a.EventID, b.EventID)
	})
	return refs
}

var replayIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// replayWindow is a validated ReplayCommand.
type replayWindow struct {
	from, to time.Time
	types    map[string]bool
	subjects map[string]bool
}

func (h *Handler[C]) parseReplay(cmd ReplayCommand) (replayWindow, error) {
	var w replayWindow
	var err error
	if cmd.From == "" || cmd.To == "" {
		return w, invalidCommand("replay: from and to are required (RFC 3339 times: the window [from, to) of receipt)")
	}
	if w.from, err = time.Parse(time.RFC3339Nano, cmd.From); err != nil {
		return w, invalidCommand("replay: from %q is not an RFC 3339 time", cmd.From)
	}
	if w.to, err = time.Parse(time.RFC3339Nano, cmd.To); err != nil {
		return w, invalidCommand("replay: to %q is not an RFC 3339 time", cmd.To)
	}
	if !w.from.Before(w.to) {
		return w, invalidCommand("replay: from %s is not before to %s", cmd.From, cmd.To)
	}
	if w.from.UTC().Year() > 9999 {
		return w, invalidCommand("replay: from %q is after the end of time (9999-12-31T23:59:59.999Z in UTC)", cmd.From)
	}
	if endOfTime(w.to) {
		w.to = time.Time{} // the window reaches the end of time: no upper bound
	}
	if w.from.UTC().Year() < 0 {
		w.from = time.Time{} // before any receipt time: no lower bound
	}
	if len(cmd.Types) > 0 {
		et, ok := any(h.p).(EventTyper)
		w.types = map[string]bool{}
		for _, t := range cmd.Types {
			if !ok || !et.IsEventType(t) {
				return w, invalidCommand("replay: type %q is not a %s event type", t, h.p.Name())
			}
			w.types[t] = true
		}
	}
	if len(cmd.Subjects) > 0 {
		w.subjects = map[string]bool{}
		for _, s := range cmd.Subjects {
			if s == "" {
				return w, invalidCommand("replay: a subject is empty")
			}
			w.subjects[s] = true
		}
	}
	if cmd.ReplayID != "" && !replayIDPattern.MatchString(cmd.ReplayID) {
		return w, invalidCommand("replay: replayId %q must be 1 to 64 letters, digits, '-' or '_'", cmd.ReplayID)
	}
	return w, nil
}

// lastSecond is the start of the last second RFC 3339 can write in UTC.
var lastSecond = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// endOfTime reports whether a window's end t reaches the end of time: the
// last second RFC 3339 can write in UTC (9999-12-31T23:59:59.999Z is the
// latest receipt time a table can hold), or later (an offset that puts it
// in year 10000 in UTC). Such a window matches every event after its start.
func endOfTime(t time.Time) bool { return !t.Before(lastSecond) }

func (w replayWindow) matches(f eventstore.Found) bool {
	subject := f.Subject
	if subject == "" { // the message's subject is then the event id
		subject = f.EventID
	}
	return (w.types == nil || w.types[f.Type]) && (w.subjects == nil || w.subjects[subject])
}

// newReplayID is a replay's id: its start time (readable, sortable) and 32
// random bits.
func newReplayID(now time.Time) (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:]), nil
}

// ReplayDeduplicationID is the MessageDeduplicationId of an event's copy in a
// replay: unique to the replay, so SQS never drops it as a duplicate of the
// original, and the same when a resumed replay sends the event again.
func ReplayDeduplicationID(replayID, eventID string) string {
	return "replay-" + replayID + "-" + eventID
}

// Replay runs a ReplayCommand.
func (h *Handler[C]) Replay(ctx context.Context, cmd ReplayCommand) (ReplayResult, error) {
	w, err := h.parseReplay(cmd)
	if err != nil {
		return ReplayResult{}, err
	}
	id := cmd.ReplayID
	if id == "" {
		if id, err = newReplayID(h.opt.Now()); err != nil {
			return ReplayResult{}, err
		}
	}
	res := ReplayResult{ReplayID: id}
	name := h.p.Name()
	// Logged first: if the invocation dies, the id still lets the operator
	// resume without sending what was sent again under another id.
	h.log.InfoContext(ctx, "replay started", slog.String("replayId", id), slog.String("from", cmd.From), slog.String("to", cmd.To), slog.Bool("dryRun", cmd.DryRun))
	sctx, cancel := scanContext(ctx)
	found, err := h.store.Scan(sctx, eventstore.ScanFilter{Provider: name, Status: eventstore.StatusQueued, From: w.from, To: w.to})
	cancel()
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return res, fmt.Errorf("replay: scanning the table did not finish in the function's time (%d events matched so far); nothing was sent: raise the function's timeout for the replay (docs/OPERATIONS.md)", len(found))
		}
		return res, fmt.Errorf("replay: %w", err)
	}
	var todo []eventstore.Found
	for _, f := range found {
		if w.matches(f) {
			todo = append(todo, f)
		}
	}
	res.Matched = len(todo)
	if !cmd.DryRun {
		h.replaySend(ctx, cmd, id, todo, &res)
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "replay", slog.String("replayId", id), slog.Bool("dryRun", cmd.DryRun),
		slog.String("from", cmd.From), slog.String("to", cmd.To), slog.Int("matched", res.Matched),
		slog.Int("sent", res.Sent), slog.Int("failed", res.Failed), slog.Bool("complete", res.Resume == nil))
	return res, nil
}

// replaySend sends the matched events in order, until they are all sent or
// the time (or SQS) runs out; then res.Resume finishes the replay.
func (h *Handler[C]) replaySend(ctx context.Context, cmd ReplayCommand, id string, todo []eventstore.Found, res *ReplayResult) {
	resume := func(f eventstore.Found) {
		next := cmd
		next.From, next.ReplayID, next.DryRun = f.ReceivedAt.UTC().Format(time.RFC3339Nano), id, false
		res.Resume = &next
	}
	for _, f := range todo {
		if timeShort(ctx) {
			resume(f)
			return
		}
		ectx, cancel := eventContext(ctx)
		stop := h.replayOne(ectx, id, f, res)
		cancel()
		if stop {
			resume(f)
			return
		}
	}
}

// replayOne sends one matched event's copy. It reports whether the replay
// must stop here (reading the table or SQS failed, or the time ran out): the
// event is then where it resumes.
func (h *Handler[C]) replayOne(ctx context.Context, id string, f eventstore.Found, res *ReplayResult) (stop bool) {
	name := h.p.Name()
	it, err := h.store.Get(ctx, name, f.EventID)
	switch {
	case err != nil && !errors.Is(err, eventstore.ErrNotFound):
		h.log.ErrorContext(ctx, "replay: event not read", slog.String("eventId", f.EventID), slog.String("error", err.Error()))
		return true
	case err != nil || it.Status != eventstore.StatusQueued: // expired since
		res.Failed++
		h.log.WarnContext(ctx, "replay: event no longer stored as queued", slog.String("eventId", f.EventID))
		return false
	}
	data, q, err := h.storedData(ctx, it, "")
	if q != nil {
		err = q
	}
	if err != nil {
		if ctx.Err() != nil {
			return true
		}
		res.Failed++
		h.log.ErrorContext(ctx, "replay: event cannot be prepared now", slog.String("eventId", it.EventID), slog.String("error", err.Error()))
		return false
	}
	ce := queue.NewCloudEvent(name, it.EventID, it.Type, it.Subject, it.Time, data)
	ce.ReplayID = id
	msg := queue.NewMessage(name, ce)
	msg.DeduplicationID = ReplayDeduplicationID(id, it.EventID)
	if q := tooLarge(msg); q != nil {
		res.Failed++
		h.log.ErrorContext(ctx, "replay: message too large", slog.String("eventId", it.EventID), slog.String("reason", q.Reason))
		return false
	}
	if _, err := h.queue.Send(ctx, msg); err != nil {
		if errors.Is(err, queue.ErrRefused) {
			res.Failed++
			h.log.ErrorContext(ctx, "replay: SQS refused the message", slog.String("eventId", it.EventID), slog.String("code", awsCode(err)))
			return false
		}
		// SQS is failing (or the time ran out): stop here rather than fail every event after it.
		h.log.ErrorContext(ctx, "replay: SQS failed; resume later", slog.String("eventId", it.EventID), slog.String("error", err.Error()))
		return true
	}
	res.Sent++
	return false
}
