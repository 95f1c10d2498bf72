package consumer

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-lambda-go/events"
)

// Envelope constants: every message is a CloudEvents 1.0 structured JSON event.
const (
	SpecVersion     = "1.0"
	DataContentType = "application/json"
	// Message attributes the receivers set on every message.
	AttrProvider = "provider"
	AttrType     = "type"
)

// Event is the CloudEvent of one message, exactly as the receivers send it.
type Event struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`      // 32 lowercase hex: de-duplicate on it
	Source          string    `json:"source"`  // "webhooks/<provider>"
	Type            string    `json:"type"`    // one of EventTypes()
	Subject         string    `json:"subject"` // the entity (the message group)
	Time            time.Time `json:"time"`
	DataContentType string    `json:"datacontenttype"`
	// ReplayID is the extension attribute "replayid": set only on a copy sent
	// again by an operator's replay (the same ID as the original).
	ReplayID string          `json:"replayid,omitempty"`
	Data     json.RawMessage `json:"data"` // exactly as sent
}

// Provider is the provider of the event ("tiki").
func (e *Event) Provider() string { return strings.TrimPrefix(e.Source, SourcePrefix) }

// IsReplay reports whether the message is a copy sent again by a replay.
func (e *Event) IsReplay() bool { return e.ReplayID != "" }

// Message is one decoded message: its CloudEvent and its typed data.
type Message struct {
	Event Event
	// Data points to the typed data of Event.Type: *TikiOrderStatusChanged for
	// tiki.order.status_changed, and so on (see DataAs).
	Data any
	// MessageID and GroupID are the SQS message's id and message group
	// (empty when decoded from a body alone).
	MessageID string
	GroupID   string
	// ReceiveCount is SQS's ApproximateReceiveCount (0 when unknown).
	ReceiveCount int
}

// DataAs returns the message's data as *T, or false when it is another type.
func DataAs[T any](m *Message) (*T, bool) {
	d, ok := m.Data.(*T)
	return d, ok
}

// ErrInvalid is wrapped by every decoding error: the message is not a valid
// CloudEvent of a known type as the receivers send it. ErrUnknownType is
// wrapped (with ErrInvalid) when only its type is unknown.
var (
	ErrInvalid     = errors.New("consumer: invalid message")
	ErrUnknownType = errors.New("unknown event type")
)

// InvalidError is the error of a message that is not a valid CloudEvent of a
// known type. Its text names the problem, never a value of the data.
type InvalidError struct {
	Reason string
	err    error // ErrUnknownType, or nil
}

func (e *InvalidError) Error() string { return "consumer: invalid message: " + e.Reason }

// Is makes errors.Is(err, ErrInvalid) (and ErrUnknownType where it applies) true.
func (e *InvalidError) Is(target error) bool {
	return target == ErrInvalid || (e.err != nil && target == e.err)
}

func invalid(format string, args ...any) error {
	return &InvalidError{Reason: fmt.Sprintf(format, args...)}
}

// Decode decodes an SQS record of an event source mapping: the body as the
// CloudEvent (DecodeBody), checked against the record's message attributes
// "provider" and "type" when it has them.
func Decode(rec events.SQSMessage) (*Message, error) {
	m, err := DecodeBody([]byte(rec.Body))
	if err != nil {
		return nil, err
	}
	for name, want := range map[string]string{AttrProvider: m.Event.Provider(), AttrType: m.Event.Type} {
		if a, ok := rec.MessageAttributes[name]; ok && (a.StringValue == nil || *a.StringValue != want) {
			return nil, invalid("message attribute %q does not match the event", name)
		}
	}
	m.MessageID = rec.MessageId
	m.GroupID = rec.Attributes["MessageGroupId"]
	fmt.Sscan(rec.Attributes["ApproximateReceiveCount"], &m.ReceiveCount)
	return m, nil
}

// work counts the steps of decoding, for the test that checks they grow
// linearly with the body (linear_test.go): the bytes the tokenizer reads
// (once for the body; again wherever a span is decoded, matched, copied or
// read anew) and the steps of the package's own loops over names and fields.
// It counts only while that test sets countWork: otherwise each count is a
// load and a branch not taken, per call, never per byte.
var (
	countWork bool
	work      uint64
)

func addWork(n int) {
	if countWork {
		work += uint64(n)
	}
}

// DecodeBody decodes a message body: a CloudEvent with exactly the members
// the receivers write, of a known type, whose data meets that type's rules
// (the rules of schemas/<type>.json). It returns an *InvalidError otherwise.
//
// It reads the body once, decoding data into its struct as it goes (when the
// type comes before the data, as the receivers write it; else data is read
// again once the type is known), in time linear in the body.
func DecodeBody(body []byte) (*Message, error) {
	addWork(len(body))
	d := decoder{scanner: scanner{b: body}}
	return d.body()
}

// printable shortens a name for an error message and hides its digits (a
// name could hold a card number).
func printable(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) {
			return '#'
		}
		if !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
}
