package console

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"webhooks/shared/eventstore"
)

// Cost is what one console request read from the table: the items DynamoDB
// read (a Scan's ScannedCount, whatever its filter kept; one per item a Get
// or Query returned) and the read capacity units it charged, as DynamoDB
// reports them (zero where the endpoint reports none).
type Cost struct {
	Requests     int     `json:"requests"`
	ItemsRead    int64   `json:"itemsRead"`
	ReadCapacity float64 `json:"readCapacityUnits"`
}

// costAPI counts the reads of one console request. It is handed to
// eventstore.New in place of the DynamoDB client, so the console reads events
// only through eventstore's API, never by attribute name. It asks DynamoDB to
// report consumed capacity (ReturnConsumedCapacity TOTAL), which changes no
// result and costs nothing.
type costAPI struct {
	eventstore.API
	mu   sync.Mutex
	cost Cost
}

func (c *costAPI) add(items int64, cc *ddb.ConsumedCapacity) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cost.Requests++
	c.cost.ItemsRead += items
	if cc != nil {
		c.cost.ReadCapacity += aws.ToFloat64(cc.CapacityUnits)
	}
}

// Cost is the total so far.
func (c *costAPI) Cost() Cost {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cost
}

func (c *costAPI) Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	in.ReturnConsumedCapacity = ddb.ReturnConsumedCapacityTotal
	out, err := c.API.Scan(ctx, in, optFns...)
	if err == nil {
		c.add(int64(out.ScannedCount), out.ConsumedCapacity)
	}
	return out, err
}

func (c *costAPI) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	in.ReturnConsumedCapacity = ddb.ReturnConsumedCapacityTotal
	out, err := c.API.GetItem(ctx, in, optFns...)
	if err == nil {
		n := int64(0)
		if len(out.Item) > 0 {
			n = 1
		}
		c.add(n, out.ConsumedCapacity)
	}
	return out, err
}

func (c *costAPI) Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	in.ReturnConsumedCapacity = ddb.ReturnConsumedCapacityTotal
	out, err := c.API.Query(ctx, in, optFns...)
	if err == nil {
		c.add(int64(out.ScannedCount), out.ConsumedCapacity)
	}
	return out, err
}

// The console never writes: its actions run through the functions (Lambda
// Invoke) and SQS. A write through this wrapper is a bug, refused.
func (c *costAPI) PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return nil, errReadOnly
}

func (c *costAPI) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return nil, errReadOnly
}

func (c *costAPI) DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return nil, errReadOnly
}
