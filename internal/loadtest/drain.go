package loadtest

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// received is one message taken off a queue, with when SQS accepted it (the
// oracle judges double deliveries against the de-duplication window by it).
type received struct {
	MessageID string
	Body      string
	SentAt    time.Time
}

// drain receives and deletes every message on url; it long-polls a second
// once more before it calls the queue empty. A message handed out twice (its
// visibility ran out) is kept once.
func drain(ctx context.Context, api *sqs.Client, url string) ([]received, error) {
	var out []received
	seen := map[string]bool{}
	var wait int32
	for {
		res, err := api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(url),
			MaxNumberOfMessages:         10,
			VisibilityTimeout:           60,
			WaitTimeSeconds:             wait,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameSentTimestamp},
		})
		if err != nil {
			return out, fmt.Errorf("receive from %s: %w", url, err)
		}
		if len(res.Messages) == 0 {
			if wait > 0 {
				return out, nil
			}
			wait = 1
			continue
		}
		wait = 0
		entries := make([]sqstypes.DeleteMessageBatchRequestEntry, 0, len(res.Messages))
		for i, m := range res.Messages {
			entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
			id := aws.ToString(m.MessageId)
			if seen[id] {
				continue
			}
			seen[id] = true
			ms, err := strconv.ParseInt(m.Attributes[string(sqstypes.MessageSystemAttributeNameSentTimestamp)], 10, 64)
			if err != nil {
				return out, fmt.Errorf("%s: message %s has no SentTimestamp: %w", url, id, err)
			}
			out = append(out, received{MessageID: id, Body: aws.ToString(m.Body), SentAt: time.UnixMilli(ms)})
		}
		// Delete before reading on: a FIFO queue holds back a group's next
		// message while one of it is in flight.
		if _, err := api.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: entries}); err != nil {
			return out, fmt.Errorf("delete from %s: %w", url, err)
		}
	}
}
