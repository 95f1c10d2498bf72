package queue

// Memory: a FIFO queue in memory, beside the SQS Publisher. Send answers as
// Publisher.Send does — the same checks, results and errors (ErrRefused for
// a message SQS refuses for its content, ErrUnavailable for the rest,
// wrapping the AWS error SQS would give) — and the queue keeps what SQS
// would deliver: de-duplication by MessageDeduplicationId for 5 minutes
// (whether or not the first copy was consumed since), the queue's maximum
// message size (body and attributes), the characters SQS takes, and a
// deleted queue that refuses every send and loses what it held. The
// conformance tests (conformance_test.go) run one set of cases against it
// and a real FIFO queue. It is for tests and tools; nothing deployed uses it.

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"webhooks/shared/contract"
)

// DeduplicationWindow is how long a FIFO queue drops a message whose
// de-duplication id it has accepted before.
const DeduplicationWindow = 5 * time.Minute

// Call is one SQS request, as a Fault sees it.
type Call struct {
	Op              string // "SendMessage"
	GroupID         string
	DeduplicationID string
}

// Failure is what a Fault makes a call meet. The zero Failure: none.
type Failure struct {
	// Err is the error the AWS SDK returns: a smithy.APIError when SQS
	// answered, any other error when no answer came.
	Err error
	// Applied: SQS accepted the message before the error came back (the
	// answer was lost on its way).
	Applied bool
}

// Fault decides, call by call, the failure a send meets (tests). It may be
// called from several goroutines at once.
type Fault func(Call) Failure

// Received is a message as a consumer reads it off a Memory queue.
type Received struct {
	MessageID       string
	GroupID         string
	DeduplicationID string
	Attributes      map[string]string // message attributes (provider, type)
	Body            []byte
	SentAt          time.Time
}

// Memory is a FIFO queue in memory: a publisher to an in-memory queue. The
// zero value is not usable: call NewMemory.
type Memory struct {
	q     *memQueue
	fault Fault
}

// memQueue is the queue the publishers of one NewMemory share.
type memQueue struct {
	mu      sync.Mutex
	now     func() time.Time
	deleted bool
	maxSize int
	msgs    []Received
	dedup   map[string]time.Time // de-duplication id → when it was accepted
}

// NewMemory returns a new, empty queue with the stack's maximum message
// size (MaxMessageBytes), on time.Now.
func NewMemory() *Memory {
	return &Memory{q: &memQueue{now: time.Now, maxSize: MaxMessageBytes, dedup: map[string]time.Time{}}}
}

// WithFault returns another publisher to the same queue whose sends first
// ask f which failure they meet (nil: none), as an SQS client with a fault
// in front of it would.
func (q *Memory) WithFault(f Fault) *Memory { return &Memory{q: q.q, fault: f} }

// SetClock replaces time.Now for the queue (the de-duplication window,
// SentAt).
func (q *Memory) SetClock(now func() time.Time) {
	q.q.mu.Lock()
	defer q.q.mu.Unlock()
	q.q.now = now
}

// SetMaxMessageSize sets the queue's MaximumMessageSize attribute (SQS takes
// 1,024 bytes to 1 MiB).
func (q *Memory) SetMaxMessageSize(n int) {
	q.q.mu.Lock()
	defer q.q.mu.Unlock()
	q.q.maxSize = n
}

// Delete deletes the queue, as DeleteQueue does: every send fails (SQS
// answers that the queue does not exist) and what it held is gone.
func (q *Memory) Delete() {
	q.q.mu.Lock()
	defer q.q.mu.Unlock()
	q.q.deleted, q.q.msgs, q.q.dedup = true, nil, map[string]time.Time{}
}

// Create makes a deleted queue exist again, empty, with the stack's maximum
// message size, as CreateQueue does.
func (q *Memory) Create() {
	q.q.mu.Lock()
	defer q.q.mu.Unlock()
	q.q.deleted, q.q.maxSize = false, MaxMessageBytes
}

// Drain returns every message on the queue, in the order they were sent,
// and deletes them (their de-duplication ids stay remembered).
func (q *Memory) Drain() []Received {
	q.q.mu.Lock()
	defer q.q.mu.Unlock()
	out := q.q.msgs
	q.q.msgs = nil
	return out
}

// Send is Publisher.Send.
func (q *Memory) Send(ctx context.Context, m Message) (string, error) {
	if m.Size() > MaxMessageBytes {
		return "", fmt.Errorf("%w: %s is %d bytes, over SQS's maximum of %d", ErrRefused, m.ID, m.Size(), MaxMessageBytes)
	}
	dedupID := cmp.Or(m.DeduplicationID, m.ID)
	id, err := q.do(ctx, Call{Op: "SendMessage", GroupID: m.GroupID, DeduplicationID: dedupID}, func(now time.Time) (string, error) {
		return q.q.accept(m, dedupID, now)
	})
	if err != nil {
		return "", Classify(err, "send "+m.ID)
	}
	return id, nil
}

// do makes one SQS call as the SDK would: the fault first (an error without
// Applied: nothing is sent), then the context (done: nothing is sent), then
// apply, atomically.
func (q *Memory) do(ctx context.Context, c Call, apply func(time.Time) (string, error)) (string, error) {
	var f Failure
	if q.fault != nil {
		f = q.fault(c)
	}
	if f.Err != nil && !f.Applied {
		return "", f.Err
	}
	if err := ctx.Err(); err != nil {
		return "", err // the SDK sends nothing once the context is done
	}
	q.q.mu.Lock()
	id, err := apply(q.q.now())
	q.q.mu.Unlock()
	if f.Err != nil {
		return "", f.Err
	}
	return id, err
}

// accept is SQS's handling of one SendMessage on a FIFO queue.
func (q *memQueue) accept(m Message, dedupID string, now time.Time) (string, error) {
	switch {
	case q.deleted:
		return "", &sqstypes.QueueDoesNotExist{Message: aws.String("The specified queue does not exist."), ErrorCodeOverride: aws.String("AWS.SimpleQueueService.NonExistentQueue")}
	case m.GroupID == "":
		return "", &smithy.GenericAPIError{Code: "MissingParameter", Message: "The request must contain the parameter MessageGroupId.", Fault: smithy.FaultClient}
	case !validGroupID(m.GroupID):
		return "", invalidParameter("Value %s for parameter MessageGroupId is invalid. Reason: MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.", m.GroupID)
	case !validGroupID(dedupID):
		return "", invalidParameter("Value %s for parameter MessageDeduplicationId is invalid. Reason: MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to 128 in length.", dedupID)
	case m.Size() > q.maxSize:
		return "", invalidParameter("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", q.maxSize)
	}
	if r, ok := refusedCharacter(m.Body); ok {
		return "", &sqstypes.InvalidMessageContents{Message: aws.String(fmt.Sprintf("Invalid binary character '#x%X' was found in the message body, "+
			"the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF", r))}
	}
	id := newMessageID()
	if at, ok := q.dedup[dedupID]; ok && now.Sub(at) < DeduplicationWindow {
		return id, nil // accepted, not delivered: a duplicate within the window
	}
	q.dedup[dedupID] = now
	q.msgs = append(q.msgs, Received{
		MessageID: id, GroupID: m.GroupID, DeduplicationID: dedupID,
		Attributes: map[string]string{contract.MessageAttrProvider: m.Provider, contract.MessageAttrType: m.Type},
		Body:       append([]byte(nil), m.Body...), SentAt: now,
	})
	return id, nil
}

func invalidParameter(format string, a ...any) error {
	return &smithy.GenericAPIError{Code: "InvalidParameterValue", Message: fmt.Sprintf(format, a...), Fault: smithy.FaultClient}
}

// refusedCharacter returns the first character of body SQS refuses (outside
// #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to
// #x10FFFF, or bytes that are not UTF-8).
func refusedCharacter(body []byte) (rune, bool) {
	for len(body) > 0 {
		r, size := utf8.DecodeRune(body)
		switch {
		case r == utf8.RuneError && size <= 1:
			return rune(body[0]), true
		case r == 0x9 || r == 0xA || r == 0xD,
			r >= 0x20 && r <= 0xD7FF,
			r >= 0xE000 && r <= 0xFFFD,
			r >= 0x10000 && r <= 0x10FFFF:
		default:
			return r, true
		}
		body = body[size:]
	}
	return 0, false
}

// newMessageID is a message id as SQS makes them: a random UUID.
func newMessageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
