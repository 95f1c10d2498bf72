// Package eventstore keeps one DynamoDB item per accepted webhook event and is
// the de-duplication point of the pipeline: an event is created with a
// conditional write on its key, so a second delivery finds the first.
//
// Item layout (table keys from the contract: pk, sk, TTL expires_at):
//
//	pk            "<provider>#<event id>"           sk "event"
//	provider, event_id, type, subject, time (RFC 3339), data (JSON string: the
//	storable form, never decrypted secrets or full card numbers), body_sha256
//	(SHA-256 of the raw body, or the provider's digest of its redacted form),
//	status (stored | queued | quarantined), reason (quarantine), deprecated,
//	received_at, updated_at, queued_at, message_id, expires_at (epoch s),
//	quarantine_pk ("<provider>", only while quarantined: a sparse index key)
//
//	pk            "<provider>#replay#<sha256 of the credential>"   sk "replay"
//	body_sha256, expires_at: a single-use credential (OSL Pay signatures)
package eventstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
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
)

var (
	// ErrUnavailable wraps every DynamoDB failure: the caller answers a retryable 5xx.
	ErrUnavailable = errors.New("eventstore: DynamoDB is unavailable")
	// ErrNotFound means no item has that key.
	ErrNotFound = errors.New("eventstore: event not found")
	// ErrReplay means a single-use credential was seen before with another body.
	ErrReplay = errors.New("eventstore: credential already used for another body")
	// ErrConflict means a conditional state change lost against another writer.
	ErrConflict = errors.New("eventstore: event changed concurrently")
)

// API is the part of the DynamoDB client this package uses (least privilege:
// PutItem, GetItem, UpdateItem).
type API interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
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
	BodySHA256 string
	Status     Status
	Reason     string
	Deprecated bool
	ReceivedAt time.Time
	ExpiresAt  time.Time
	MessageID  string
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
	return map[string]ddb.AttributeValue{"pk": s(pk), "sk": s(sk)}
}

func eventPK(provider, id string) string { return provider + "#" + id }

func s(v string) ddb.AttributeValue { return &ddb.AttributeValueMemberS{Value: v} }
func n(v int64) ddb.AttributeValue {
	return &ddb.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Create writes it unless an event with its key exists. It returns nil, nil when
// it created the item, and the existing item when there was one (a duplicate).
func (st *Store) Create(ctx context.Context, it *Item) (*Item, error) {
	av := map[string]ddb.AttributeValue{
		"pk":          s(eventPK(it.Provider, it.EventID)),
		"sk":          s(sortEvent),
		"provider":    s(it.Provider),
		"event_id":    s(it.EventID),
		"type":        s(it.Type),
		"subject":     s(it.Subject),
		"time":        s(ts(it.Time)),
		"data":        s(string(it.Data)),
		"body_sha256": s(it.BodySHA256),
		"status":      s(string(it.Status)),
		"deprecated":  &ddb.AttributeValueMemberBOOL{Value: it.Deprecated},
		"received_at": s(ts(it.ReceivedAt)),
		"updated_at":  s(ts(it.ReceivedAt)),
		"expires_at":  n(it.ExpiresAt.Unix()),
	}
	if it.Status == StatusQuarantined {
		av["reason"] = s(it.Reason)
		av["quarantine_pk"] = s(it.Provider)
	}
	_, err := st.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(st.table),
		Item:                                av,
		ConditionExpression:                 aws.String("attribute_not_exists(pk)"),
		ReturnValuesOnConditionCheckFailure: ddb.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return nil, nil
	}
	var ccf *ddb.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return nil, fmt.Errorf("%w: put %s: %w", ErrUnavailable, it.EventID, err)
	}
	if len(ccf.Item) > 0 {
		return decode(ccf.Item)
	}
	return st.Get(ctx, it.Provider, it.EventID)
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

// MarkQueued records that the event is on the queue.
func (st *Store) MarkQueued(ctx context.Context, provider, eventID, messageID string) error {
	now := ts(st.now())
	_, err := st.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(st.table),
		Key:                 key(eventPK(provider, eventID), sortEvent),
		ConditionExpression: aws.String("attribute_exists(pk)"),
		UpdateExpression:    aws.String("SET #st = :q, queued_at = :now, updated_at = :now, message_id = :mid REMOVE quarantine_pk, reason"),
		ExpressionAttributeNames: map[string]string{
			"#st": "status",
		},
		ExpressionAttributeValues: map[string]ddb.AttributeValue{":q": s(string(StatusQueued)), ":now": s(now), ":mid": s(messageID)},
	})
	return st.updateErr(err, eventID)
}

// Release moves a quarantined event back to stored so it can be queued, as the
// first step of re-processing it. It fails with ErrConflict unless the event was
// quarantined.
func (st *Store) Release(ctx context.Context, provider, eventID string) error {
	_, err := st.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(st.table),
		Key:                      key(eventPK(provider, eventID), sortEvent),
		ConditionExpression:      aws.String("#st = :qr"),
		UpdateExpression:         aws.String("SET #st = :stored, updated_at = :now REMOVE quarantine_pk"),
		ExpressionAttributeNames: map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]ddb.AttributeValue{
			":qr": s(string(StatusQuarantined)), ":stored": s(string(StatusStored)), ":now": s(ts(st.now())),
		},
	})
	return st.updateErr(err, eventID)
}

// Requarantine records a new reason on a quarantined event.
func (st *Store) Requarantine(ctx context.Context, provider, eventID, reason string) error {
	_, err := st.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(st.table),
		Key:                      key(eventPK(provider, eventID), sortEvent),
		ConditionExpression:      aws.String("#st = :qr"),
		UpdateExpression:         aws.String("SET reason = :r, updated_at = :now"),
		ExpressionAttributeNames: map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]ddb.AttributeValue{
			":qr": s(string(StatusQuarantined)), ":r": s(reason), ":now": s(ts(st.now())),
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

// UseOnce records that a single-use credential was presented with a body. The
// same credential with the same body again is allowed (a retry of the same
// delivery); with another body it fails with ErrReplay.
func (st *Store) UseOnce(ctx context.Context, provider, credential, bodySHA256 string, expires time.Time) error {
	h := sha256.Sum256([]byte(credential))
	_, err := st.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(st.table),
		Item: map[string]ddb.AttributeValue{
			"pk":          s(provider + "#replay#" + hex.EncodeToString(h[:])),
			"sk":          s(sortReplay),
			"provider":    s(provider),
			"body_sha256": s(bodySHA256),
			"received_at": s(ts(st.now())),
			"expires_at":  n(expires.Unix()),
		},
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR body_sha256 = :h"),
		ExpressionAttributeValues: map[string]ddb.AttributeValue{":h": s(bodySHA256)},
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

func decode(av map[string]ddb.AttributeValue) (*Item, error) {
	str := func(k string) string {
		if v, ok := av[k].(*ddb.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	t := func(k string) time.Time {
		v, _ := time.Parse(time.RFC3339Nano, str(k))
		return v
	}
	it := &Item{
		Provider:   str("provider"),
		EventID:    str("event_id"),
		Type:       str("type"),
		Subject:    str("subject"),
		Time:       t("time"),
		Data:       []byte(str("data")),
		BodySHA256: str("body_sha256"),
		Status:     Status(str("status")),
		Reason:     str("reason"),
		ReceivedAt: t("received_at"),
		MessageID:  str("message_id"),
	}
	if b, ok := av["deprecated"].(*ddb.AttributeValueMemberBOOL); ok {
		it.Deprecated = b.Value
	}
	if v, ok := av["expires_at"].(*ddb.AttributeValueMemberN); ok {
		if sec, err := strconv.ParseInt(v.Value, 10, 64); err == nil {
			it.ExpiresAt = time.Unix(sec, 0)
		}
	}
	if it.EventID == "" || it.Status == "" {
		return nil, fmt.Errorf("eventstore: stored item has no event_id or status")
	}
	return it, nil
}
