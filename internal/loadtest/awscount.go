package loadtest

// AWS call counting: an AWS SDK middleware that counts the calls a client
// makes, per service and operation, and the DynamoDB capacity units and SQS
// requests they are billed as. Add it to any SDK configuration with
// config.WithAPIOptions (see Counter.LoadOption). Local tooling for the cost
// report: never deployed.
//
// DynamoDB units are computed from item sizes with DynamoDB's published rules
// (1 write unit per started 1 KB written, the larger of the item before and
// after for an update; 1 read unit per started 4 KB of a strongly consistent
// read, half that for an eventually consistent one, at least one unit). The
// middleware also asks DynamoDB for ReturnConsumedCapacity=TOTAL and records
// what the endpoint reports: on AWS the two agree, a local endpoint such as
// moto_server reports fixed numbers.

import (
	"context"
	"math"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"

	"webhooks/shared/eventstore"
)

// SQSChunk is the size SQS bills one request by (each started 64 KB is one request).
const SQSChunk = 64 << 10

// Counter counts calls made through the clients it is added to. Safe for
// concurrent use.
type Counter struct {
	mu    sync.Mutex
	snap  Snapshot
	items map[string]map[string]int // table+key -> attribute name -> size in bytes
}

// Snapshot is what a Counter saw.
type Snapshot struct {
	// Calls by "Service.Operation" (e.g. "DynamoDB.PutItem"), one per
	// operation the code asked for.
	Calls map[string]int
	// Attempts by "Service.Operation": HTTP attempts, retries included (what AWS bills).
	Attempts map[string]int
	// Errors by "Service.Operation": operations that returned an error
	// (a failed conditional write is one, and is billed).
	Errors map[string]int
	// WriteUnits and ReadUnits computed from item sizes.
	WriteUnits, ReadUnits float64
	// WriteUnitsByKind splits WriteUnits by the written item's sort key "sk"
	// (in this project's table: "event" for stored events, "replay" for
	// single-use credentials); "" when the item has none.
	WriteUnitsByKind map[string]float64
	// ReportedCapacity is the sum of ConsumedCapacity the endpoint returned.
	ReportedCapacity float64
	// ItemBytes is the largest DynamoDB item size written (PutItem), in bytes.
	ItemBytes int
	// SQSRequests in 64 KB chunks, and SQSBytes sent (body plus attributes).
	SQSRequests, SQSBytes int
	// EstimatedUpdates counts UpdateItem calls on items this counter never
	// saw written (their size before the update is a guess).
	EstimatedUpdates int
}

// NewCounter returns an empty Counter.
func NewCounter() *Counter {
	c := &Counter{}
	c.Reset()
	return c
}

// Reset forgets everything counted (and the item sizes it tracks).
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.snap = Snapshot{Calls: map[string]int{}, Attempts: map[string]int{}, Errors: map[string]int{}, WriteUnitsByKind: map[string]float64{}}
	c.items = map[string]map[string]int{}
}

// Snapshot returns a copy of the counts so far.
func (c *Counter) Snapshot() Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.snap
	s.Calls, s.Attempts, s.Errors = copyMap(c.snap.Calls), copyMap(c.snap.Attempts), copyMap(c.snap.Errors)
	s.WriteUnitsByKind = make(map[string]float64, len(c.snap.WriteUnitsByKind))
	for k, v := range c.snap.WriteUnitsByKind {
		s.WriteUnitsByKind[k] = v
	}
	return s
}

// Total is the number of calls across all operations.
func (s Snapshot) Total() int {
	n := 0
	for _, v := range s.Calls {
		n += v
	}
	return n
}

// Operations lists the counted operations, sorted.
func (s Snapshot) Operations() []string {
	out := make([]string, 0, len(s.Calls))
	for k := range s.Calls {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func copyMap(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// LoadOption adds the counter to an SDK configuration:
// config.LoadDefaultConfig(ctx, counter.LoadOption()).
func (c *Counter) LoadOption() func(*config.LoadOptions) error {
	return config.WithAPIOptions([]func(*middleware.Stack) error{c.Register})
}

// Register adds the counting middleware to one operation's stack.
func (c *Counter) Register(st *middleware.Stack) error {
	if err := st.Initialize.Add(middleware.InitializeMiddlewareFunc("awscount.Operation", c.handleInitialize), middleware.After); err != nil {
		return err
	}
	// After the retry middleware: runs once per HTTP attempt.
	return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("awscount.Attempt", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		name := opName(ctx)
		c.mu.Lock()
		c.snap.Attempts[name]++
		c.mu.Unlock()
		return next.HandleFinalize(ctx, in)
	}), middleware.After)
}

func opName(ctx context.Context) string {
	return awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx)
}

func (c *Counter) handleInitialize(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	name := opName(ctx)
	var write, read float64
	var sqsBytes, itemBytes int
	var estimated bool
	kind := ""
	c.mu.Lock()
	switch p := in.Parameters.(type) {
	case *dynamodb.PutItemInput:
		p.ReturnConsumedCapacity = ddb.ReturnConsumedCapacityTotal
		kind = itemKind(p.Item)
		sizes := attrSizes(p.Item)
		itemBytes = sum(sizes)
		write = units(itemBytes, 1024)
		if old, ok := c.items[itemKey(aws.ToString(p.TableName), p.Item)]; ok {
			write = math.Max(write, units(sum(old), 1024)) // replacing an item bills the larger
		}
		c.items[itemKey(aws.ToString(p.TableName), p.Item)] = sizes
	case *dynamodb.UpdateItemInput:
		p.ReturnConsumedCapacity = ddb.ReturnConsumedCapacityTotal
		kind = itemKind(p.Key)
		k := itemKey(aws.ToString(p.TableName), p.Key)
		before, known := c.items[k]
		if !known {
			before = attrSizes(p.Key)
			estimated = true
		}
		after := ApplyUpdate(before, aws.ToString(p.UpdateExpression), p.ExpressionAttributeNames, p.ExpressionAttributeValues)
		write = math.Max(units(sum(before), 1024), units(sum(after), 1024))
		c.items[k] = after
	case *dynamodb.GetItemInput:
		p.ReturnConsumedCapacity = ddb.ReturnConsumedCapacityTotal
	case *dynamodb.QueryInput:
		p.ReturnConsumedCapacity = ddb.ReturnConsumedCapacityTotal
	case *sqs.SendMessageInput:
		sqsBytes = len(aws.ToString(p.MessageBody))
		for k, v := range p.MessageAttributes {
			sqsBytes += len(k) + len(aws.ToString(v.DataType)) + len(aws.ToString(v.StringValue)) + len(v.BinaryValue)
		}
	}
	c.snap.Calls[name]++
	c.snap.WriteUnits += write
	if write > 0 {
		c.snap.WriteUnitsByKind[kind] += write
	}
	if itemBytes > c.snap.ItemBytes {
		c.snap.ItemBytes = itemBytes
	}
	if sqsBytes > 0 {
		c.snap.SQSBytes += sqsBytes
		c.snap.SQSRequests += int(units(sqsBytes, SQSChunk))
	}
	if estimated {
		c.snap.EstimatedUpdates++
	}
	c.mu.Unlock()

	out, md, err := next.HandleInitialize(ctx, in)

	var reported float64
	switch r := out.Result.(type) {
	case *dynamodb.PutItemOutput:
		reported = capacity(r.ConsumedCapacity)
	case *dynamodb.UpdateItemOutput:
		reported = capacity(r.ConsumedCapacity)
	case *dynamodb.GetItemOutput:
		reported = capacity(r.ConsumedCapacity)
		if p, ok := in.Parameters.(*dynamodb.GetItemInput); ok {
			read = units(sum(attrSizes(r.Item)), 4096)
			if !aws.ToBool(p.ConsistentRead) {
				read /= 2
			}
		}
	case *dynamodb.QueryOutput:
		// A Query bills the items it read, together, per started 4 KB (at
		// least one unit), half when eventually consistent.
		reported = capacity(r.ConsumedCapacity)
		if p, ok := in.Parameters.(*dynamodb.QueryInput); ok {
			size := 0
			for _, it := range r.Items {
				size += sum(attrSizes(it))
			}
			read = units(size, 4096)
			if !aws.ToBool(p.ConsistentRead) {
				read /= 2
			}
		}
	}
	c.mu.Lock()
	c.snap.ReportedCapacity += reported
	c.snap.ReadUnits += read
	if err != nil {
		c.snap.Errors[name]++
	}
	c.mu.Unlock()
	return out, md, err
}

func capacity(cc *ddb.ConsumedCapacity) float64 {
	if cc == nil {
		return 0
	}
	return aws.ToFloat64(cc.CapacityUnits)
}

// units is how many started blocks of size block n bytes take, at least one.
func units(n, block int) float64 {
	if n <= 0 {
		return 1
	}
	return float64((n + block - 1) / block)
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// itemKind names the item a write is for, by its sort key: "event" (an
// event with a key of its own, or a state of an entity at its generation),
// "replay" (a single-use record), "state" (the previous layout's latest
// state), or the sort key itself.
func itemKind(item map[string]ddb.AttributeValue) string {
	sk := sortKey(item)
	if len(sk) == 7 && strings.Trim(sk, "0123456789abcdef") == "" {
		return "event"
	}
	return sk
}

func sortKey(item map[string]ddb.AttributeValue) string {
	if v, ok := item["sk"].(*ddb.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func itemKey(table string, item map[string]ddb.AttributeValue) string {
	var b strings.Builder
	b.WriteString(table)
	for _, k := range []string{"pk", "sk"} {
		b.WriteByte(0)
		if v, ok := item[k].(*ddb.AttributeValueMemberS); ok {
			b.WriteString(v.Value)
		}
	}
	return b.String()
}

// attrSizes is each attribute's size (name plus value) by DynamoDB's rules.
func attrSizes(item map[string]ddb.AttributeValue) map[string]int {
	out := make(map[string]int, len(item))
	for k, v := range item {
		out[k] = len(k) + ValueSize(v)
	}
	return out
}

// ItemSize is the size of an item by DynamoDB's rules: the UTF-8 length of
// every attribute name plus the size of its value.
func ItemSize(item map[string]ddb.AttributeValue) int { return sum(attrSizes(item)) }

// ValueSize is the billed size of one attribute value, by the event
// store's one rule (eventstore.ValueBytes).
func ValueSize(v ddb.AttributeValue) int { return eventstore.ValueBytes(v) }

// ApplyUpdate returns the attribute sizes of an item after a simple update
// expression: "SET a = :v, #b = :w REMOVE c, d". An assignment whose right
// side is not a plain value placeholder keeps the attribute's old size.
// ADD and DELETE clauses are left out (sizes unchanged).
func ApplyUpdate(before map[string]int, expr string, names map[string]string, values map[string]ddb.AttributeValue) map[string]int {
	after := make(map[string]int, len(before)+4)
	for k, v := range before {
		after[k] = v
	}
	resolve := func(n string) string {
		n = strings.TrimSpace(n)
		if r, ok := names[n]; ok {
			return r
		}
		return n
	}
	for clause, body := range clauses(expr) {
		for _, part := range splitTop(body) {
			switch clause {
			case "SET":
				lhs, rhs, ok := strings.Cut(part, "=")
				if !ok {
					continue
				}
				name := resolve(lhs)
				rhs = strings.TrimSpace(rhs)
				if v, ok := values[rhs]; ok {
					after[name] = len(name) + ValueSize(v)
				}
			case "REMOVE":
				delete(after, resolve(part))
			}
		}
	}
	return after
}

// clauses splits an update expression into its SET / REMOVE / ADD / DELETE bodies.
func clauses(expr string) map[string]string {
	out := map[string]string{}
	fields := strings.Fields(expr)
	cur := ""
	for _, f := range fields {
		switch u := strings.ToUpper(f); u {
		case "SET", "REMOVE", "ADD", "DELETE":
			cur = u
			continue
		}
		if cur != "" {
			out[cur] += f + " "
		}
	}
	return out
}

// splitTop splits on commas outside parentheses.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	if rest := strings.TrimSpace(s[start:]); rest != "" {
		out = append(out, rest)
	}
	return out
}
