package awstest

// Faults on the real clients: the same failure hooks as the in-memory store
// and queue (eventstore.Memory.WithFault, queue.Memory.WithFault), in front
// of the DynamoDB and SQS clients, so that one test case makes a call fail
// the same way on both backends.

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"webhooks/shared/eventstore"
	"webhooks/shared/queue"
)

// FaultyDynamoDB is api whose calls first ask f which failure they meet: an
// error without Applied is returned without calling DynamoDB; with Applied,
// after the call (its answer lost).
func FaultyDynamoDB(api eventstore.API, f eventstore.Fault) eventstore.API {
	return faultyDynamoDB{api, f}
}

type faultyDynamoDB struct {
	eventstore.API
	f eventstore.Fault
}

func keyOf(av map[string]ddb.AttributeValue) (pk, sk string) {
	s := func(k string) string {
		if v, ok := av[k].(*ddb.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	return s("pk"), s("sk")
}

// fail runs call unless the fault stops it, and returns the fault's error
// when there is one.
func fail[T any](f eventstore.Fault, c eventstore.Call, call func() (T, error)) (T, error) {
	var zero T
	fl := f(c)
	if fl.Err != nil && !fl.Applied {
		return zero, fl.Err
	}
	out, err := call()
	if fl.Err != nil {
		return zero, fl.Err
	}
	return out, err
}

func (d faultyDynamoDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	pk, sk := keyOf(in.Item)
	return fail(d.f, eventstore.Call{Op: "PutItem", PK: pk, SK: sk}, func() (*dynamodb.PutItemOutput, error) { return d.API.PutItem(ctx, in, opts...) })
}

func (d faultyDynamoDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	pk, sk := keyOf(in.Key)
	return fail(d.f, eventstore.Call{Op: "GetItem", PK: pk, SK: sk}, func() (*dynamodb.GetItemOutput, error) { return d.API.GetItem(ctx, in, opts...) })
}

func (d faultyDynamoDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	pk, sk := keyOf(in.Key)
	return fail(d.f, eventstore.Call{Op: "UpdateItem", PK: pk, SK: sk}, func() (*dynamodb.UpdateItemOutput, error) { return d.API.UpdateItem(ctx, in, opts...) })
}

func (d faultyDynamoDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	pk, sk := keyOf(in.Key)
	return fail(d.f, eventstore.Call{Op: "DeleteItem", PK: pk, SK: sk}, func() (*dynamodb.DeleteItemOutput, error) { return d.API.DeleteItem(ctx, in, opts...) })
}

func (d faultyDynamoDB) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return fail(d.f, eventstore.Call{Op: "Query"}, func() (*dynamodb.QueryOutput, error) { return d.API.Query(ctx, in, opts...) })
}

func (d faultyDynamoDB) Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	return fail(d.f, eventstore.Call{Op: "Scan"}, func() (*dynamodb.ScanOutput, error) { return d.API.Scan(ctx, in, opts...) })
}

// FaultySQS is api whose sends first ask f which failure they meet, as
// FaultyDynamoDB does.
func FaultySQS(api queue.API, f queue.Fault) queue.API { return faultySQS{api, f} }

type faultySQS struct {
	queue.API
	f queue.Fault
}

func (q faultySQS) SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	fl := q.f(queue.Call{Op: "SendMessage", GroupID: aws.ToString(in.MessageGroupId), DeduplicationID: aws.ToString(in.MessageDeduplicationId)})
	if fl.Err != nil && !fl.Applied {
		return nil, fl.Err
	}
	out, err := q.API.SendMessage(ctx, in, opts...)
	if fl.Err != nil {
		return nil, fl.Err
	}
	return out, err
}
