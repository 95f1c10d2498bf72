// Package eventstore keeps one DynamoDB item per accepted webhook event and is
// the de-duplication point of the pipeline: an event is created with a
// conditional write on its key, so a second delivery finds the first.
//
// Item layout (table keys from the contract: pk, sk, TTL expires_at):
//
//	pk            "<provider>#<event id>"           sk "event"
//	provider, event_id, type, subject, time (RFC 3339), data (JSON string: the
//	storable form, never decrypted secrets or full card numbers), data_sha256
//	(SHA-256 of data: a digest of what is stored beside it, never of the raw
//	body, which may hold secrets the stored form drops), status (stored |
//	queued | quarantined), reason (why it was quarantined), deprecated (only
//	when true),
//	data_dropped (true when DynamoDB could not hold the data: data is null),
//	received_at, updated_at (set by the first update), queued_at, message_id,
//	verified_by (the id of the secret version that verified the webhook; a
//	UUID without its dashes), expires_at (epoch s; set only when the event is
//	queued: an event stored but not sent, or quarantined, never expires),
//	quarantine_pk ("<provider>", a sparse index key: set when the
//	event is quarantined and removed only once it is queued, so a released
//	event whose send failed stays findable)
//
//	pk            "<provider>#replay#<sha256 of the credential>"   sk "replay"
//	body_mac, received_at, expires_at: a single-use credential (signatures
//	that do not cover the body) bound to one body
//
//	pk            "<provider>#state#<sha256 of type and entity>"   sk "state"
//	state (SHA-256 of the entity's latest state), event_id (the event that
//	recorded it), updated_at, expires_at: the latest recorded state of an entity,
//	for every event type whose key could come back for a new state (see
//	pipeline.Event.Entity)
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
	"strconv"
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

func eventPK(provider, id string) string { return provider + "#" + id }

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

func (it *Item) attributes() map[string]ddb.AttributeValue {
	av := map[string]ddb.AttributeValue{
		contract.TablePartitionKey: s(eventPK(it.Provider, it.EventID)),
		contract.TableSortKey:      s(sortEvent),
		"provider":                 s(it.Provider),
		"event_id":                 s(it.EventID),
		"type":                     s(it.Type),
		"subject":                  s(it.Subject),
		"time":                     s(ts(it.Time)),
		"data":                     s(string(it.Data)),
		"data_sha256":              s(it.DataSHA256),
		"status":                   s(string(it.Status)),
		contract.AttrReceivedAt:    s(ts(it.ReceivedAt)),
	}
	// Attributes a new item can do without are left out, so that recording
	// which secret version verified it costs no write unit: updated_at is
	// received_at until an update sets it, deprecated is false unless set.
	if it.Deprecated {
		av["deprecated"] = &ddb.AttributeValueMemberBOOL{Value: true}
	}
	if it.VerifiedBy != "" {
		av["verified_by"] = s(compactVersionID(it.VerifiedBy))
	}
	if it.Status == StatusQuarantined {
		av["reason"] = s(it.Reason)
		av[contract.QuarantineIndexKey] = s(it.Provider)
		if it.DataDropped {
			av["data_dropped"] = &ddb.AttributeValueMemberBOOL{Value: true}
		}
	}
	// No expires_at: an event gets its TTL only once it is queued (MarkQueued),
	// so an event stored but not sent, or quarantined, never expires.
	return av
}

// Size is the item's size as DynamoDB counts it against MaxItemBytes (the
// UTF-8 bytes of attribute names and string values; numbers and booleans
// counted at their largest).
func (it *Item) Size() int { return itemSize(it.attributes()) }

func itemSize(av map[string]ddb.AttributeValue) int {
	total := 0
	for k, v := range av {
		total += len(k)
		switch t := v.(type) {
		case *ddb.AttributeValueMemberS:
			total += len(t.Value)
		case *ddb.AttributeValueMemberN:
			total += 21
		default:
			total++
		}
	}
	return total
}

// Create writes it unless an event with its key exists. It returns nil, nil when
// it created the item, and the existing item when there was one (a duplicate).
// The item is written without expires_at (see MarkQueued). ErrRefused means
// DynamoDB refused the item for its content.
func (st *Store) Create(ctx context.Context, it *Item) (*Item, error) {
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
	if !errors.As(err, &ccf) {
		return nil, classify(err, "put "+it.EventID)
	}
	if len(ccf.Item) > 0 {
		return decode(ccf.Item)
	}
	return st.Get(ctx, it.Provider, it.EventID)
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

// Get reads an event with a strongly consistent read.
func (st *Store) Get(ctx context.Context, provider, eventID string) (*Item, error) {
	out, err := st.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(st.table),
		Key:            key(eventPK(provider, eventID), sortEvent),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("%w: get %s: %w", ErrUnavailable, eventID, err)
	}
	if len(out.Item) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, eventID)
	}
	return decode(out.Item)
}

// MarkQueued records that the event is on the queue: status queued, out of the
// quarantine index, and its TTL, expires: an event's time to live starts only
// once it is queued (no other write gives an event expires_at), so an event
// stored but never sent, or quarantined, never expires. This is the write that
// every queued event costs anyway: the TTL adds no write unit.
func (st *Store) MarkQueued(ctx context.Context, provider, eventID, messageID string, expires time.Time) error {
	now := ts(st.now())
	_, err := st.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(st.table),
		Key:                 key(eventPK(provider, eventID), sortEvent),
		ConditionExpression: aws.String("attribute_exists(pk)"),
		UpdateExpression: aws.String("SET #st = :q, queued_at = :now, updated_at = :now, message_id = :mid, " +
			"expires_at = :exp REMOVE quarantine_pk, reason"),
		ExpressionAttributeNames: map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]ddb.AttributeValue{
			":q": s(string(StatusQueued)), ":now": s(now), ":mid": s(messageID), ":exp": n(expires.Unix()),
		},
	})
	return st.updateErr(err, eventID)
}

// Release moves a quarantined event back to stored so it can be queued, as the
// first step of re-processing it. It keeps the quarantine index key and the
// reason (and still no TTL) until MarkQueued: if the send that follows fails,
// the event is still listed where operators and the redrive look for it. It
// fails with ErrConflict unless the event was quarantined.
func (st *Store) Release(ctx context.Context, provider, eventID string) error {
	_, err := st.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(st.table),
		Key:                      key(eventPK(provider, eventID), sortEvent),
		ConditionExpression:      aws.String("#st = :qr"),
		UpdateExpression:         aws.String("SET #st = :stored, updated_at = :now"),
		ExpressionAttributeNames: map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]ddb.AttributeValue{
			":qr": s(string(StatusQuarantined)), ":stored": s(string(StatusStored)), ":now": s(ts(st.now())),
		},
	})
	return st.updateErr(err, eventID)
}

// Quarantine records that an event that is not queued cannot be processed:
// status quarantined with the reason, in the quarantine index, and no TTL. It
// fails with ErrConflict when the event is already queued.
func (st *Store) Quarantine(ctx context.Context, provider, eventID, reason string) error {
	_, err := st.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(st.table),
		Key:                 key(eventPK(provider, eventID), sortEvent),
		ConditionExpression: aws.String("attribute_exists(pk) AND #st <> :queued"),
		UpdateExpression:    aws.String("SET #st = :qr, reason = :r, quarantine_pk = :p, updated_at = :now REMOVE expires_at"),
		ExpressionAttributeNames: map[string]string{
			"#st": "status",
		},
		ExpressionAttributeValues: map[string]ddb.AttributeValue{
			":queued": s(string(StatusQueued)), ":qr": s(string(StatusQuarantined)), ":r": s(reason),
			":p": s(provider), ":now": s(ts(st.now())),
		},
	})
	return st.updateErr(err, eventID)
}

func (st *Store) updateErr(err error, eventID string) error {
	if err == nil {
		return nil
	}
	var ccf *ddb.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("%w: %s", ErrConflict, eventID)
	}
	return fmt.Errorf("%w: update %s: %w", ErrUnavailable, eventID, err)
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

// RecordState records state as the latest state of an entity (one whose
// events' keys could come back for a new state), and returns the id of the
// event that records it.
//
// When state differs from the latest recorded state (or none is recorded),
// newEventID becomes the entity's latest event and isNew is true. When it
// equals the latest state, the delivery is a redelivery of that state: the id
// of the event that recorded it is returned and isNew is false — the caller
// then stores (or finds) that event as for any other delivery, so a crash
// between this write and the event's own write loses nothing. One conditional
// UpdateItem of a small item: one write unit.
func (st *Store) RecordState(ctx context.Context, provider, entity, state, newEventID string, expires time.Time) (eventID string, isNew bool, err error) {
	pk, stateHash := stateKey(provider, entity, state)
	_, err = st.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(st.table),
		Key:                                 key(pk, sortState),
		ConditionExpression:                 aws.String("attribute_not_exists(pk) OR #state <> :s"),
		UpdateExpression:                    aws.String("SET #state = :s, event_id = :e, updated_at = :now, expires_at = :exp"),
		ExpressionAttributeNames:            map[string]string{"#state": "state"},
		ReturnValuesOnConditionCheckFailure: ddb.ReturnValuesOnConditionCheckFailureAllOld,
		ExpressionAttributeValues: map[string]ddb.AttributeValue{
			":s": s(stateHash), ":e": s(newEventID), ":now": s(ts(st.now())), ":exp": n(expires.Unix()),
		},
	})
	if err == nil {
		return newEventID, true, nil
	}
	var ccf *ddb.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if v, ok := ccf.Item["event_id"].(*ddb.AttributeValueMemberS); ok && v.Value != "" {
			return v.Value, false, nil
		}
		return "", false, fmt.Errorf("%w: state of %s: no event id returned", ErrUnavailable, provider)
	}
	return "", false, fmt.Errorf("%w: state: %w", ErrUnavailable, err)
}

// compactVersionID stores a secret version id that is a UUID (as Secrets
// Manager makes them) without its dashes: 32 characters instead of 36.
// expandVersionID restores it; any other id is stored as it is.
func compactVersionID(id string) string {
	if len(id) == 36 && id[8] == '-' && id[13] == '-' && id[18] == '-' && id[23] == '-' {
		c := id[:8] + id[9:13] + id[14:18] + id[19:23] + id[24:]
		if _, err := hex.DecodeString(c); err == nil {
			return c
		}
	}
	return id
}

func expandVersionID(v string) string {
	if len(v) != 32 {
		return v
	}
	if _, err := hex.DecodeString(v); err != nil {
		return v
	}
	return v[:8] + "-" + v[8:12] + "-" + v[12:16] + "-" + v[16:20] + "-" + v[20:]
}

func decode(av map[string]ddb.AttributeValue) (*Item, error) {
	get := func(k string) string { return str(av, k) }
	t := func(k string) time.Time { return parseTime(get(k)) }
	it := &Item{
		Provider:   get("provider"),
		EventID:    get("event_id"),
		Type:       get("type"),
		Subject:    get("subject"),
		Time:       t("time"),
		Data:       []byte(get("data")),
		DataSHA256: get("data_sha256"),
		Status:     Status(get("status")),
		Reason:     get("reason"),
		ReceivedAt: t(contract.AttrReceivedAt),
		MessageID:  get("message_id"),
		VerifiedBy: expandVersionID(get("verified_by")),
		QueuedAt:   t("queued_at"),
		UpdatedAt:  t("updated_at"),
	}
	if it.UpdatedAt.IsZero() {
		it.UpdatedAt = it.ReceivedAt
	}
	if b, ok := av["deprecated"].(*ddb.AttributeValueMemberBOOL); ok {
		it.Deprecated = b.Value
	}
	if b, ok := av["data_dropped"].(*ddb.AttributeValueMemberBOOL); ok {
		it.DataDropped = b.Value
	}
	if v, ok := av[contract.TableTTLAttribute].(*ddb.AttributeValueMemberN); ok {
		if sec, err := strconv.ParseInt(v.Value, 10, 64); err == nil {
			it.ExpiresAt = time.Unix(sec, 0)
		}
	}
	if it.EventID == "" || it.Status == "" {
		return nil, fmt.Errorf("eventstore: stored item has no event_id or status")
	}
	return it, nil
}

// stateKey is the partition key of an entity's latest-state record and the
// digest of a state as it is recorded there (both stores).
func stateKey(provider, entity, state string) (pk, stateHash string) {
	eh := sha256.Sum256([]byte(entity))
	sh := sha256.Sum256([]byte(state))
	return provider + "#state#" + hex.EncodeToString(eh[:]), hex.EncodeToString(sh[:])
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
