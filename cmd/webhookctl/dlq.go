package main

// The dead-letter redrive: messages move from a provider's dead-letter queue
// back to its source queue, each message group in its order.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"webhooks/internal/awskit"
	"webhooks/internal/devkit/kits"
)

// sqsAPI is the part of the SQS client the dead-letter redrive uses.
type sqsAPI interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

var _ sqsAPI = (*sqs.Client)(nil)

// ErrRedrivePolicy means a queue that is to be read without consuming has a
// redrive policy: each receive would count toward moving its messages on.
var ErrRedrivePolicy = errors.New("the queue has a redrive policy: every receive counts toward moving a message to its dead-letter queue")

// checkNoRedrivePolicy makes sure receiving from url never moves a message.
func checkNoRedrivePolicy(ctx context.Context, api sqsAPI, url string) error {
	out, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameRedrivePolicy},
	})
	if err != nil {
		return fmt.Errorf("attributes of %s: %w", queueName(url), err)
	}
	if out.Attributes[string(sqstypes.QueueAttributeNameRedrivePolicy)] != "" {
		return fmt.Errorf("%s: %w", queueName(url), ErrRedrivePolicy)
	}
	return nil
}

func queueName(url string) string { return url[strings.LastIndex(url, "/")+1:] }

// dlqDeduplicationID is the MessageDeduplicationId of a dead-lettered
// message's copy on the source queue: derived from its message id on the
// dead-letter queue, so a run that sent it but crashed before deleting it is
// de-duplicated by SQS when run again (within SQS's 5-minute window).
func dlqDeduplicationID(dlqMessageID string) string {
	sum := sha256.Sum256([]byte(dlqMessageID))
	id := "dlq-" + hex.EncodeToString(sum[:])
	return id[:min(len(id), 128)]
}

// groupCount is one message group's part of a dead-letter redrive.
type groupCount struct {
	Group   string
	Moved   int
	Left    int   // received after the group stopped: still on the DLQ
	Err     error // why the group stopped
	Stopped string
}

// dlqReport is what a dead-letter redrive did.
type dlqReport struct {
	Moved  int
	Groups []*groupCount // in the order first seen
}

func (r *dlqReport) group(id string) *groupCount {
	for _, g := range r.Groups {
		if g.Group == id {
			return g
		}
	}
	g := &groupCount{Group: id}
	r.Groups = append(r.Groups, g)
	return g
}

// Failed reports whether a group stopped.
func (r *dlqReport) Failed() bool {
	for _, g := range r.Groups {
		if g.Err != nil {
			return true
		}
	}
	return false
}

// redriveDLQ moves up to limit messages (0: all) from the dead-letter queue dlq
// to the source queue src. Each message is sent with its body, message
// attributes and group, and a de-duplication id derived from its DLQ message
// id; it is deleted from the DLQ only after the send succeeded. A group's
// messages go strictly in order: once one of them fails, none after it is
// sent (they stay on the DLQ, made visible again at the end).
func redriveDLQ(ctx context.Context, api sqsAPI, dlq, src string, limit int) (*dlqReport, error) {
	rep := &dlqReport{}
	if err := checkNoRedrivePolicy(ctx, api, dlq); err != nil {
		return rep, err
	}
	seen := map[string]bool{}
	var held []string // receipt handles of messages left on the DLQ, to release
	defer func() {
		for _, h := range held {
			// Best effort: otherwise they come back when their visibility times out.
			_, _ = api.ChangeMessageVisibility(context.WithoutCancel(ctx), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(dlq), ReceiptHandle: aws.String(h), VisibilityTimeout: 0})
		}
	}()
	var wait int32
	for limit == 0 || rep.Moved < limit {
		n := int32(10)
		if limit > 0 {
			n = int32(min(10, limit-rep.Moved))
		}
		out, err := api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(dlq),
			MaxNumberOfMessages:         n,
			VisibilityTimeout:           120,
			WaitTimeSeconds:             wait,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		if err != nil {
			return rep, fmt.Errorf("receive from %s: %w", queueName(dlq), err)
		}
		if len(out.Messages) == 0 {
			if wait > 0 { // looked twice, the second time long-polling: empty
				return rep, nil
			}
			wait = 1
			continue
		}
		wait = 0
		progress := false
		for _, m := range out.Messages {
			id := aws.ToString(m.MessageId)
			groupID := m.Attributes[string(sqstypes.MessageSystemAttributeNameMessageGroupId)]
			g := rep.group(groupID)
			if seen[id] || g.Err != nil {
				// A group that stopped keeps its later messages (FIFO order);
				// one seen before is an earlier failure come back.
				if !seen[id] {
					g.Left++
				}
				seen[id] = true
				held = append(held, aws.ToString(m.ReceiptHandle))
				continue
			}
			seen[id] = true
			progress = true
			if err := moveMessage(ctx, api, dlq, src, m, groupID); err != nil {
				g.Err, g.Stopped = err, id
				held = append(held, aws.ToString(m.ReceiptHandle))
				continue
			}
			g.Moved++
			rep.Moved++
		}
		if !progress {
			return rep, nil
		}
	}
	return rep, nil
}

// moveMessage sends one DLQ message to the source queue, then deletes it
// from the DLQ.
func moveMessage(ctx context.Context, api sqsAPI, dlq, src string, m sqstypes.Message, groupID string) error {
	in := &sqs.SendMessageInput{
		QueueUrl:               aws.String(src),
		MessageBody:            m.Body,
		MessageDeduplicationId: aws.String(dlqDeduplicationID(aws.ToString(m.MessageId))),
	}
	if groupID != "" {
		in.MessageGroupId = aws.String(groupID)
	}
	if len(m.MessageAttributes) > 0 {
		in.MessageAttributes = make(map[string]sqstypes.MessageAttributeValue, len(m.MessageAttributes))
		for k, v := range m.MessageAttributes {
			in.MessageAttributes[k] = sqstypes.MessageAttributeValue{DataType: v.DataType, StringValue: v.StringValue, BinaryValue: v.BinaryValue}
		}
	}
	if _, err := api.SendMessage(ctx, in); err != nil {
		return fmt.Errorf("send to %s: %w", queueName(src), err)
	}
	if _, err := api.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(dlq), ReceiptHandle: m.ReceiptHandle}); err != nil {
		// Sent but still on the DLQ: a run within 5 minutes sends it again
		// with the same de-duplication id, which SQS drops.
		return fmt.Errorf("sent, but not deleted from %s (run again within 5 minutes: SQS drops the copy): %w", queueName(dlq), err)
	}
	return nil
}

func runDLQ(args []string, stdout, stderr io.Writer) error {
	const line = "dlq redrive -provider P [-max N] [-dry-run]"
	if len(args) == 0 || args[0] != "redrive" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fmt.Fprintln(stdout, "usage: webhookctl "+line)
			return flag.ErrHelp
		}
		fmt.Fprintln(stderr, "usage: webhookctl "+line)
		return errUsage
	}
	fs := newFlagSet("dlq redrive", line, `
Moves the messages on the provider's dead-letter queue back to its source
queue, keeping the order of each message group: each is sent with its body,
message attributes and group id, and a de-duplication id derived from its
message id on the dead-letter queue (so a run interrupted between sending and
deleting is de-duplicated by SQS when run again within 5 minutes), then
deleted from the dead-letter queue. When a message cannot be sent, its
group's later messages stay where they are. Prints the count per group.

Fix what made the consumer fail first: the messages go back to it.

-dry-run lists the messages instead. Reading the dead-letter queue is safe:
it has no redrive policy, so receiving there never moves a message (checked
before reading).`, stderr)
	tf := addTargetFlags(fs)
	provider := fs.String("provider", "", "the provider ("+strings.Join(kits.Names(), ", ")+")")
	limit := fs.Int("max", 0, "move at most this many messages (0: all)")
	dryRun := fs.Bool("dry-run", false, "list the messages on the dead-letter queue, move nothing")
	if _, err := parseExactly(fs, args[1:], 0, ""); err != nil {
		return err
	}
	p, err := oneProvider(fs, *provider)
	if err != nil {
		return err
	}
	if *limit < 0 {
		return usageErr(fs, "-max must not be negative")
	}
	ctx, stop, t, err := tf.open()
	if err != nil {
		return err
	}
	defer stop()
	dlq, err := t.deadLetterQueue(p)
	if err != nil {
		return err
	}
	if *dryRun {
		if err := checkNoRedrivePolicy(ctx, t.sqs, dlq); err != nil {
			return err
		}
		msgs, err := awskit.ReadQueue(ctx, t.sqs, dlq, awskit.ReadOptions{Settle: true})
		if err != nil {
			return err
		}
		counts := map[string]int{}
		var order []string
		for _, m := range msgs {
			if counts[m.GroupID] == 0 {
				order = append(order, m.GroupID)
			}
			counts[m.GroupID]++
			fmt.Fprintf(stdout, "group %s  message %s  %s  id %s\n", m.GroupID, m.MessageID, dash(m.Event.Type), dash(m.Event.ID))
		}
		for _, g := range order {
			fmt.Fprintf(stdout, "group %s: %d message(s)\n", g, counts[g])
		}
		fmt.Fprintf(stdout, "%d message(s) on %s (dry run: nothing moved)\n", len(msgs), queueName(dlq))
		return nil
	}
	src, err := t.queue(p)
	if err != nil {
		return err
	}
	rep, err := redriveDLQ(ctx, t.sqs, dlq, src, *limit)
	for _, g := range rep.Groups {
		fmt.Fprintf(stdout, "group %s: moved %d", g.Group, g.Moved)
		if g.Err != nil {
			fmt.Fprintf(stdout, "; stopped at message %s (it and %d later one(s) seen stay on the dead-letter queue): %v", g.Stopped, g.Left, g.Err)
		}
		fmt.Fprintln(stdout)
	}
	fmt.Fprintf(stdout, "moved %d message(s) from %s to %s\n", rep.Moved, queueName(dlq), queueName(src))
	if err != nil {
		return err
	}
	if rep.Failed() {
		return errors.New("some groups stopped: run again once the cause is fixed")
	}
	return nil
}
