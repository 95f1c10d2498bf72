package eventstore

// Finding events for the operator commands, without a write on the path of a
// webhook:
//
//   - unsent markers: a small item written only when a send fails (the
//     webhook is answered 5xx), in one partition per provider whose sort key
//     starts with the event's receipt time, so a redrive reads the stranded
//     events oldest first with one Query of a partition that is empty while
//     SQS is healthy;
//   - a filtered Scan of the table, for what no marker can name (a function
//     killed between storing an event and sending it) and for replay windows:
//     a rare operator action that reads the whole table (about 131,072 read
//     request units per GB, eventually consistent);
//   - the quarantine index, sparse: only quarantined events are in it.
//
//	pk "<provider>#unsent"   sk "<received_at, fixed width>#<event id>"
//	event_id, received_at, unconfirmed (true when the store itself got no
//	answer: the event may not exist); no expires_at: a marker lives until its
//	event is queued, as the event does
//
//	pk "<provider>#sweep"    sk "sweep"
//	cursor (JSON: where an unfinished sweep stopped, per scan segment),
//	updated_at, expires_at (a week)

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"webhooks/shared/contract"
)

// markerTimeLayout is fixed-width (always milliseconds), so that the markers'
// sort keys order as their times do.
const markerTimeLayout = "2006-01-02T15:04:05.000Z"

const unsentSuffix = "#unsent"

func markerSK(received time.Time, eventID string) string {
	return received.UTC().Format(markerTimeLayout) + "#" + eventID
}

// MarkUnsent records that the event is stored but could not be sent: a redrive
// finds it by this marker. Written only on the failure path (one small
// PutItem), so a healthy webhook pays nothing for it. unconfirmed: the store
// of the event itself got no answer, so the event may never have been written
// (a redrive that then finds no event clears the marker quietly; for any other
// marker, a missing event is reported: it was stored and is gone).
func (st *Store) MarkUnsent(ctx context.Context, provider, eventID string, received time.Time, unconfirmed bool) error {
	item := markerItem(provider, eventID, received, unconfirmed)
	_, err := st.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.table), Item: item})
	if err != nil {
		return fmt.Errorf("%w: unsent marker of %s: %w", ErrUnavailable, eventID, err)
	}
	return nil
}

// ClearUnsent deletes the event's unsent marker, if any (it is queued now).
func (st *Store) ClearUnsent(ctx context.Context, provider, eventID string, received time.Time) error {
	_, err := st.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(st.table),
		Key:       key(provider+unsentSuffix, markerSK(received, eventID)),
	})
	if err != nil {
		return fmt.Errorf("%w: clear unsent marker of %s: %w", ErrUnavailable, eventID, err)
	}
	return nil
}

// Ref names a stored event: enough to read it (Get) and order it.
type Ref struct {
	EventID    string
	ReceivedAt time.Time
	// Unconfirmed: the marker was left by a store that got no answer, so the
	// event may never have been written (see MarkUnsent).
	Unconfirmed bool
}

// Unsent returns the events marked unsent that were received before the
// cutoff, oldest first.
func (st *Store) Unsent(ctx context.Context, provider string, before time.Time) ([]Ref, error) {
	in := &dynamodb.QueryInput{
		TableName:              aws.String(st.table),
		KeyConditionExpression: aws.String("pk = :pk AND sk < :cut"),
		ExpressionAttributeValues: map[string]ddb.AttributeValue{
			":pk": s(provider + unsentSuffix), ":cut": s(before.UTC().Format(markerTimeLayout)),
		},
		ConsistentRead: aws.Bool(true),
	}
	var out []Ref
	for {
		page, err := st.api.Query(ctx, in)
		if err != nil {
			return out, fmt.Errorf("%w: query unsent markers: %w", ErrUnavailable, err)
		}
		for _, av := range page.Items {
			r := Ref{EventID: str(av, "event_id"), ReceivedAt: parseTime(str(av, contract.AttrReceivedAt))}
			if b, ok := av["unconfirmed"].(*ddb.AttributeValueMemberBOOL); ok {
				r.Unconfirmed = b.Value
			}
			if r.EventID != "" {
				out = append(out, r)
			}
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// ScanAttributes are the only attributes a Scan reads (never data): the IAM
// policy of the functions allows a Scan of nothing else (dynamodb:Attributes
// with dynamodb:Select SPECIFIC_ATTRIBUTES), so a function cannot read
// another provider's events by scanning.
// The event's id and provider are read from its keys (layout.go); the type
// and subject under either layout's name.
var ScanAttributes = []string{contract.TablePartitionKey, contract.TableSortKey, contract.AttrReceivedAt,
	attrType, legacyType, attrSubject, legacySubject}

// ScanFilterAttributes are the attributes a Scan's filter reads: the keys,
// the state digest (an event item is one whose sort key is "event" or that
// holds a state), either layout's status, and the receipt time.
var ScanFilterAttributes = []string{contract.TablePartitionKey, contract.TableSortKey, attrState, attrStatus,
	legacyStatus, contract.AttrReceivedAt}

// attrName is an attribute name placeholder in an expression.
var attrName = regexp.MustCompile(`#[A-Za-z_]+`)

// ScanFilter selects a provider's events in a filtered Scan.
type ScanFilter struct {
	Provider string
	Status   Status
	// Received bounds the receipt time: From inclusive, To exclusive; a zero
	// bound is open.
	From, To time.Time
	// Segments is the number of parallel scan segments (0: DefaultScanSegments).
	Segments int
	// Limit is how many items one request reads (0: DynamoDB's 1 MB pages).
	Limit int32
}

// DefaultScanSegments is how many segments of the table a Scan reads side by
// side: a parallel scan reads about that many times faster, within the
// function's time (each segment is one sequential reader).
const DefaultScanSegments = 8

func cmpErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// Found is one event a Scan found: its reference and what the filters of the
// commands read, never its data.
type Found struct {
	Ref
	Type    string
	Subject string
}

// Scan reads the whole table for the provider's events in the filter and
// returns them oldest first (ties by event id), reading Segments parallel
// segments. It stops with ctx (returning what it found and ctx's error): a
// Scan reads every item of the table, about 131,072 read request units per GB
// (eventually consistent reads of 4 KB).
func (st *Store) Scan(ctx context.Context, flt ScanFilter) ([]Found, error) {
	found, _, err := st.ScanFrom(ctx, flt, nil)
	return found, err
}

// ScanCursor is where an unfinished Scan stopped, so that the next one reads
// on instead of starting over (a table too large to scan in one invocation is
// still covered, over several).
type ScanCursor struct {
	Segments int            `json:"segments"`
	Next     []ScanPosition `json:"next"`
}

// ScanPosition is one segment's place: done, or the key to start after (an
// empty PK: from the segment's start).
type ScanPosition struct {
	Done bool   `json:"done,omitempty"`
	PK   string `json:"pk,omitempty"`
	SK   string `json:"sk,omitempty"`
}

// ScanFrom is Scan starting where cursor says (nil: from the start). When ctx
// ends first it returns what it found, the cursor to read on from, and ctx's
// error; a finished scan returns a nil cursor.
func (st *Store) ScanFrom(ctx context.Context, flt ScanFilter, cursor *ScanCursor) ([]Found, *ScanCursor, error) {
	cond := []string{"(#sk = :ev OR attribute_exists(#" + attrState + "))", "begins_with(#pk, :p)"}
	vals := map[string]ddb.AttributeValue{":ev": s(sortEvent), ":p": s(flt.Provider + "#")}
	names := map[string]string{}
	if flt.Status != "" {
		cond = append(cond, "(#"+attrStatus+" = :st OR #status = :st)")
		vals[":st"] = s(string(flt.Status))
	}
	// Stored times have at most millisecond precision and trailing zeros
	// trimmed, so they do not compare as strings within one second: the
	// server filters by whole seconds (a prefix that does compare), and the
	// exact bounds are checked here.
	if !flt.From.IsZero() && flt.From.UTC().Year() >= 0 && flt.From.UTC().Year() <= 9999 {
		cond = append(cond, "#received_at >= :from")
		vals[":from"] = s(flt.From.UTC().Format("2006-01-02T15:04:05"))
	}
	// A bound past year 9999 in UTC cannot be written as one (its year has
	// five digits, which sorts before every four-digit year): the server
	// filter is left out and the exact check below bounds the window.
	if to := flt.To.UTC().Truncate(time.Second).Add(time.Second); !flt.To.IsZero() && to.Year() <= 9999 {
		cond = append(cond, "#received_at < :to")
		vals[":to"] = s(to.Format("2006-01-02T15:04:05"))
	}
	for _, a := range ScanAttributes {
		names["#"+a] = a
	}
	for _, c := range cond {
		for _, w := range attrName.FindAllString(c, -1) {
			names[w] = w[1:]
		}
	}
	segments := flt.Segments
	if segments <= 0 {
		segments = DefaultScanSegments
	}
	pos := make([]ScanPosition, segments)
	if cursor != nil && cursor.Segments > 0 && len(cursor.Next) == cursor.Segments {
		segments = cursor.Segments
		pos = append([]ScanPosition(nil), cursor.Next...)
	}
	var (
		mu    sync.Mutex
		out   []Found
		first error
	)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for seg := range segments {
		if pos[seg].Done {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := &dynamodb.ScanInput{
				TableName:                 aws.String(st.table),
				FilterExpression:          aws.String(strings.Join(cond, " AND ")),
				ProjectionExpression:      aws.String("#" + strings.Join(ScanAttributes, ", #")),
				Select:                    ddb.SelectSpecificAttributes,
				ExpressionAttributeNames:  names,
				ExpressionAttributeValues: vals,
				Segment:                   aws.Int32(int32(seg)),
				TotalSegments:             aws.Int32(int32(segments)),
			}
			if flt.Limit > 0 {
				in.Limit = aws.Int32(flt.Limit)
			}
			if p := pos[seg]; p.PK != "" {
				in.ExclusiveStartKey = key(p.PK, p.SK)
			}
			for {
				page, err := st.api.Scan(sctx, in)
				if err == nil {
					err = sctx.Err()
				}
				mu.Lock()
				if err != nil {
					if first == nil {
						first = err
						cancel()
					}
					mu.Unlock()
					return
				}
				for _, av := range page.Items {
					if fd, ok := found(av, flt); ok {
						out = append(out, fd)
					}
				}
				if len(page.LastEvaluatedKey) == 0 {
					pos[seg] = ScanPosition{Done: true}
					mu.Unlock()
					return
				}
				pos[seg] = ScanPosition{PK: str(page.LastEvaluatedKey, contract.TablePartitionKey), SK: str(page.LastEvaluatedKey, contract.TableSortKey)}
				mu.Unlock()
				in.ExclusiveStartKey = page.LastEvaluatedKey
			}
		}()
	}
	wg.Wait()
	if first != nil {
		next := &ScanCursor{Segments: segments, Next: pos}
		if ctx.Err() != nil || errors.Is(first, context.DeadlineExceeded) || errors.Is(first, context.Canceled) {
			return out, next, cmpErr(ctx.Err(), first)
		}
		return out, next, fmt.Errorf("%w: scan: %w", ErrUnavailable, first)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].ReceivedAt.Equal(out[j].ReceivedAt) {
			return out[i].ReceivedAt.Before(out[j].ReceivedAt)
		}
		return out[i].EventID < out[j].EventID
	})
	return out, nil, nil
}

const sortSweep = "sweep"

// SweepCursor reads where the provider's last unfinished sweep stopped (nil:
// start over).
func (st *Store) SweepCursor(ctx context.Context, provider string) (*ScanCursor, error) {
	out, err := st.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(st.table), Key: key(provider+"#"+sortSweep, sortSweep), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("%w: sweep cursor: %w", ErrUnavailable, err)
	}
	return decodeCursor(str(out.Item, "cursor")), nil
}

// SaveSweepCursor records where the sweep stopped (nil: it finished; the
// next one starts over). The record expires after a week.
func (st *Store) SaveSweepCursor(ctx context.Context, provider string, c *ScanCursor) error {
	item := map[string]ddb.AttributeValue{
		contract.TablePartitionKey: s(provider + "#" + sortSweep),
		contract.TableSortKey:      s(sortSweep),
		"updated_at":               s(ts(st.now())),
		contract.TableTTLAttribute: n(st.now().Add(7 * 24 * time.Hour).Unix()),
	}
	if c != nil {
		b, err := json.Marshal(c)
		if err != nil {
			return err
		}
		item["cursor"] = s(string(b))
	}
	if _, err := st.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.table), Item: item}); err != nil {
		return fmt.Errorf("%w: sweep cursor: %w", ErrUnavailable, err)
	}
	return nil
}

// Quarantined lists the provider's quarantined events (and released ones not
// yet queued), oldest first, from the sparse quarantine index: their status,
// reason and times, never their data.
func (st *Store) Quarantined(ctx context.Context, provider string) ([]*Item, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(st.table),
		IndexName:                 aws.String(contract.QuarantineIndex),
		KeyConditionExpression:    aws.String("#q = :p"),
		ExpressionAttributeNames:  map[string]string{"#q": contract.QuarantineIndexKey},
		ExpressionAttributeValues: map[string]ddb.AttributeValue{":p": s(provider)},
	}
	var out []*Item
	for {
		page, err := st.api.Query(ctx, in)
		if err != nil {
			return out, fmt.Errorf("%w: query %s: %w", ErrUnavailable, contract.QuarantineIndex, err)
		}
		for _, av := range page.Items {
			it, err := decode(av)
			if err != nil {
				continue
			}
			it.Data = nil // a listing never carries data
			out = append(out, it)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// found reads a Scan's item (projected to ScanAttributes) into a Found, and
// checks the exact bounds of the window (both stores).
func found(av map[string]ddb.AttributeValue, flt ScanFilter) (Found, bool) {
	provider, id := eventIDOf(av)
	fd := Found{
		Ref:  Ref{EventID: id, ReceivedAt: parseTime(str(av, contract.AttrReceivedAt))},
		Type: typeOf(av, provider), Subject: strOf(first(av, attrSubject, legacySubject)),
	}
	if id == "" || provider != flt.Provider || (!flt.From.IsZero() && fd.ReceivedAt.Before(flt.From)) || (!flt.To.IsZero() && !fd.ReceivedAt.Before(flt.To)) {
		return Found{}, false
	}
	return fd, true
}

func str(av map[string]ddb.AttributeValue, k string) string {
	if v, ok := av[k].(*ddb.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func parseTime(v string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, v)
	return t
}

// markerItem is an unsent marker (both stores).
func markerItem(provider, eventID string, received time.Time, unconfirmed bool) map[string]ddb.AttributeValue {
	item := map[string]ddb.AttributeValue{
		contract.TablePartitionKey: s(provider + unsentSuffix),
		contract.TableSortKey:      s(markerSK(received, eventID)),
		"event_id":                 s(eventID),
		contract.AttrReceivedAt:    s(ts(received)),
	}
	if unconfirmed {
		item["unconfirmed"] = &ddb.AttributeValueMemberBOOL{Value: true}
	}
	return item
}
