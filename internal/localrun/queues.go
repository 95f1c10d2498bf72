package localrun

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

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
	Event           CloudEvent // parsed Body; zero when the body is not a CloudEvent
}

// CloudEvent is the envelope of DESIGN.md's queue messages, as the functions write it.
type CloudEvent = queue.CloudEvent

// ReadQueue receives every message available on url. With consume it deletes
// them; otherwise it makes them visible again once all are read, so other
// consumers still get them (a peek). FIFO queues lock a message group while
// one of its messages is in flight, which is why all are received before any
// is released.
func (s *Stack) ReadQueue(ctx context.Context, url string, consume bool) ([]Message, error) {
	return ReadQueue(ctx, s.SQS, url, consume, 0)
}

// ReadQueue is Stack.ReadQueue for any SQS client. wait > 0 long-polls the
// first receive that many seconds (at most 20).
func ReadQueue(ctx context.Context, api *sqs.Client, url string, consume bool, wait int32) ([]Message, error) {
	var msgs []Message
	var handles []string
	seen := map[string]bool{}
	for {
		out, err := api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(url),
			MaxNumberOfMessages:         10,
			VisibilityTimeout:           30,
			WaitTimeSeconds:             wait,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		if err != nil {
			return msgs, fmt.Errorf("localrun: receive from %s: %w", url, err)
		}
		wait = 0
		if len(out.Messages) == 0 {
			break
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
			for k, v := range m.MessageAttributes {
				msg.Attributes[k] = aws.ToString(v.StringValue)
			}
			_ = json.Unmarshal([]byte(msg.Body), &msg.Event)
			msgs = append(msgs, msg)
		}
	}
	for start := 0; start < len(handles); start += 10 {
		batch := handles[start:min(start+10, len(handles))]
		if consume {
			entries := make([]sqstypes.DeleteMessageBatchRequestEntry, len(batch))
			for i, h := range batch {
				entries[i] = sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: aws.String(h)}
			}
			if _, err := api.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: entries}); err != nil {
				return msgs, fmt.Errorf("localrun: delete from %s: %w", url, err)
			}
			continue
		}
		entries := make([]sqstypes.ChangeMessageVisibilityBatchRequestEntry, len(batch))
		for i, h := range batch {
			entries[i] = sqstypes.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: aws.String(h), VisibilityTimeout: 0}
		}
		if _, err := api.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url), Entries: entries}); err != nil {
			return msgs, fmt.Errorf("localrun: release messages on %s: %w", url, err)
		}
	}
	return msgs, nil
}

// State is what a running webhooks-local tells other local tools
// (webhookctl): where the gateway and the AWS endpoint are.
type State struct {
	Gateway string            `json:"gateway"`
	AWS     AWSEnv            `json:"aws"`
	Table   string            `json:"table"`
	Queues  map[string]string `json:"queues"`
	DLQs    map[string]string `json:"dlqs"`
	Pid     int               `json:"pid"`
}

// State describes this stack with its gateway at gatewayURL.
func (s *Stack) State(gatewayURL string) State {
	st := State{Gateway: gatewayURL, AWS: s.AWS, Table: s.Table, Queues: map[string]string{}, DLQs: map[string]string{}, Pid: os.Getpid()}
	for name, p := range s.Providers {
		st.Queues[name] = p.QueueURL
		st.DLQs[name] = p.DLQURL
	}
	return st
}

// WriteState writes st as JSON to path.
func WriteState(path string, st State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

// LoadState reads a state file written by WriteState.
func LoadState(path string) (State, error) {
	var st State
	b, err := os.ReadFile(path)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("localrun: state %s: %w", path, err)
	}
	return st, nil
}
