// Package queue hands events to a provider's SQS FIFO queue as CloudEvents 1.0
// structured JSON messages.
package queue

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"webhooks/shared/contract"
	"webhooks/shared/jsonx"
)

// MaxMessageBytes is the largest message SQS takes (1 MiB, body and attributes
// together), whatever the queue's own maximum. The stack sets every queue's
// maximum to it.
const MaxMessageBytes = 1 << 20

// TimeLayout is the CloudEvent time: RFC 3339 in UTC, at most millisecond
// precision.
const TimeLayout = "2006-01-02T15:04:05.999Z07:00"

var (
	// ErrUnavailable wraps every SQS failure that is not the message's fault
	// (throttling, 5xx, a missing queue, access denied, KMS, the network): the
	// caller answers a retryable 5xx.
	ErrUnavailable = errors.New("queue: SQS is unavailable")
	// ErrRefused means SQS refused the message for its content (too large for
	// the queue, characters it does not take): retrying cannot help.
	ErrRefused = errors.New("queue: SQS refused the message")
)

// API is the part of the SQS client this package uses (sqs:SendMessage only).
type API interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

var _ API = (*sqs.Client)(nil)

// CloudEvent is the message body consumers read (CloudEvents 1.0, structured mode).
type CloudEvent struct {
	SpecVersion     string `json:"specversion"`
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            string `json:"type"`
	Subject         string `json:"subject"`
	Time            string `json:"time"`
	DataContentType string `json:"datacontenttype"`
	// ReplayID is the CloudEvents extension attribute "replayid": set only on
	// a replayed message, to the replay's id.
	ReplayID string          `json:"replayid,omitempty"`
	Data     json.RawMessage `json:"data"`
}

// NewCloudEvent builds the envelope of an event of provider.
func NewCloudEvent(provider, id, typ, subject string, t time.Time, data json.RawMessage) CloudEvent {
	if subject == "" {
		subject = id
	}
	return CloudEvent{
		SpecVersion:     contract.CloudEventSpecVersion,
		ID:              id,
		Source:          contract.CloudEventSource + provider,
		Type:            typ,
		Subject:         subject,
		Time:            t.UTC().Format(TimeLayout),
		DataContentType: "application/json",
		Data:            data,
	}
}

// Encode renders the event as the message body: the envelope's strings with
// the least escaping JSON needs and data exactly as given (no HTML escaping,
// no re-escaping: what is stored is what is sent, byte for byte), then every
// character SQS refuses written as a \uXXXX escape. Data must be valid JSON.
func (ce CloudEvent) Encode() []byte {
	b := make([]byte, 0, len(ce.Data)+256+len(ce.Subject))
	field := func(name, v string) {
		b = append(b, name...)
		b = jsonx.AppendString(b, v)
	}
	field(`{"specversion":`, ce.SpecVersion)
	field(`,"id":`, ce.ID)
	field(`,"source":`, ce.Source)
	field(`,"type":`, ce.Type)
	field(`,"subject":`, ce.Subject)
	field(`,"time":`, ce.Time)
	field(`,"datacontenttype":`, ce.DataContentType)
	if ce.ReplayID != "" {
		field(`,"`+contract.CloudEventReplayID+`":`, ce.ReplayID)
	}
	b = append(b, `,"data":`...)
	b = append(b, ce.Data...)
	b = append(b, '}')
	return jsonx.SQSSafe(b)
}

// Message is one encoded SendMessage request.
type Message struct {
	ID       string // the CloudEvent id: MessageDeduplicationId
	Type     string
	Provider string
	GroupID  string // MessageGroupId
	Body     []byte
	// DeduplicationID, when set, is the MessageDeduplicationId instead of ID
	// (a replay's copy must not be dropped as a duplicate of the original).
	DeduplicationID string
}

// NewMessage encodes ce for provider's queue.
func NewMessage(provider string, ce CloudEvent) Message {
	return Message{ID: ce.ID, Type: ce.Type, Provider: provider, GroupID: GroupID(ce.Subject), Body: ce.Encode()}
}

// Size is the message's size as SQS counts it against its maximum: the body
// plus each attribute's name, data type and value.
func (m Message) Size() int {
	const dataType = len("String")
	return len(m.Body) + len(contract.MessageAttrProvider) + dataType + len(m.Provider) + len(contract.MessageAttrType) + dataType + len(m.Type)
}

// Publisher sends to one FIFO queue.
type Publisher struct {
	api API
	url string
}

// New returns a Publisher for the queue URL.
func New(api API, queueURL string) *Publisher { return &Publisher{api: api, url: queueURL} }

// Send publishes m with MessageGroupId = its group and MessageDeduplicationId
// = its event id, and returns the SQS message id. Errors wrap ErrRefused or
// ErrUnavailable (see Classify).
func (p *Publisher) Send(ctx context.Context, m Message) (string, error) {
	if m.Size() > MaxMessageBytes {
		return "", fmt.Errorf("%w: %s is %d bytes, over SQS's maximum of %d", ErrRefused, m.ID, m.Size(), MaxMessageBytes)
	}
	out, err := p.api.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:               aws.String(p.url),
		MessageBody:            aws.String(string(m.Body)),
		MessageGroupId:         aws.String(m.GroupID),
		MessageDeduplicationId: aws.String(cmp.Or(m.DeduplicationID, m.ID)),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			contract.MessageAttrProvider: {DataType: aws.String("String"), StringValue: aws.String(m.Provider)},
			contract.MessageAttrType:     {DataType: aws.String("String"), StringValue: aws.String(m.Type)},
		},
	})
	if err != nil {
		return "", Classify(err, "send "+m.ID)
	}
	return aws.ToString(out.MessageId), nil
}

// Classify wraps an SQS error by its error code: ErrRefused when the message
// was refused for its content, ErrUnavailable for everything else (throttling,
// 5xx, a missing queue, access denied, KMS, the network).
//
// InvalidMessageContents (characters SQS does not take) and MessageTooLong are
// the message's fault. InvalidParameterValue is what SQS answers a body over
// the queue's maximum size, but also a request the queue cannot take for its
// configuration (a group id sent to a standard queue): only the size refusal
// is the message's fault; any other is the infrastructure's, answered 5xx
// rather than quarantining every event of a misconfigured queue.
func Classify(err error, what string) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "InvalidMessageContents", "MessageTooLong":
			return fmt.Errorf("%w: %s: %w", ErrRefused, what, err)
		case "InvalidParameterValue":
			if m := strings.ToLower(ae.ErrorMessage()); strings.Contains(m, "shorter than") || strings.Contains(m, "too long") || strings.Contains(m, "message size") {
				return fmt.Errorf("%w: %s: %w", ErrRefused, what, err)
			}
		}
	}
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, err)
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
