package stack

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"webhooks/infra/spec"
)

// The example consumer: examples/consumer (built by `make build` into <assetDir>/consumer)
// deployed as one function reading every provider's queue through its own event source
// mapping. Off by default; `-c exampleConsumer=true` adds it (ConfigFromContext).

// ExampleConsumerAsset is the directory under the asset directory holding its bootstrap.
const ExampleConsumerAsset = "consumer"

// The example's environment names and sizing: infra/spec, shared with the local run.
const (
	EnvConsumerIdempotencyTable   = spec.EnvConsumerIdempotencyTable
	EnvConsumerReplays            = spec.EnvConsumerReplays
	ExampleConsumerTimeoutSeconds = int(spec.ConsumerTimeout / time.Second)
	ExampleConsumerMemoryMB       = spec.ConsumerMemoryMB
)

// ExampleConsumerQueueActions are what the function's event source mappings do on each queue:
// receive, delete (a handled record), change the visibility (Lambda returns failed records)
// and read the queue's attributes. Not GetQueueUrl (mappings work on ARNs), never SendMessage.
var ExampleConsumerQueueActions = []string{
	"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes",
}

// ExampleConsumerTableActions are the idempotency store's calls (consumer.DynamoDBStore): a
// conditional put to claim and complete, a get, a delete to release. No Scan or Query.
var ExampleConsumerTableActions = []string{"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem"}

type ExampleConsumerProps struct {
	// Receivers whose queues (not the dead-letter queues) the consumer reads.
	Receivers    []*Receiver
	Key          awskms.IKey
	AssetDir     string
	LogRetention awslogs.RetentionDays
	Config       ExampleConsumerConfig
}

// ExampleConsumer is the example consumer function with its role, log group, event source
// mappings and, with idempotency, its table.
type ExampleConsumer struct {
	constructs.Construct
	Function awslambda.Function
	Role     awsiam.Role
	LogGroup awslogs.LogGroup
	// Table holds the handled event ids; nil without idempotency.
	Table    awsdynamodb.Table
	Mappings []awslambda.EventSourceMapping
}

func NewExampleConsumer(scope constructs.Construct, id string, props *ExampleConsumerProps) *ExampleConsumer {
	this := constructs.NewConstruct(scope, &id)
	cfg := props.Config
	c := &ExampleConsumer{Construct: this}
	region := *awscdk.Stack_Of(this).Region()

	// An example, not a record: its log group and table go with the stack (or with
	// exampleConsumer=false), unlike the receivers' which are retained.
	c.LogGroup = awslogs.NewLogGroup(this, jsii.String("LogGroup"), &awslogs.LogGroupProps{
		Retention:     props.LogRetention,
		EncryptionKey: props.Key,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})

	c.Role = newFunctionRole(this, "Example consumer of the webhook queues", c.LogGroup)
	allow := func(sid string, actions []string, resources []string, conditions *map[string]any) {
		c.Role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String(sid),
			Actions:    jsii.Strings(actions...),
			Resources:  jsii.Strings(resources...),
			Conditions: conditions,
		}))
	}
	via := func(service string) *map[string]any {
		return &map[string]any{"StringEquals": map[string]any{"kms:ViaService": fmt.Sprintf("%s.%s.amazonaws.com", service, region)}}
	}
	queues := make([]string, len(props.Receivers))
	for i, r := range props.Receivers {
		queues[i] = *r.Queue.QueueArn()
	}
	allow("ConsumeQueues", ExampleConsumerQueueActions, queues, nil)
	// The queues are encrypted with the data key: reading a message decrypts its data key.
	allow("DecryptMessages", []string{"kms:Decrypt"}, []string{*props.Key.KeyArn()}, via("sqs"))

	env := map[string]*string{EnvConsumerReplays: jsii.String(cfg.Replays)}
	if cfg.Idempotency {
		c.Table = awsdynamodb.NewTable(this, jsii.String("IdempotencyTable"), &awsdynamodb.TableProps{
			PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String(PartitionKey), Type: awsdynamodb.AttributeType_STRING},
			TimeToLiveAttribute: jsii.String(TTLAttribute),
			BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
			PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
				PointInTimeRecoveryEnabled: jsii.Bool(true),
			},
			Encryption:    awsdynamodb.TableEncryption_CUSTOMER_MANAGED,
			EncryptionKey: props.Key,
			// Handled ids of an example, rebuilt by handling again: deleted with it. A real
			// consumer's table should be retained (or its loss accepted: each event once more).
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		})
		env[EnvConsumerIdempotencyTable] = c.Table.TableName()
		allow("IdempotencyTable", ExampleConsumerTableActions, []string{*c.Table.TableArn()}, nil)
		allow("IdempotencyTableKey", []string{"kms:Decrypt", "kms:GenerateDataKey"}, []string{*props.Key.KeyArn()}, via("dynamodb"))
	}

	c.Function = awslambda.NewFunction(this, jsii.String("Function"), &awslambda.FunctionProps{
		Description:  jsii.String("Example consumer of the webhook queues (examples/consumer): logs each event"),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(filepath.Join(props.AssetDir, ExampleConsumerAsset)), nil),
		MemorySize:   jsii.Number(ExampleConsumerMemoryMB),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(ExampleConsumerTimeoutSeconds)),
		Role:         c.Role,
		LogGroup:     c.LogGroup,
		// No X-Ray: its actions take only Resource "*", and the example has no calls worth
		// tracing; add Tracing (and the IAM5 suppression the receivers have) for your own.
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
		SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
		Environment:           &env,
	})

	// One mapping per queue. FIFO: no batching window (SQS FIFO sources take none); Lambda
	// reads each message group in order and ReportBatchItemFailures returns only the failed
	// records (and the later ones of their groups, see consumer.Handler) to the queue.
	for _, r := range props.Receivers {
		m := c.Function.AddEventSourceMapping(jsii.String(r.Provider.Title), &awslambda.EventSourceMappingOptions{
			EventSourceArn:          r.Queue.QueueArn(),
			BatchSize:               jsii.Number(float64(cfg.BatchSize)),
			MaxConcurrency:          jsii.Number(float64(cfg.MaxConcurrency)),
			ReportBatchItemFailures: jsii.Bool(true),
		})
		// Lambda checks the role's access to the queue when it creates the mapping.
		m.Node().AddDependency(c.Role)
		c.Mappings = append(c.Mappings, m)
	}
	return c
}
