package awskit

// Resources: the AWS resources of the contract (table, FIFO queue with DLQ,
// secret) created and inspected on a local AWS API such as moto_server.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"webhooks/infra/spec"
	"webhooks/shared/contract"
)

// Env holds clients for one AWS endpoint.
type Env struct {
	Endpoint string
	Config   aws.Config
	DynamoDB *dynamodb.Client
	SQS      *sqs.Client
	Secrets  *secretsmanager.Client
}

// NewEnv returns clients for endpoint with dummy credentials in us-east-1.
func NewEnv(ctx context.Context, endpoint string) (*Env, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		config.WithBaseEndpoint(endpoint),
		config.WithCredentialsProvider(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test", Source: "awstest"}, nil
		})),
	)
	if err != nil {
		return nil, err
	}
	return FromConfig(endpoint, cfg), nil
}

// FromConfig returns clients built from cfg (for callers with their own
// credentials and region, such as the local run pointed at LocalStack).
func FromConfig(endpoint string, cfg aws.Config) *Env {
	return &Env{
		Endpoint: endpoint, Config: cfg,
		DynamoDB: dynamodb.NewFromConfig(cfg),
		SQS:      sqs.NewFromConfig(cfg),
		Secrets:  secretsmanager.NewFromConfig(cfg),
	}
}

// CreateTable creates the event table as the stack deploys it (spec.Table:
// keys, the sparse by-quarantine index, TTL, on demand). A table that already
// exists is kept (a re-run against the same endpoint).
func (e *Env) CreateTable(ctx context.Context, name string) error {
	return e.CreateTableFrom(ctx, name, spec.Table)
}

// CreateTableFrom creates a table with settings t (every key a string), waits
// for it and turns its TTL on. A table that already exists is kept.
func (e *Env) CreateTableFrom(ctx context.Context, name string, t spec.TableSettings) error {
	var defs []ddb.AttributeDefinition
	define := func(attr string) {
		for _, d := range defs {
			if aws.ToString(d.AttributeName) == attr {
				return
			}
		}
		defs = append(defs, ddb.AttributeDefinition{AttributeName: aws.String(attr), AttributeType: ddb.ScalarAttributeTypeS})
	}
	keys := func(pk, sk string) []ddb.KeySchemaElement {
		define(pk)
		out := []ddb.KeySchemaElement{{AttributeName: aws.String(pk), KeyType: ddb.KeyTypeHash}}
		if sk != "" {
			define(sk)
			out = append(out, ddb.KeySchemaElement{AttributeName: aws.String(sk), KeyType: ddb.KeyTypeRange})
		}
		return out
	}
	in := &dynamodb.CreateTableInput{TableName: aws.String(name), KeySchema: keys(t.PartitionKey, t.SortKey)}
	if t.OnDemand {
		in.BillingMode = ddb.BillingModePayPerRequest
	}
	for _, ix := range t.Indexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, ddb.GlobalSecondaryIndex{
			IndexName:  aws.String(ix.Name),
			KeySchema:  keys(ix.PartitionKey, ix.SortKey),
			Projection: &ddb.Projection{ProjectionType: ddb.ProjectionType(ix.Projection)},
		})
	}
	in.AttributeDefinitions = defs
	_, err := e.DynamoDB.CreateTable(ctx, in)
	var inUse *ddb.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	if err := dynamodb.NewTableExistsWaiter(e.DynamoDB).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
		return fmt.Errorf("table %s not active: %w", name, err)
	}
	if t.TTLAttribute == "" {
		return nil
	}
	_, err = e.DynamoDB.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &ddb.TimeToLiveSpecification{AttributeName: aws.String(t.TTLAttribute), Enabled: aws.Bool(true)},
	})
	if err != nil && !strings.Contains(err.Error(), "already enabled") {
		return fmt.Errorf("enable TTL on %s: %w", name, err)
	}
	return nil
}

// DeleteTable deletes a table.
func (e *Env) DeleteTable(ctx context.Context, name string) error {
	_, err := e.DynamoDB.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	return err
}

// Queue is a FIFO queue and its dead-letter queue.
type Queue struct {
	URL, ARN, DLQURL string
}

// CreateQueue creates "<name>.fifo" and its dead-letter queue
// "<name>-dlq.fifo" with the stack's settings (spec.Queue, spec.DeadLetterQueue,
// spec.MaxReceiveCount). Creating an existing queue with the same attributes
// returns it.
func (e *Env) CreateQueue(ctx context.Context, name string) (Queue, error) {
	name = strings.TrimSuffix(name, ".fifo")
	dlqURL, dlqARN, err := e.createQueue(ctx, name+"-dlq.fifo", spec.DeadLetterQueue.Attributes())
	if err != nil {
		return Queue{}, fmt.Errorf("create DLQ for %s: %w", name, err)
	}
	attrs := spec.Queue.Attributes()
	attrs["RedrivePolicy"] = spec.RedrivePolicy(dlqARN)
	url, arn, err := e.createQueue(ctx, name+".fifo", attrs)
	if err != nil {
		return Queue{}, fmt.Errorf("create queue %s: %w", name, err)
	}
	return Queue{URL: url, ARN: arn, DLQURL: dlqURL}, nil
}

func (e *Env) createQueue(ctx context.Context, name string, attrs map[string]string) (url, arn string, err error) {
	q, err := e.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		return "", "", err
	}
	qa, err := e.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", "", fmt.Errorf("read the arn of %s: %w", name, err)
	}
	return aws.ToString(q.QueueUrl), qa.Attributes["QueueArn"], nil
}

// DeleteQueue deletes a queue by URL.
func (e *Env) DeleteQueue(ctx context.Context, url string) error {
	_, err := e.SQS.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)})
	return err
}

// PutSecret creates the secret or, when it exists, stores value as its new
// AWSCURRENT version (the old one becomes AWSPREVIOUS, as in a rotation).
// It returns the secret's ARN.
func (e *Env) PutSecret(ctx context.Context, name, value string) (string, error) {
	out, err := e.Secrets.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
	if err == nil {
		return aws.ToString(out.ARN), nil
	}
	var exists *smtypes.ResourceExistsException
	if !errors.As(err, &exists) {
		return "", fmt.Errorf("create secret %s: %w", name, err)
	}
	put, err := e.Secrets.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(value)})
	if err != nil {
		return "", fmt.Errorf("put secret %s: %w", name, err)
	}
	return aws.ToString(put.ARN), nil
}

// Items returns every item of the table (a Scan: tests and tools only).
func (e *Env) Items(ctx context.Context, table string) ([]map[string]ddb.AttributeValue, error) {
	var out []map[string]ddb.AttributeValue
	p := dynamodb.NewScanPaginator(e.DynamoDB, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
	}
	return out, nil
}

// Unique returns a name unique to this process and moment, for fresh resources.
func Unique(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
}

// Str reads a string attribute.
func Str(it map[string]ddb.AttributeValue, k string) string {
	if v, ok := it[k].(*ddb.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// SingleUseExpiries are the expiry times (expires_at, epoch seconds) of the
// single-use credential records among items (sort key "replay"), in their order;
// a record without a readable expiry is 0.
func SingleUseExpiries(items []map[string]ddb.AttributeValue) []int64 {
	var out []int64
	for _, it := range items {
		if Str(it, contract.TableSortKey) != "replay" {
			continue
		}
		var exp int64
		if v, ok := it[contract.TableTTLAttribute].(*ddb.AttributeValueMemberN); ok {
			exp, _ = strconv.ParseInt(v.Value, 10, 64)
		}
		out = append(out, exp)
	}
	return out
}
