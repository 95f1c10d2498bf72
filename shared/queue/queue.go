// Package queue hands events to a provider's SQS FIFO queue as CloudEvents 1.0
// structured JSON messages.
package queue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// ErrUnavailable wraps every SQS failure: the caller answers a retryable 5xx.
var ErrUnavailable = errors.New("queue: SQS is unavailable")

// API is the part of the SQS client this package uses (sqs:SendMessage only).
type API interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

var _ API = (*sqs.Client)(nil)

// CloudEvent is the message body consumers read (CloudEvents 1.0, structured mode).
type CloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject"`
	Time            string          `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	Data            json.RawMessage `json:"data"`
}

// NewCloudEvent builds the envelope of an event of provider.
func NewCloudEvent(provider, id, typ, subject string, t time.Time, data json.RawMessage) CloudEvent {
	if subject == "" {
		subject = id
	}
	return CloudEvent{
		SpecVersion:     "1.0",
		ID:              id,
		Source:          "webhooks/" + provider,
		Type:            typ,
		Subject:         subject,
		Time:            t.UTC().Format(time.RFC3339Nano),
		DataContentType: "application/json",
		Data:            data,
	}
}

// Publisher sends to one FIFO queue.
type Publisher struct {
	api API
	url string
}

// New returns a Publisher for the queue URL.
func New(api API, queueURL string) *Publisher { return &Publisher{api: api, url: queueURL} }

// Send publishes ev with MessageGroupId = its subject (see GroupID) and
// MessageDeduplicationId = its id, and returns the SQS message id.
func (p *Publisher) Send(ctx context.Context, provider string, ev CloudEvent) (string, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return "", fmt.Errorf("queue: encode %s: %w", ev.ID, err)
	}
	out, err := p.api.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:               aws.String(p.url),
		MessageBody:            aws.String(string(body)),
		MessageGroupId:         aws.String(GroupID(ev.Subject)),
		MessageDeduplicationId: aws.String(ev.ID),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"provider": {DataType: aws.String("String"), StringValue: aws.String(provider)},
			"type":     {DataType: aws.String("String"), StringValue: aws.String(ev.Type)},
		},
	})
	if err != nil {
		return "", fmt.Errorf("%w: send %s: %w", ErrUnavailable, ev.ID, err)
	}
	return aws.ToString(out.MessageId), nil
}

// GroupID is the MessageGroupId for an entity id: the id itself when SQS accepts
// it (1 to 128 printable ASCII characters without spaces), otherwise a stable
// "sha256:<hex>" digest of it, so that an entity id a provider chose freely can
// never make a message unsendable (and a webhook retried forever).
func GroupID(entity string) string {
	if validGroupID(entity) {
		return entity
	}
	h := sha256.Sum256([]byte(entity))
	return "sha256:" + hex.EncodeToString(h[:])[:56]
}

func validGroupID(v string) bool {
	if len(v) == 0 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < '!' || c > '~' {
			return false
		}
	}
	return true
}
