package eventstore

// Memory: the event store in memory, beside the DynamoDB one. It keeps the
// very items Store writes — the same keys and attributes, built by the same
// code (Item.attributes, markerSK, the replay and state keys) — and applies
// each write with the condition Store sends DynamoDB, so every method answers
// as Store does: the same results, the same conditional-write outcomes and
// the same errors (ErrRefused, ErrUnavailable, ErrNotFound, ErrReplay,
// ErrConflict, wrapping the AWS error a Fault supplies). The conformance
// tests (conformance_test.go) run one set of cases against both. It is for
// tests and tools that need the pipeline's rules without AWS; nothing
// deployed uses it.
//
// What DynamoDB does on its own happens here only when asked: TTL deletion
// (Expire; DynamoDB deletes expired items within days, and reads see them
// until then, as Memory's do). Each call is atomic, as DynamoDB's
// conditional writes of one item are, so concurrent writers of one key see
// exactly one winner (moto, the local AWS API, cannot promise that).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"webhooks/shared/contract"
)

// Call is one DynamoDB request a store method makes, as a Fault sees it.
type Call struct {
	// Op is the DynamoDB action: "PutItem", "GetItem", "UpdateItem",
	// "DeleteItem", "Query" or "Scan".
	Op string
	// PK and SK are the item's key (PutItem, GetItem, UpdateItem,
	// DeleteItem); empty for Query and Scan.
	PK, SK string
}

// Failure is what a Fault makes a call meet. The zero Failure: none.
type Failure struct {
	// Err is the error the AWS SDK returns: a smithy.APIError when DynamoDB
	// answered (throttling, a 5xx, a ValidationException), any other error
	// when no answer came (a reset connection, a timeout).
	Err error
	// Applied: DynamoDB applied the write before the error came back (the
	// answer was lost on its way).
	Applied bool
}

// Fault decides, call by call, the failure a store's call meets (tests). It
// may be called from several goroutines at once.
type Fault func(Call) Failure

// Memory is the event store in memory: a client of an in-memory table. The
// zero value is not usable: call NewMemory.
type Memory struct {
	t     *memTable
	fault Fault
}

// memTable is the table the clients of one NewMemory share.
type memTable struct {
	mu    sync.Mutex
	items map[memKey]map[string]ddb.AttributeValue
	now   func() time.Time
}

type memKey struct{ pk, sk string }

// NewMemory returns a store on a new, empty table, on time.Now.
func NewMemory() *Memory {
	return &Memory{t: &memTable{items: map[memKey]map[string]ddb.AttributeValue{}, now: time.Now}}
}

// WithFault returns another client of the same table whose calls first ask
// f which failure they meet (nil: none), as a DynamoDB client with a fault
// in front of it would.
func (m *Memory) WithFault(f Fault) *Memory { return &Memory{t: m.t, fault: f} }

// SetClock replaces time.Now for the table: the times the store writes
// itself (updated_at, queued_at, a replay guard's received_at, a sweep
// cursor's expiry).
func (m *Memory) SetClock(now func() time.Time) {
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	m.t.now = now
}

// do makes one DynamoDB call as the SDK would: the fault first (an error
// without Applied: nothing is written), then the context (done: nothing is
// sent), then apply, atomically.
func (m *Memory) do(ctx context.Context, c Call, apply func(time.Time) error) error {
	var f Failure
	if m.fault != nil {
		f = m.fault(c)
	}
	if f.Err != nil && !f.Applied {
		return f.Err
	}
	if err := ctx.Err(); err != nil {
		return err // the SDK sends nothing once the context is done
	}
	m.t.mu.Lock()
	err := apply(m.t.now())
	m.t.mu.Unlock()
	if f.Err != nil {
		return f.Err
	}
	return err
}

// validation is DynamoDB's refusal of a request for its content.
func validation(msg string) error {
	return &smithy.GenericAPIError{Code: "ValidationException", Message: msg, Fault: smithy.FaultClient}
}

// conditionFailed is DynamoDB's answer to a write whose condition does not
// hold, with the item as it was when the request asked for it.
func conditionFailed(old map[string]ddb.AttributeValue) error {
	return &ddb.ConditionalCheckFailedException{Message: aws.String("The conditional request failed"), Item: copyItem(old)}
}

// put writes av (replacing any item with its key) unless it is larger than
// DynamoDB takes.
func (m *Memory) put(av map[string]ddb.AttributeValue) error {
	if itemBytes(av) > MaxItemBytes {
		return validation("Item size has exceeded the maximum allowed size")
	}
	m.t.items[keyOf(av)] = copyItem(av)
	return nil
}

// update applies set and remove to the item with key k (a new item when
// there is none, as UpdateItem does), unless the result is larger than
// DynamoDB takes.
func (m *Memory) update(k memKey, set map[string]ddb.AttributeValue, remove ...string) error {
	it := copyItem(m.t.items[k])
	if it == nil {
		it = map[string]ddb.AttributeValue{contract.TablePartitionKey: s(k.pk), contract.TableSortKey: s(k.sk)}
	}
	for a, v := range set {
		it[a] = v
	}
	for _, a := range remove {
		delete(it, a)
	}
	if itemBytes(it) > MaxItemBytes {
		return validation("Item size to update has exceeded the maximum allowed size")
	}
	m.t.items[k] = it
	return nil
}

func keyOf(av map[string]ddb.AttributeValue) memKey {
	return memKey{str(av, contract.TablePartitionKey), str(av, contract.TableSortKey)}
}

// Create is Store.Create.
func (m *Memory) Create(ctx context.Context, it *Item) (*Item, error) {
	if it.Entity != "" {
		return createState(ctx, m, it)
	}
	old, err := m.putNew(ctx, it)
	if !errors.Is(err, errTaken) {
		return nil, err
	}
	if len(old) > 0 {
		return duplicateOf(it, old)
	}
	return m.Get(ctx, it.Provider, it.EventID)
}

// putNew is Store.putNew.
func (m *Memory) putNew(ctx context.Context, it *Item) (map[string]ddb.AttributeValue, error) {
	av := it.attributes()
	k := keyOf(av)
	err := m.do(ctx, Call{Op: "PutItem", PK: k.pk, SK: k.sk}, func(time.Time) error {
		// DynamoDB validates the item before it checks the condition.
		if itemBytes(av) > MaxItemBytes {
			return validation("Item size has exceeded the maximum allowed size")
		}
		if old, ok := m.t.items[k]; ok {
			return conditionFailed(old)
		}
		return m.put(av)
	})
	if err == nil {
		return nil, nil
	}
	var ccf *ddb.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return ccf.Item, errTaken
	}
	return nil, classify(err, "put "+it.EventID)
}

// latest is ddbStates.latest: the partition's item with the greatest sort key.
func (m *Memory) latest(ctx context.Context, pk string, _ bool) (map[string]ddb.AttributeValue, error) {
	var found map[string]ddb.AttributeValue
	err := m.do(ctx, Call{Op: "Query", PK: pk}, func(time.Time) error {
		best := ""
		for k, av := range m.t.items {
			if k.pk == pk && (found == nil || k.sk > best) {
				found, best = av, k.sk
			}
		}
		found = copyItem(found)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: latest state: %w", ErrUnavailable, err)
	}
	return found, nil
}

// Get is Store.Get.
func (m *Memory) Get(ctx context.Context, provider, eventID string) (*Item, error) {
	for _, key := range keysOf(provider, eventID) {
		k := memKey{key[0], key[1]}
		var found map[string]ddb.AttributeValue
		err := m.do(ctx, Call{Op: "GetItem", PK: k.pk, SK: k.sk}, func(time.Time) error {
			found = copyItem(m.t.items[k])
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%w: get %s: %w", ErrUnavailable, eventID, err)
		}
		if len(found) > 0 {
			return decode(found)
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrNotFound, eventID)
}

// updateEvent is Store.update: u applied where the event is, when its
// condition holds.
func (m *Memory) updateEvent(ctx context.Context, provider, eventID string, u func(now time.Time) eventUpdate) error {
	for _, key := range keysOf(provider, eventID) {
		k := memKey{key[0], key[1]}
		present := false
		err := m.do(ctx, Call{Op: "UpdateItem", PK: k.pk, SK: k.sk}, func(now time.Time) error {
			old := m.t.items[k]
			up := u(now)
			present = old != nil
			if old == nil || !up.holds(statusOf(old)) {
				return &ddb.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
			}
			return m.update(k, up.set, up.remove...)
		})
		if err == nil {
			return nil
		}
		var ccf *ddb.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return fmt.Errorf("%w: update %s: %w", ErrUnavailable, eventID, err)
		}
		if present {
			break
		}
	}
	return fmt.Errorf("%w: %s", ErrConflict, eventID)
}

// MarkQueued is Store.MarkQueued.
func (m *Memory) MarkQueued(ctx context.Context, provider, eventID, messageID string, received, expires time.Time) error {
	return m.updateEvent(ctx, provider, eventID, func(now time.Time) eventUpdate { return markQueued(now, received, messageID, expires) })
}

// Release is Store.Release.
func (m *Memory) Release(ctx context.Context, provider, eventID string) error {
	return m.updateEvent(ctx, provider, eventID, release)
}

// Quarantine is Store.Quarantine.
func (m *Memory) Quarantine(ctx context.Context, provider, eventID, reason string) error {
	return m.updateEvent(ctx, provider, eventID, func(now time.Time) eventUpdate { return quarantine(now, provider, reason) })
}

// UseOnce is Store.UseOnce.
func (m *Memory) UseOnce(ctx context.Context, provider, credential, bodyMAC string, expires time.Time) error {
	k := keyOf(replayItem(provider, credential, bodyMAC, time.Time{}, expires))
	err := m.do(ctx, Call{Op: "PutItem", PK: k.pk, SK: k.sk}, func(now time.Time) error {
		if old, ok := m.t.items[k]; ok && str(old, "body_mac") != bodyMAC {
			return &ddb.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
		}
		return m.put(replayItem(provider, credential, bodyMAC, now, expires))
	})
	if err == nil {
		return nil
	}
	var ccf *ddb.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return ErrReplay
	}
	return fmt.Errorf("%w: replay guard: %w", ErrUnavailable, err)
}

// MarkUnsent is Store.MarkUnsent.
func (m *Memory) MarkUnsent(ctx context.Context, provider, eventID string, received time.Time, unconfirmed bool) error {
	item := markerItem(provider, eventID, received, unconfirmed)
	k := keyOf(item)
	err := m.do(ctx, Call{Op: "PutItem", PK: k.pk, SK: k.sk}, func(time.Time) error { return m.put(item) })
	if err != nil {
		return fmt.Errorf("%w: unsent marker of %s: %w", ErrUnavailable, eventID, err)
	}
	return nil
}

// ClearUnsent is Store.ClearUnsent.
func (m *Memory) ClearUnsent(ctx context.Context, provider, eventID string, received time.Time) error {
	k := memKey{provider + unsentSuffix, markerSK(received, eventID)}
	err := m.do(ctx, Call{Op: "DeleteItem", PK: k.pk, SK: k.sk}, func(time.Time) error {
		delete(m.t.items, k)
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: clear unsent marker of %s: %w", ErrUnavailable, eventID, err)
	}
	return nil
}

// Unsent is Store.Unsent.
func (m *Memory) Unsent(ctx context.Context, provider string, before time.Time) ([]Ref, error) {
	pk, cut := provider+unsentSuffix, before.UTC().Format(markerTimeLayout)
	var page []map[string]ddb.AttributeValue
	err := m.do(ctx, Call{Op: "Query"}, func(time.Time) error {
		for k, av := range m.t.items {
			if k.pk == pk && k.sk < cut {
				page = append(page, copyItem(av))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: query unsent markers: %w", ErrUnavailable, err)
	}
	// A query reads its partition in sort-key order (bytes, as Go compares strings).
	slices.SortFunc(page, func(a, b map[string]ddb.AttributeValue) int {
		return strings.Compare(str(a, contract.TableSortKey), str(b, contract.TableSortKey))
	})
	var out []Ref
	for _, av := range page {
		r := Ref{EventID: str(av, "event_id"), ReceivedAt: parseTime(str(av, contract.AttrReceivedAt))}
		if b, ok := av["unconfirmed"].(*ddb.AttributeValueMemberBOOL); ok {
			r.Unconfirmed = b.Value
		}
		if r.EventID != "" {
			out = append(out, r)
		}
	}
	return out, nil
}

// Scan is Store.Scan.
func (m *Memory) Scan(ctx context.Context, flt ScanFilter) ([]Found, error) {
	found, _, err := m.ScanFrom(ctx, flt, nil)
	return found, err
}

// ScanFrom is Store.ScanFrom. Items fall into segments by their partition
// key, as in DynamoDB; each segment is read in pages of flt.Limit items (all
// at once without a limit), each page one Scan call that the context and
// the Fault may stop, leaving a cursor that reads on from there. The filter
// is Store's, server side and exact.
func (m *Memory) ScanFrom(ctx context.Context, flt ScanFilter, cursor *ScanCursor) ([]Found, *ScanCursor, error) {
	segments := flt.Segments
	if segments <= 0 {
		segments = DefaultScanSegments
	}
	pos := make([]ScanPosition, segments)
	if cursor != nil && cursor.Segments > 0 && len(cursor.Next) == cursor.Segments {
		segments = cursor.Segments
		pos = append([]ScanPosition(nil), cursor.Next...)
	}
	var out []Found
	var first error
	for seg := 0; seg < segments && first == nil; seg++ {
		for !pos[seg].Done && first == nil {
			var page []map[string]ddb.AttributeValue
			var more bool
			err := m.do(ctx, Call{Op: "Scan"}, func(time.Time) error {
				page, more = m.scanPage(seg, segments, pos[seg], flt.Limit)
				return nil
			})
			if err != nil {
				first = err
				break
			}
			for _, av := range page {
				if fd, ok := scanMatch(av, flt); ok {
					out = append(out, fd)
				}
			}
			if !more {
				pos[seg] = ScanPosition{Done: true}
				break
			}
			last := page[len(page)-1]
			pos[seg] = ScanPosition{PK: str(last, contract.TablePartitionKey), SK: str(last, contract.TableSortKey)}
		}
	}
	if first != nil {
		next := &ScanCursor{Segments: segments, Next: pos}
		if ctx.Err() != nil || errors.Is(first, context.DeadlineExceeded) || errors.Is(first, context.Canceled) {
			return out, next, cmpErr(ctx.Err(), first)
		}
		return out, next, fmt.Errorf("%w: scan: %w", ErrUnavailable, first)
	}
	slices.SortFunc(out, func(a, b Found) int {
		if c := a.ReceivedAt.Compare(b.ReceivedAt); c != 0 {
			return c
		}
		return strings.Compare(a.EventID, b.EventID)
	})
	return out, nil, nil
}

// scanPage reads the segment's items after pos in its order (partition
// key's hash, then keys): at most limit of them (0: all), and whether any
// remain.
func (m *Memory) scanPage(seg, segments int, pos ScanPosition, limit int32) ([]map[string]ddb.AttributeValue, bool) {
	var keys []memKey
	for k := range m.t.items {
		if segmentOf(k.pk, segments) == seg {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, compareScanOrder)
	start := 0
	if pos.PK != "" {
		after := memKey{pos.PK, pos.SK}
		for start < len(keys) && compareScanOrder(keys[start], after) <= 0 {
			start++
		}
	}
	keys = keys[start:]
	more := false
	if limit > 0 && len(keys) > int(limit) {
		keys, more = keys[:limit], true
	}
	page := make([]map[string]ddb.AttributeValue, len(keys))
	for i, k := range keys {
		page[i] = copyItem(m.t.items[k])
	}
	return page, more
}

func segmentOf(pk string, segments int) int {
	h := fnv.New32a()
	h.Write([]byte(pk))
	return int(h.Sum32() % uint32(segments))
}

func compareScanOrder(a, b memKey) int {
	ha, hb := fnv.New32a(), fnv.New32a()
	ha.Write([]byte(a.pk))
	hb.Write([]byte(b.pk))
	if x, y := ha.Sum32(), hb.Sum32(); x != y {
		if x < y {
			return -1
		}
		return 1
	}
	if c := strings.Compare(a.pk, b.pk); c != 0 {
		return c
	}
	return strings.Compare(a.sk, b.sk)
}

// scanMatch is Store.ScanFrom's filter (the server's and the exact bounds)
// and projection.
func scanMatch(av map[string]ddb.AttributeValue, flt ScanFilter) (Found, bool) {
	if !isEventItem(av) || !strings.HasPrefix(str(av, contract.TablePartitionKey), flt.Provider+"#") {
		return Found{}, false
	}
	if flt.Status != "" && statusOf(av) != flt.Status {
		return Found{}, false
	}
	recv, hasRecv := av[contract.AttrReceivedAt].(*ddb.AttributeValueMemberS)
	if !flt.From.IsZero() && flt.From.UTC().Year() >= 0 && flt.From.UTC().Year() <= 9999 {
		if !hasRecv || recv.Value < flt.From.UTC().Format("2006-01-02T15:04:05") {
			return Found{}, false
		}
	}
	if to := flt.To.UTC().Truncate(time.Second).Add(time.Second); !flt.To.IsZero() && to.Year() <= 9999 {
		if !hasRecv || recv.Value >= to.Format("2006-01-02T15:04:05") {
			return Found{}, false
		}
	}
	return found(av, flt)
}

// SweepCursor is Store.SweepCursor.
func (m *Memory) SweepCursor(ctx context.Context, provider string) (*ScanCursor, error) {
	k := memKey{provider + "#" + sortSweep, sortSweep}
	var item map[string]ddb.AttributeValue
	err := m.do(ctx, Call{Op: "GetItem", PK: k.pk, SK: k.sk}, func(time.Time) error {
		item = copyItem(m.t.items[k])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: sweep cursor: %w", ErrUnavailable, err)
	}
	return decodeCursor(str(item, "cursor")), nil
}

// SaveSweepCursor is Store.SaveSweepCursor.
func (m *Memory) SaveSweepCursor(ctx context.Context, provider string, c *ScanCursor) error {
	var raw []byte
	if c != nil {
		b, err := json.Marshal(c)
		if err != nil {
			return err
		}
		raw = b
	}
	k := memKey{provider + "#" + sortSweep, sortSweep}
	err := m.do(ctx, Call{Op: "PutItem", PK: k.pk, SK: k.sk}, func(now time.Time) error {
		item := map[string]ddb.AttributeValue{
			contract.TablePartitionKey: s(k.pk),
			contract.TableSortKey:      s(k.sk),
			"updated_at":               s(ts(now)),
			contract.TableTTLAttribute: n(now.Add(7 * 24 * time.Hour).Unix()),
		}
		if raw != nil {
			item["cursor"] = s(string(raw))
		}
		return m.put(item)
	})
	if err != nil {
		return fmt.Errorf("%w: sweep cursor: %w", ErrUnavailable, err)
	}
	return nil
}

// Quarantined is Store.Quarantined: the items of the sparse by-quarantine
// index (those with both its keys), in its sort key's order.
func (m *Memory) Quarantined(ctx context.Context, provider string) ([]*Item, error) {
	var page []map[string]ddb.AttributeValue
	err := m.do(ctx, Call{Op: "Query"}, func(time.Time) error {
		for _, av := range m.t.items {
			_, ranged := av[contract.QuarantineIndexRange].(*ddb.AttributeValueMemberS)
			if str(av, contract.QuarantineIndexKey) == provider && ranged {
				page = append(page, copyItem(av))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: query %s: %w", ErrUnavailable, contract.QuarantineIndex, err)
	}
	slices.SortFunc(page, func(a, b map[string]ddb.AttributeValue) int {
		if c := strings.Compare(str(a, contract.QuarantineIndexRange), str(b, contract.QuarantineIndexRange)); c != 0 {
			return c
		}
		return compareScanOrder(keyOf(a), keyOf(b))
	})
	var out []*Item
	for _, av := range page {
		it, err := decode(av)
		if err != nil {
			continue
		}
		it.Data = nil // a listing never carries data
		out = append(out, it)
	}
	return out, nil
}

// Items returns a copy of every item, as a Scan of the DynamoDB table would
// (ordered by key).
func (m *Memory) Items() []map[string]ddb.AttributeValue {
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	keys := make([]memKey, 0, len(m.t.items))
	for k := range m.t.items {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b memKey) int {
		if c := strings.Compare(a.pk, b.pk); c != 0 {
			return c
		}
		return strings.Compare(a.sk, b.sk)
	})
	out := make([]map[string]ddb.AttributeValue, len(keys))
	for i, k := range keys {
		out[i] = copyItem(m.t.items[k])
	}
	return out
}

// Delete removes the item with the key, as a DeleteItem outside the store
// would (an operator, a restore); it reports whether there was one.
func (m *Memory) Delete(pk, sk string) bool {
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	_, ok := m.t.items[memKey{pk, sk}]
	delete(m.t.items, memKey{pk, sk})
	return ok
}

// Expire deletes the items whose TTL attribute is before now, as DynamoDB's
// TTL process eventually does, and returns how many it deleted.
func (m *Memory) Expire(now time.Time) int {
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	deleted := 0
	for k, av := range m.t.items {
		v, ok := av[contract.TableTTLAttribute].(*ddb.AttributeValueMemberN)
		if !ok {
			continue
		}
		if sec, err := strconv.ParseInt(v.Value, 10, 64); err == nil && sec < now.Unix() {
			delete(m.t.items, k)
			deleted++
		}
	}
	return deleted
}

// copyItem copies an item deeply (nil for nil): what Memory keeps and hands
// out is never shared with a caller.
func copyItem(av map[string]ddb.AttributeValue) map[string]ddb.AttributeValue {
	if av == nil {
		return nil
	}
	out := make(map[string]ddb.AttributeValue, len(av))
	for k, v := range av {
		out[k] = copyValue(v)
	}
	return out
}

func copyValue(v ddb.AttributeValue) ddb.AttributeValue {
	switch t := v.(type) {
	case *ddb.AttributeValueMemberS:
		return &ddb.AttributeValueMemberS{Value: t.Value}
	case *ddb.AttributeValueMemberN:
		return &ddb.AttributeValueMemberN{Value: t.Value}
	case *ddb.AttributeValueMemberBOOL:
		return &ddb.AttributeValueMemberBOOL{Value: t.Value}
	case *ddb.AttributeValueMemberNULL:
		return &ddb.AttributeValueMemberNULL{Value: t.Value}
	case *ddb.AttributeValueMemberB:
		return &ddb.AttributeValueMemberB{Value: slices.Clone(t.Value)}
	case *ddb.AttributeValueMemberSS:
		return &ddb.AttributeValueMemberSS{Value: slices.Clone(t.Value)}
	case *ddb.AttributeValueMemberNS:
		return &ddb.AttributeValueMemberNS{Value: slices.Clone(t.Value)}
	case *ddb.AttributeValueMemberM:
		return &ddb.AttributeValueMemberM{Value: copyItem(t.Value)}
	case *ddb.AttributeValueMemberL:
		l := make([]ddb.AttributeValue, len(t.Value))
		for i, x := range t.Value {
			l[i] = copyValue(x)
		}
		return &ddb.AttributeValueMemberL{Value: l}
	}
	return v
}
