package localrun

// The consumer side: the example consumer (examples/consumer) under the
// emulator like the functions, fed by a local stand-in for the Lambda SQS
// event source mapping (ESM) with ReportBatchItemFailures. A Poller receives
// from one queue as the ESM does, builds the events.SQSEvent Lambda would,
// invokes the function synchronously, and deletes only the records the
// function did not report as failed; the others are left to their visibility
// timeout (the queue's redrive policy then moves a message received
// maxReceiveCount times to its dead-letter queue).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"webhooks/infra/spec"
	"webhooks/internal/awskit"
)

// DefaultBatchSize is the ESM's default batch size for SQS, and the most one
// ReceiveMessage returns.
const DefaultBatchSize = 10

// PollerConfig describes one event source mapping.
type PollerConfig struct {
	// Name labels the lines it prints (the provider).
	Name     string
	QueueURL string
	SQS      *sqs.Client
	// Function is the consumer, invoked synchronously with each batch.
	Function Invoker
	// Region is the records' awsRegion.
	Region string
	// BatchSize is MaxNumberOfMessages, 1 to 10; default 10.
	BatchSize int32
	// Wait is the long poll of each receive, in seconds; default 1.
	Wait int32
	// InvokeTimeout bounds one invocation as seen from the poller (the
	// function's own timeout is the emulator's); default 70s.
	InvokeTimeout time.Duration
	// Print receives one line per record consumed or failed; nil discards.
	Print func(line string)
	// Logf reports receive and delete errors; nil discards.
	Logf func(format string, args ...any)
	// OnBatch, when set, is called after each batch with what happened to it.
	OnBatch func(BatchResult)
}

// RecordResult is what happened to one record of a batch.
type RecordResult struct {
	MessageID      string
	GroupID        string
	SequenceNumber string
	ReceiveCount   int // ApproximateReceiveCount of this receive
	// EventType and EventID are read from the body when it is a CloudEvent
	// (never its data); empty otherwise.
	EventType, EventID string
	// Deleted: the function did not report it as failed and it was deleted
	// (consumed). Otherwise it is left to its visibility timeout.
	Deleted bool
	// Reason says why a record was not deleted.
	Reason string
}

// BatchResult is one receive and invocation.
type BatchResult struct {
	Records []RecordResult
	// InvokeErr is the invocation's error (a *FunctionError, ErrTimeout, ...):
	// nothing of the batch was deleted.
	InvokeErr error
}

// Poller is one event source mapping on one queue.
type Poller struct {
	cfg PollerConfig
	arn string
}

// NewPoller reads the queue's ARN (the records' eventSourceARN) and returns
// the poller; Run starts it.
func NewPoller(ctx context.Context, cfg PollerConfig) (*Poller, error) {
	if cfg.SQS == nil || cfg.Function == nil || cfg.QueueURL == "" {
		return nil, errors.New("localrun: PollerConfig needs SQS, Function and QueueURL")
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.BatchSize < 1 || cfg.BatchSize > DefaultBatchSize {
		return nil, fmt.Errorf("localrun: batch size %d: want 1 to %d", cfg.BatchSize, DefaultBatchSize)
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 1
	}
	if cfg.InvokeTimeout <= 0 {
		cfg.InvokeTimeout = 70 * time.Second
	}
	if cfg.Print == nil {
		cfg.Print = func(string) {}
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	out, err := cfg.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(cfg.QueueURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return nil, fmt.Errorf("localrun: queue ARN of %s: %w", cfg.QueueURL, err)
	}
	arn := out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	if arn == "" {
		return nil, fmt.Errorf("localrun: %s has no QueueArn", cfg.QueueURL)
	}
	return &Poller{cfg: cfg, arn: arn}, nil
}

// ARN is the queue's ARN, the records' eventSourceARN.
func (p *Poller) ARN() string { return p.arn }

// Run polls until ctx ends. A batch received before that is invoked and
// settled (deleted or left) to its end; then Run returns.
func (p *Poller) Run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if _, err := p.Poll(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			p.cfg.Logf("consumer %s: %v", p.cfg.Name, err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
	}
}

// Poll receives one batch (long-polling up to Wait seconds), invokes the
// function with it and deletes the records it did not report as failed. An
// empty receive returns an empty result. The error is a receive or delete
// error; the invocation's own error is in the result.
func (p *Poller) Poll(ctx context.Context) (BatchResult, error) {
	out, err := p.cfg.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(p.cfg.QueueURL),
		MaxNumberOfMessages:         p.cfg.BatchSize,
		WaitTimeSeconds:             p.cfg.Wait,
		AttributeNames:              []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}, // deprecated; sent beside its successor, as older clients do
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
		// No VisibilityTimeout: the ESM uses the queue's.
	})
	if err != nil {
		return BatchResult{}, fmt.Errorf("receive from %s: %w", p.cfg.QueueURL, err)
	}
	if len(out.Messages) == 0 {
		return BatchResult{}, nil
	}
	// The batch is settled to its end even when ctx ends now (a stop): the
	// invocation runs, and what succeeded is deleted.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.InvokeTimeout)
	defer cancel()
	res, derr := p.settle(ctx, out.Messages)
	for _, r := range res.Records {
		p.cfg.Print(p.line(r))
	}
	if p.cfg.OnBatch != nil {
		p.cfg.OnBatch(res)
	}
	return res, derr
}

// settle invokes the function with the batch and deletes what succeeded.
func (p *Poller) settle(ctx context.Context, msgs []sqstypes.Message) (BatchResult, error) {
	recs := make([]SQSRecord, len(msgs))
	res := BatchResult{Records: make([]RecordResult, len(msgs))}
	for i, m := range msgs {
		recs[i] = p.record(m)
		res.Records[i] = recordResult(recs[i])
	}
	failed, reason, err := p.invoke(ctx, recs)
	if err != nil {
		res.InvokeErr = err
		for i := range res.Records {
			res.Records[i].Reason = reason
		}
		return res, nil
	}
	var del []sqstypes.DeleteMessageBatchRequestEntry
	for i, r := range recs {
		if failed[r.MessageID] {
			res.Records[i].Reason = "reported failed (batchItemFailures)"
			continue
		}
		del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(r.ReceiptHandle)})
	}
	if len(del) == 0 {
		return res, nil
	}
	out, err := p.cfg.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.cfg.QueueURL), Entries: del})
	if err != nil {
		for _, e := range del {
			i, _ := strconv.Atoi(aws.ToString(e.Id))
			res.Records[i].Reason = "succeeded, but the delete failed"
		}
		return res, fmt.Errorf("delete from %s: %w", p.cfg.QueueURL, err)
	}
	for _, s := range out.Successful {
		i, _ := strconv.Atoi(aws.ToString(s.Id))
		res.Records[i].Deleted = true
	}
	var errs []error
	for _, f := range out.Failed {
		i, _ := strconv.Atoi(aws.ToString(f.Id))
		res.Records[i].Reason = "succeeded, but the delete failed: " + aws.ToString(f.Code)
		errs = append(errs, fmt.Errorf("delete %s: %s %s", res.Records[i].MessageID, aws.ToString(f.Code), aws.ToString(f.Message)))
	}
	return res, errors.Join(errs...)
}

// invoke runs the function with the records and returns the message ids it
// reported as failed. An error (and its reason for the printed lines) means
// the whole batch failed: a function error, a timeout or a crash, or a
// response the ESM treats as a failure of the whole batch.
func (p *Poller) invoke(ctx context.Context, recs []SQSRecord) (map[string]bool, string, error) {
	payload, err := json.Marshal(SQSEvent{Records: recs})
	if err != nil {
		return nil, "event not encoded", err
	}
	if len(payload) > MaxPayload {
		// The ESM never builds an event over Lambda's invocation limit; a
		// receive of ten 1 MiB messages could. Nothing is lost: all are left.
		return nil, "batch over the 6 MB invocation limit (lower the batch size)", fmt.Errorf("%w: batch of %d bytes", ErrPayloadTooLarge, len(payload))
	}
	out, err := p.cfg.Function.Invoke(ctx, payload)
	if err != nil {
		var fe *FunctionError
		switch {
		case errors.As(err, &fe):
			return nil, "function error " + fe.Type, err
		case errors.Is(err, ErrTimeout):
			return nil, "function timed out", err
		}
		return nil, "invocation failed", err
	}
	failed, err := batchItemFailures(out, recs)
	if err != nil {
		return nil, "invalid batch response", err
	}
	return failed, "", nil
}

// ErrBatchResponse: the function's response is one the ESM treats as a
// failure of the whole batch.
var ErrBatchResponse = errors.New("localrun: invalid batch response")

// batchItemFailures reads the function's response as the ESM does with
// ReportBatchItemFailures: null, an empty response, {} or an empty or null
// batchItemFailures is complete success; a response that is not a JSON object,
// or an item whose itemIdentifier is missing, null, empty or not a message of
// the batch, fails the whole batch.
func batchItemFailures(resp []byte, recs []SQSRecord) (map[string]bool, error) {
	var body struct {
		BatchItemFailures []map[string]json.RawMessage `json:"batchItemFailures"`
	}
	trimmed := strings.TrimSpace(string(resp))
	if trimmed == "" || trimmed == "null" {
		return nil, nil
	}
	if trimmed[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", ErrBatchResponse)
	}
	if err := json.Unmarshal([]byte(trimmed), &body); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBatchResponse, err)
	}
	inBatch := map[string]bool{}
	for _, r := range recs {
		inBatch[r.MessageID] = true
	}
	failed := map[string]bool{}
	for _, item := range body.BatchItemFailures {
		var id string
		if raw, ok := item["itemIdentifier"]; !ok || json.Unmarshal(raw, &id) != nil || id == "" {
			return nil, fmt.Errorf("%w: an item without a valid itemIdentifier", ErrBatchResponse)
		}
		if !inBatch[id] {
			return nil, fmt.Errorf("%w: itemIdentifier %q is not a message of the batch", ErrBatchResponse, truncate(id, 80))
		}
		failed[id] = true
	}
	return failed, nil
}

// SQSEvent is the event Lambda sends a function for an SQS event source
// mapping (events.SQSEvent, with md5OfMessageAttributes null when there are
// no attributes, as Lambda sends it).
type SQSEvent struct {
	Records []SQSRecord `json:"Records"`
}

// SQSRecord is one record of an SQSEvent.
type SQSRecord struct {
	MessageID              string                  `json:"messageId"`
	ReceiptHandle          string                  `json:"receiptHandle"`
	Body                   string                  `json:"body"`
	Attributes             map[string]string       `json:"attributes"`
	MessageAttributes      map[string]SQSAttribute `json:"messageAttributes"`
	Md5OfMessageAttributes *string                 `json:"md5OfMessageAttributes"`
	Md5OfBody              string                  `json:"md5OfBody"`
	EventSource            string                  `json:"eventSource"`
	EventSourceARN         string                  `json:"eventSourceARN"`
	AWSRegion              string                  `json:"awsRegion"`
}

// SQSAttribute is a message attribute in a record.
type SQSAttribute struct {
	StringValue      *string  `json:"stringValue,omitempty"`
	BinaryValue      []byte   `json:"binaryValue,omitempty"`
	StringListValues []string `json:"stringListValues"`
	BinaryListValues [][]byte `json:"binaryListValues"`
	DataType         string   `json:"dataType"`
}

// recordAttributes are the message system attributes Lambda puts in a record
// (FIFO queues add the last three), plus AWSTraceHeader when a message has it.
var recordAttributes = []string{"ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp", "AWSTraceHeader", "SequenceNumber", "MessageGroupId", "MessageDeduplicationId"}

// record is the record Lambda builds from a received message.
func (p *Poller) record(m sqstypes.Message) SQSRecord {
	r := SQSRecord{
		MessageID:         aws.ToString(m.MessageId),
		ReceiptHandle:     aws.ToString(m.ReceiptHandle),
		Body:              aws.ToString(m.Body),
		Attributes:        map[string]string{},
		MessageAttributes: map[string]SQSAttribute{},
		Md5OfBody:         aws.ToString(m.MD5OfBody),
		EventSource:       "aws:sqs",
		EventSourceARN:    p.arn,
		AWSRegion:         p.cfg.Region,
	}
	for _, k := range recordAttributes {
		if v, ok := m.Attributes[k]; ok {
			r.Attributes[k] = v
		}
	}
	for k, v := range m.MessageAttributes {
		a := SQSAttribute{
			StringValue: v.StringValue, BinaryValue: v.BinaryValue, DataType: aws.ToString(v.DataType),
			StringListValues: v.StringListValues, BinaryListValues: v.BinaryListValues,
		}
		if a.StringListValues == nil {
			a.StringListValues = []string{}
		}
		if a.BinaryListValues == nil {
			a.BinaryListValues = [][]byte{}
		}
		r.MessageAttributes[k] = a
	}
	if len(m.MessageAttributes) > 0 && m.MD5OfMessageAttributes != nil {
		r.Md5OfMessageAttributes = m.MD5OfMessageAttributes
	}
	return r
}

var printableToken = regexp.MustCompile(`^[A-Za-z0-9._:/#-]{1,128}$`)

// recordResult reads what a line may show of a record: ids, group, receive
// count, and the CloudEvent's type and id when the body is one (never data).
func recordResult(r SQSRecord) RecordResult {
	res := RecordResult{
		MessageID:      r.MessageID,
		GroupID:        r.Attributes["MessageGroupId"],
		SequenceNumber: r.Attributes["SequenceNumber"],
	}
	res.ReceiveCount, _ = strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
	var ce struct {
		SpecVersion string `json:"specversion"`
		Type        string `json:"type"`
		ID          string `json:"id"`
	}
	if json.Unmarshal([]byte(r.Body), &ce) == nil && ce.SpecVersion != "" {
		if printableToken.MatchString(ce.Type) {
			res.EventType = ce.Type
		}
		if printableToken.MatchString(ce.ID) {
			res.EventID = ce.ID
		}
	}
	return res
}

// line is the console line of one record.
func (p *Poller) line(r RecordResult) string {
	outcome, why := "consumed", ""
	if !r.Deleted {
		outcome, why = "failed", "  ("+r.Reason+"; left to its visibility timeout)"
	}
	typ, id := r.EventType, r.EventID
	if typ == "" {
		typ = "(not a CloudEvent)"
	}
	if id == "" {
		id = "-"
	}
	group := r.GroupID
	if !printableToken.MatchString(group) {
		group = "-"
	}
	return fmt.Sprintf("consumer %-10s %-8s %-40s id %s  group %s  message %s  receive %d%s",
		p.cfg.Name, outcome, typ, id, group, r.MessageID, r.ReceiveCount, why)
}

// ConsumerOptions say how to run the example consumer on the stack's queues.
type ConsumerOptions struct {
	// Binary is examples/consumer built for this machine (BuildConsumer, make run-bin).
	Binary string
	// Env is added to the function's environment (CONSUMER_* settings).
	Env map[string]string
	// Timeout per invocation; default the stack's (spec.ConsumerTimeout).
	Timeout time.Duration
	// BatchSize of each event source mapping; default 10.
	BatchSize int32
	// IdempotencyTable, when set, is created (spec.IdempotencyTable) and
	// given to the consumer as CONSUMER_IDEMPOTENCY_TABLE, as the stack does.
	IdempotencyTable string
	// Output receives the consumer's own logs (and its emulator's lines).
	Output io.Writer
	// Print receives one line per record consumed or failed.
	Print func(line string)
	// Logf reports runtime events and poller errors.
	Logf func(format string, args ...any)
}

// Consumer is the example consumer and one event source mapping per
// provider queue.
type Consumer struct {
	Function *Function
	Pollers  []*Poller
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	mu       sync.Mutex
	deleted  map[string]bool // by message id: whether its last receive ended in a delete
}

// Counts says how many messages the consumer consumed, and how many it
// failed on their last receive (left on their queue: received again after
// the visibility timeout, or dead-lettered).
func (c *Consumer) Counts() (consumed, failed int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range c.deleted {
		if d {
			consumed++
		} else {
			failed++
		}
	}
	return consumed, failed
}

func (c *Consumer) record(b BatchResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range b.Records {
		c.deleted[r.MessageID] = r.Deleted
	}
}

// ConsumerEnv is the example consumer's environment as the stack sets it
// (infra/stack consumer.go): its replays setting and, when table is not
// empty, its idempotency table.
func ConsumerEnv(table string) map[string]string {
	env := map[string]string{spec.EnvConsumerReplays: spec.DefaultConsumerReplays}
	if table != "" {
		env[spec.EnvConsumerIdempotencyTable] = table
	}
	return env
}

// ConsumerTable is the name the local run gives the example consumer's idempotency table.
func (s *Stack) ConsumerTable() string { return s.Prefix + "-consumer-idempotency" }

// CreateConsumerTable creates the example consumer's idempotency table as the
// stack does (spec.IdempotencyTable).
func (s *Stack) CreateConsumerTable(ctx context.Context, name string) error {
	if err := (&awskit.Env{DynamoDB: s.DynamoDB}).CreateTableFrom(ctx, name, spec.IdempotencyTable); err != nil {
		return fmt.Errorf("localrun: consumer: %w", err)
	}
	return nil
}

// StartConsumer starts the example consumer under the emulator and an event
// source mapping on each running provider's queue. On error nothing is left
// running.
func (s *Stack) StartConsumer(ctx context.Context, o ConsumerOptions) (*Consumer, error) {
	if o.Timeout <= 0 {
		o.Timeout = spec.ConsumerTimeout
	}
	env := s.AWS.Vars()
	if o.IdempotencyTable != "" {
		if err := s.CreateConsumerTable(ctx, o.IdempotencyTable); err != nil {
			return nil, err
		}
		env[spec.EnvConsumerIdempotencyTable] = o.IdempotencyTable
	}
	for k, v := range o.Env {
		env[k] = v
	}
	f, err := StartFunction(ctx, FunctionConfig{
		Name:    s.Prefix + "-" + ConsumerName,
		Binary:  o.Binary,
		Env:     env,
		Memory:  spec.ConsumerMemoryMB,
		Timeout: o.Timeout,
		// One sandbox per mapping, so that one queue's batch never waits for another's. Each
		// mapping has one batch in flight at a time: the template's MaximumConcurrency (2) is a
		// ceiling, and moto hands one message group's messages to concurrent receives (measured
		// on 5.2.1), which SQS never does, so a second poller would break the group's order.
		Instances: max(len(s.Running()), 1),
		Emulator:  s.Emulator,
		Output:    o.Output,
		Logf:      o.Logf,
	})
	if err != nil {
		return nil, err
	}
	c := &Consumer{Function: f, deleted: map[string]bool{}}
	for _, name := range Providers {
		p := s.Providers[name]
		if p == nil || p.QueueURL == "" {
			continue
		}
		pl, err := NewPoller(ctx, PollerConfig{
			Name: name, QueueURL: p.QueueURL, SQS: s.SQS, Function: f, Region: s.AWS.Region,
			BatchSize: o.BatchSize, InvokeTimeout: f.Timeout() + 15*time.Second, Print: o.Print, Logf: o.Logf,
			OnBatch: c.record,
		})
		if err != nil {
			f.Stop()
			return nil, err
		}
		c.Pollers = append(c.Pollers, pl)
	}
	var pctx context.Context
	pctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for _, pl := range c.Pollers {
		c.wg.Go(func() { pl.Run(pctx) })
	}
	return c, nil
}

// BatchSize is the event source mappings' batch size.
func (c *Consumer) BatchSize() int32 {
	if len(c.Pollers) == 0 {
		return 0
	}
	return c.Pollers[0].cfg.BatchSize
}

// Pids lists the consumer's processes (its emulator and, once invoked, its runtime).
func (c *Consumer) Pids() []int {
	if c == nil {
		return nil
	}
	pids := c.Function.Pids()
	sort.Ints(pids)
	return pids
}

// Stop stops the pollers (each settles the batch it holds) and then the
// function's processes, by their ids.
func (c *Consumer) Stop() {
	if c == nil {
		return
	}
	c.cancel()
	c.wg.Wait()
	c.Function.Stop()
}
