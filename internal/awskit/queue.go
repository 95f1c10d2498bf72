package awskit

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"webhooks/shared/queue"
)

// Message is one queued CloudEvent, as a consumer reads it.
type Message struct {
	MessageID       string
	GroupID         string
	DeduplicationID string
	Attributes      map[string]string // message attributes (provider, type)
	Body            string
	Event           queue.CloudEvent // parsed Body; zero when the body is not a CloudEvent
	// SentAt is when SQS accepted the message (its SentTimestamp).
	SentAt time.Time
}

// ReadOptions say how ReadQueue reads.
type ReadOptions struct {
	Consume bool  // delete what was read (else a peek: made visible again)
	Wait    int32 // long-poll the first receive this many seconds (at most 20)
	// Settle looks once more, long-polling a second, before calling the queue
	// empty, so a loaded endpoint cannot make it look empty too early.
	Settle bool
}

// ReadQueue is the one queue reader of the tests and tools: it receives every
// message available on url. With o.Consume it deletes them; otherwise it makes
// them visible again once all are read, so other consumers still get them.
// FIFO queues lock a message group while one of its messages is in flight,
// which is why all are received before any is released or deleted.
func ReadQueue(ctx context.Context, api *sqs.Client, url string, o ReadOptions) ([]Message, error) {
	wait, consume, settled := o.Wait, o.Consume, !o.Settle
	var msgs []Message
	var handles []string
	seen := map[string]bool{}
	for {
		out, err := api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(url),
			MaxNumberOfMessages:         10,
			VisibilityTimeout:           60,
			WaitTimeSeconds:             wait,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		if err != nil {
			return msgs, fmt.Errorf("receive from %s: %w", url, err)
		}
		wait = 0
		if len(out.Messages) == 0 {
			if settled {
				break
			}
			settled, wait = true, 1
			continue
		}
		for _, m := range out.Messages {
			handles = append(handles, aws.ToString(m.ReceiptHandle))
			id := aws.ToString(m.MessageId)
			if seen[id] {
				continue
			}
			seen[id] = true
			msg := Message{
				MessageID:       id,
				GroupID:         m.Attributes[string(sqstypes.MessageSystemAttributeNameMessageGroupId)],
				DeduplicationID: m.Attributes[string(sqstypes.MessageSystemAttributeNameMessageDeduplicationId)],
				Attributes:      map[string]string{},
				Body:            aws.ToString(m.Body),
			}
			if ms, err := strconv.ParseInt(m.Attributes[string(sqstypes.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
				msg.SentAt = time.UnixMilli(ms)
			}
			for k, v := range m.MessageAttributes {
				msg.Attributes[k] = aws.ToString(v.StringValue)
			}
			_ = json.Unmarshal([]byte(msg.Body), &msg.Event)
			msgs = append(msgs, msg)
		}
		if consume {
			// Delete what was read before reading on: a FIFO queue holds back a
			// group's next message while one of it is in flight.
			if err := deleteMessages(ctx, api, url, handles); err != nil {
				return msgs, err
			}
			handles = handles[:0]
		}
	}
	// A peek: every message was received before any is released, so other
	// consumers still get them all, in order.
	for start := 0; start < len(handles); start += 10 {
		batch := handles[start:min(start+10, len(handles))]
		entries := make([]sqstypes.ChangeMessageVisibilityBatchRequestEntry, len(batch))
		for i, h := range batch {
			entries[i] = sqstypes.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: aws.String(h), VisibilityTimeout: 0}
		}
		if _, err := api.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url), Entries: entries}); err != nil {
			return msgs, fmt.Errorf("release messages on %s: %w", url, err)
		}
	}
	return msgs, nil
}

// deleteMessages deletes received messages by their receipt handles.
func deleteMessages(ctx context.Context, api *sqs.Client, url string, handles []string) error {
	for start := 0; start < len(handles); start += 10 {
		batch := handles[start:min(start+10, len(handles))]
		entries := make([]sqstypes.DeleteMessageBatchRequestEntry, len(batch))
		for i, h := range batch {
			entries[i] = sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: aws.String(h)}
		}
		if _, err := api.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: entries}); err != nil {
			return fmt.Errorf("delete from %s: %w", url, err)
		}
	}
	return nil
}

// Drain reads and deletes every message on url, settling before it calls the
// queue empty.
func (e *Env) Drain(ctx context.Context, url string) ([]Message, error) {
	return ReadQueue(ctx, e.SQS, url, ReadOptions{Consume: true, Settle: true})
}
