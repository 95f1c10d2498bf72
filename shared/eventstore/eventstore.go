// Package eventstore keeps one DynamoDB item per accepted webhook event and is
// the de-duplication point of the pipeline: an event is created with a
// conditional write on its key, so a second delivery finds the first.
//
// The event item's layout, both places an event is written and the
// previous layout still read, is in layout.go; the single-use record:
//
//	pk            "<provider>#replay#<sha256 of the credential>"   sk "replay"
//	body_mac, received_at, expires_at: a single-use credential (signatures
//	that do not cover the body) bound to one body
//
// Timestamps are written with at most millisecond precision: a nanosecond
// time of day is a run of 15 digits, which must never be mistaken for (or
// stored as) a card number.
package eventstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"webhooks/shared/contract"
)

// Status of a stored event.
type Status string

// Statuses.
const (
	StatusStored      Status = "stored"      // written, not yet confirmed on the queue
	StatusQueued      Status = "queued"      // on the provider's queue
	StatusQuarantined Status = "quarantined" // authentic but cannot be processed; see reason
)

const (
	sortEvent  = "event"
	sortReplay = "replay"
	sortState  = "state"
)

// MaxItemBytes is DynamoDB's item size limit (400 KB, attribute names included).
const MaxItemBytes = 400 * 1024

// TimeLayout is how every timestamp attribute is written: RFC 3339 in UTC with
// at most millisecond precision.
const TimeLayout = "2006-01-02T15:04:05.999Z07:00"

var (
	// ErrUnavailable wraps every DynamoDB failure that is not the item's fault
	// (throttling, 5xx, a missing table, access denied, a network error): the
	// caller answers a retryable 5xx.
	ErrUnavailable = errors.New("eventstore: DynamoDB is unavailable")
	// ErrRefused means DynamoDB refused the item for its content (a
	// ValidationException: too large, an invalid value): retrying cannot help.
	ErrRefused = errors.New("eventstore: DynamoDB refused the item")
	// ErrNotFound means no item has that key.
	ErrNotFound = errors.New("eventstore: event not found")
	// ErrReplay means a single-use credential was seen before with another body.
	ErrReplay = errors.New("eventstore: credential already used for another body")
	// ErrConflict means a conditional state change lost against another writer.
	ErrConflict = errors.New("eventstore: event changed concurrently")
)

// API is the part of the DynamoDB client this package uses: PutItem, GetItem
// and UpdateItem on the path of a webhook; Query, Scan and DeleteItem for the
// operator commands (unsent markers, the sweep and replay, see find.go).
type API interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Item is one stored event.
type Item struct {
	Provider   string
	EventID    string
	Type       string
	Subject    string
	Time       time.Time
	Data       []byte // JSON, storable form
	DataSHA256 string // hex SHA-256 of Data
	Status     Status
	Reason     string
	Deprecated bool
	ReceivedAt time.Time
	ExpiresAt  time.Time // read back (Get): zero until the event is queued
	MessageID  string
	// VerifiedBy is the id of the secret version whose credential verified
	// the webhook (for tracing an event; never a secret value).
	VerifiedBy string
	// QueuedAt and UpdatedAt are read back from the table (Get).
	QueuedAt  time.Time
	UpdatedAt time.Time
	// DataDropped marks a quarantined event whose data DynamoDB could not hold:
	// Data is null, and the event cannot be re-processed from the table.
	DataDropped bool
	// Entity ("<type>|<entity id>") and State are set, for Create, on an
	// event that is a state of an entity: Create then gives it its id (the
	// next state's, or the stored event's when State is the entity's latest).
	// Neither is stored as it is (layout.go); neither is read back.
	Entity, State string
}

// Store reads and writes events in one table.
type Store struct {
	api   API
	table string
	now   func() time.Time
}

// New returns a Store on the table.
func New(api API, table string) *Store { return &Store{api: api, table: table, now: time.Now} }

func key(pk, sk string) map[string]ddb.AttributeValue {
	return map[string]ddb.AttributeValue{contract.TablePartitionKey: s(pk), contract.TableSortKey: s(sk)}
}

func s(v string) ddb.AttributeValue { return &ddb.AttributeValueMemberS{Value: v} }
func n(v int64) ddb.AttributeValue {
	return &ddb.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// FormatTime formats t as every timestamp attribute is stored (TimeLayout).
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

func ts(t time.Time) string { return FormatTime(t) }

// Digest is the hex SHA-256 stored beside data.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
}

// Size is the item's size as DynamoDB counts it against MaxItemBytes and in
// write units: the UTF-8 bytes of attribute names and values, a number's
// significant digits two to a byte plus one.
func (it *Item) Size() int {
	if it.Entity != "" && it.EventID == "" { // sized before its place is known: every state id has one length
		c := *it
		c.EventID = stateID(entityPrefix(it.Provider, it.Entity), 0)
		return itemBytes(c.attributes())
	}
	return itemBytes(it.attributes())
}

// Create writes it unless an event with its key exists. It returns nil, nil when
// it created the item, and the existing item when there was one (a duplicate),
// whose id it then gives it.
// An event that is a state of an entity (it.Entity set) is given its id here:
// the next state's, or the stored one's when its state is the entity's latest
// (layout.go). The item is written without expires_at (see MarkQueued).
// ErrRefused means DynamoDB refused the item for its content.
func (st *Store) Create(ctx context.Context, it *Item) (*Item, error) {
	if it.Entity != "" {
		return createState(ctx, ddbStates{st}, it)
	}
	old, err := st.putNew(ctx, it)
	if !errors.Is(err, errTaken) {
		return nil, err
	}
	if len(old) > 0 {
		return duplicateOf(it, old)
	}
	return st.Get(ctx, it.Provider, it.EventID)
}

// putNew writes it on the condition that its key is free: errTaken, with the
// item found there, when it is not.
func (st *Store) putNew(ctx context.Context, it *Item) (map[string]ddb.AttributeValue, error) {
	_, err := st.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(st.table),
		Item:                                it.attributes(),
		ConditionExpression:                 aws.String("attribute_not_exists(pk)"),
		ReturnValuesOnConditionCheckFailure: ddb.ReturnValuesOnConditionCheckFailureAllOld,
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

// ddbStates is the state table of createState on DynamoDB.
type ddbStates struct{ st *Store }

func (d ddbStates) putNew(ctx context.Context, it *Item) (map[string]ddb.AttributeValue, error) {
	return d.st.putNew(ctx, it)
}

// latest is the partition's last item: one Query of one item, half a read
// unit when eventually consistent.
func (d ddbStates) latest(ctx context.Context, pk string, consistent bool) (map[string]ddb.AttributeValue, error) {
	out, err := d.st.api.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(d.st.table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]ddb.AttributeValue{":pk": s(pk)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(1),
		ConsistentRead:            aws.Bool(consistent),
	})
	if err != nil {
		return nil, fmt.Errorf("%w: latest state: %w", ErrUnavailable, err)
	}
	if len(out.Items) == 0 {
		return nil, nil
	}
	return out.Items[0], nil
}

// classify wraps a DynamoDB error by its error code: ErrRefused when the
// request was refused for its content (ValidationException: the item is too
// large or holds a value DynamoDB does not take), ErrUnavailable for everything
// else (throttling, 5xx, a missing table, access denied, KMS, the network).
func classify(err error, what string) error {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "ValidationException" {
		return fmt.Errorf("%w: %s: %w", ErrRefused, what, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, err)
}

// Get reads an event with a strongly consistent read, wherever its id says
// it is (layout.go), an item of the previous layout included.
func (st *Store) Get(ctx context.Context, provider, eventID string) (*Item, error) {
	for _, k := range keysOf(provider, eventID) {
		out, err := st.api.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      aws.String(st.table),
			Key:            key(k[0], k[1]),
			ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			return nil, fmt.Errorf("%w: get %s: %w", ErrUnavailable, eventID, err)
		}
		if len(out.Item) > 0 {
			return decode(out.Item)
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrNotFound, eventID)
}

// eventUpdate is one of the updates of an event's status (both stores): its
// condition (on either layout's status) and what it sets and removes.
type eventUpdate struct {
	cond   string // the condition expression (DynamoDB); attribute_exists(pk) is added
	names  map[string]string
	values map[string]ddb.AttributeValue
	set    map[string]ddb.AttributeValue // what it sets, by attribute name
	remove []string
	holds  func(Status) bool // the condition, for Memory
}

func (u eventUpdate) expression() string {
	var sets []string
	for a := range u.set {
		sets = append(sets, "#"+a+" = :"+a)
	}
	slices.Sort(sets)
	var rms []string
	for _, a := range u.remove {
		rms = append(rms, "#"+a)
	}
	e := "SET " + strings.Join(sets, ", ")
	if len(rms) > 0 {
		e += " REMOVE " + strings.Join(rms, ", ")
	}
	return e
}

func (u eventUpdate) input(table string, k [2]string) *dynamodb.UpdateItemInput {
	names := map[string]string{"#st": attrStatus, "#status": legacyStatus}
	values := map[string]ddb.AttributeValue{}
	for a, v := range u.set {
		names["#"+a], values[":"+a] = a, v
	}
	for _, a := range u.remove {
		names["#"+a] = a
	}
	for k, v := range u.values {
		values[k] = v
	}
	cond := "attribute_exists(pk)"
	if u.cond != "" {
		cond += " AND (" + u.cond + ")"
	}
	return &dynamodb.UpdateItemInput{
		TableName: aws.String(table), Key: key(k[0], k[1]),
		ConditionExpression: aws.String(cond), UpdateExpression: aws.String(u.expression()),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		ReturnValuesOnConditionCheckFailure: ddb.ReturnValuesOnConditionCheckFailureAllOld,
	}
}

// markQueued: status queued, out of the quarantine index, and the TTL.
func markQueued(now, received time.Time, messageID string, expires time.Time) eventUpdate {
	return eventUpdate{
		set: map[string]ddb.AttributeValue{
			attrStatus: s(string(StatusQueued)), attrQueuedAt: since(now, received.Truncate(time.Millisecond)), attrMessageID: compactID(messageID),
			contract.TableTTLAttribute: n(expires.Unix()),
		},
		remove: []string{contract.QuarantineIndexKey, attrReason, attrUpdatedAt, legacyStatus, legacyUpdatedAt},
		holds:  func(Status) bool { return true },
	}
}

func release(now time.Time) eventUpdate {
	return eventUpdate{
		cond:   "#st = :qr OR #status = :qr",
		values: map[string]ddb.AttributeValue{":qr": s(string(StatusQuarantined))},
		set:    map[string]ddb.AttributeValue{attrStatus: s(string(StatusStored)), attrUpdatedAt: s(ts(now))},
		remove: []string{legacyStatus},
		holds:  func(st Status) bool { return st == StatusQuarantined },
	}
}

func quarantine(now time.Time, provider, reason string) eventUpdate {
	return eventUpdate{
		cond:   "NOT (#st = :queued OR #status = :queued)",
		values: map[string]ddb.AttributeValue{":queued": s(string(StatusQueued))},
		set: map[string]ddb.AttributeValue{
			attrStatus: s(string(StatusQuarantined)), attrReason: s(reason),
			contract.QuarantineIndexKey: s(provider), attrUpdatedAt: s(ts(now)),
		},
		remove: []string{contract.TableTTLAttribute, legacyStatus},
		holds:  func(st Status) bool { return st != StatusQueued },
	}
}

// update applies u to the event wherever its id says it is: ErrConflict when
// it is there and the condition does not hold, ErrNotFound... as a conflict
// too (the event is not there to change).
func (st *Store) update(ctx context.Context, provider, eventID string, u eventUpdate) error {
	for _, k := range keysOf(provider, eventID) {
		_, err := st.api.UpdateItem(ctx, u.input(st.table, k))
		if err == nil {
			return nil
		}
		var ccf *ddb.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return fmt.Errorf("%w: update %s: %w", ErrUnavailable, eventID, err)
		}
		if len(ccf.Item) > 0 {
			break // it is there, and the condition does not hold
		}
	}
	return fmt.Errorf("%w: %s", ErrConflict, eventID)
}

// MarkQueued records that the event is on the queue: status queued, out of the
// quarantine index, and its TTL, expires: an event's time to live starts only
// once it is queued (no other write gives an event expires_at), so an event
// stored but never sent, or quarantined, never expires. This is the write that
// every queued event costs anyway: the TTL adds no write unit. received is
// the event's receipt time (qa is written from it, layout.go).
func (st *Store) MarkQueued(ctx context.Context, provider, eventID, messageID string, received, expires time.Time) error {
	return st.update(ctx, provider, eventID, markQueued(st.now(), received, messageID, expires))
}

// Release moves a quarantined event back to stored so it can be queued, as the
// first step of re-processing it. It keeps the quarantine index key and the
// reason (and still no TTL) until MarkQueued: if the send that follows fails,
// the event is still listed where operators and the redrive look for it. It
// fails with ErrConflict unless the event was quarantined.
func (st *Store) Release(ctx context.Context, provider, eventID string) error {
	return st.update(ctx, provider, eventID, release(st.now()))
}

// Quarantine records that an event that is not queued cannot be processed:
// status quarantined with the reason, in the quarantine index, and no TTL. It
// fails with ErrConflict when the event is already queued.
func (st *Store) Quarantine(ctx context.Context, provider, eventID, reason string) error {
	return st.update(ctx, provider, eventID, quarantine(st.now(), provider, reason))
}

// UseOnce records that a single-use credential was presented with a body,
// identified by bodyMAC (a keyed digest: never a plain hash of a body that may
// hold secrets). The same credential with the same body again is allowed (a
// retry of the same delivery); with another body it fails with ErrReplay.
func (st *Store) UseOnce(ctx context.Context, provider, credential, bodyMAC string, expires time.Time) error {
	_, err := st.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(st.table),
		Item:                      replayItem(provider, credential, bodyMAC, st.now(), expires),
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR body_mac = :h"),
		ExpressionAttributeValues: map[string]ddb.AttributeValue{":h": s(bodyMAC)},
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

// expandVersionID reads a version id the previous layout stored: a UUID
// without its dashes.
func expandVersionID(v string) string {
	if len(v) != 32 {
		return v
	}
	if _, err := hex.DecodeString(v); err != nil {
		return v
	}
	return v[:8] + "-" + v[8:12] + "-" + v[12:16] + "-" + v[16:20] + "-" + v[20:]
}

// decodeCursor reads a stored sweep cursor: nil when there is none or it
// cannot be read (the sweep starts over).
func decodeCursor(raw string) *ScanCursor {
	if raw == "" {
		return nil
	}
	var c ScanCursor
	if err := json.Unmarshal([]byte(raw), &c); err != nil || c.Segments <= 0 || len(c.Next) != c.Segments {
		return nil // unreadable: start over
	}
	return &c
}

// replayItem is the record of a single-use credential bound to a body's MAC
// (both stores).
func replayItem(provider, credential, bodyMAC string, now, expires time.Time) map[string]ddb.AttributeValue {
	h := sha256.Sum256([]byte(credential))
	return map[string]ddb.AttributeValue{
		contract.TablePartitionKey: s(provider + "#replay#" + hex.EncodeToString(h[:])),
		contract.TableSortKey:      s(sortReplay),
		"provider":                 s(provider),
		"body_mac":                 s(bodyMAC),
		contract.AttrReceivedAt:    s(ts(now)),
		contract.TableTTLAttribute: n(expires.Unix()),
	}
}
