package stack

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"webhooks/infra/spec"
)

// Sizing of each receiver function and its queues: infra/spec, shared with the local run.
const (
	FunctionMemoryMB       = spec.FunctionMemoryMB
	FunctionTimeoutSeconds = int(spec.FunctionTimeout / time.Second)
	MaxReceiveCount        = spec.MaxReceiveCount
)

type ReceiverProps struct {
	Provider         Provider
	Key              awskms.IKey
	Store            *EventStore
	AssetDir         string
	EventTTL         string
	MetricsNamespace string
	LogRetention     awslogs.RetentionDays
	// ConsumerRoleArns are IAM roles that may receive and delete messages on the queue.
	ConsumerRoleArns []string
	// Redrive and RedriveSweep are the function's scheduled redrive runs (redrive.go).
	Redrive, RedriveSweep RedriveRun
}

// Receiver is one provider's webhook receiver: the function with its own role and log group,
// published through its live alias; its FIFO queue and dead-letter queue, and its secret.
type Receiver struct {
	constructs.Construct
	Provider Provider
	Function awslambda.Function
	// Alias is the function's "live" alias: what API Gateway and the redrive schedules invoke,
	// and what CodeDeploy shifts to each new version (deploy.go).
	Alias           awslambda.Alias
	Role            awsiam.Role
	LogGroup        awslogs.LogGroup
	Queue           awssqs.Queue
	DeadLetterQueue awssqs.Queue
	Secret          awssecretsmanager.Secret
	// RedriveRule and RedriveSweepRule invoke the live alias with the redrive command on a
	// schedule (nil when that run is off).
	RedriveRule, RedriveSweepRule awsevents.Rule
}

func NewReceiver(scope constructs.Construct, id string, props *ReceiverProps) *Receiver {
	this := constructs.NewConstruct(scope, &id)
	p := props.Provider
	r := &Receiver{Construct: this, Provider: p}

	fifo := func(qid string, dlq *awssqs.DeadLetterQueue, q spec.QueueSettings) awssqs.Queue {
		return awssqs.NewQueue(this, jsii.String(qid), &awssqs.QueueProps{
			Fifo:                      jsii.Bool(true),
			FifoThroughputLimit:       fifoThroughputLimit(q.FifoThroughputLimit),
			DeduplicationScope:        deduplicationScope(q.DeduplicationScope),
			ContentBasedDeduplication: jsii.Bool(q.ContentBasedDeduplication),
			Encryption:                awssqs.QueueEncryption_KMS,
			EncryptionMasterKey:       props.Key,
			// Reuse a data key for 5 minutes: fewer KMS calls on the hot path.
			DataKeyReuse:        awscdk.Duration_Minutes(jsii.Number(5)),
			EnforceSSL:          jsii.Bool(true),
			RetentionPeriod:     awscdk.Duration_Seconds(jsii.Number(q.Retention.Seconds())),
			VisibilityTimeout:   awscdk.Duration_Seconds(jsii.Number(q.VisibilityTimeout.Seconds())),
			MaxMessageSizeBytes: jsii.Number(q.MaxMessageBytes),
			DeadLetterQueue:     dlq,
		})
	}
	r.DeadLetterQueue = fifo("DeadLetterQueue", nil, spec.DeadLetterQueue)
	r.Queue = fifo("Queue", &awssqs.DeadLetterQueue{Queue: r.DeadLetterQueue, MaxReceiveCount: jsii.Number(MaxReceiveCount)}, spec.Queue)

	r.Secret = awssecretsmanager.NewSecret(this, jsii.String("Secret"), &awssecretsmanager.SecretProps{
		Description:   jsii.String(fmt.Sprintf("Webhook credentials for %s (JSON, see docs/DEPLOY.md); set with aws secretsmanager put-secret-value", p.Name)),
		EncryptionKey: props.Key,
		// A fixed placeholder, not a credential: the function refuses it as a configuration
		// error until the operator sets the provider's real value (the value never comes
		// from the template, so it is never in source control or CloudFormation).
		SecretStringValue: awscdk.SecretValue_UnsafePlainText(jsii.String(SecretPlaceholder)),
	})

	r.LogGroup = awslogs.NewLogGroup(this, jsii.String("LogGroup"), &awslogs.LogGroupProps{
		Retention:     props.LogRetention,
		EncryptionKey: props.Key,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})

	r.Role = newFunctionRole(this, fmt.Sprintf("Webhook receiver for %s", p.Name), r.LogGroup)

	r.Function = awslambda.NewFunction(this, jsii.String("Function"), &awslambda.FunctionProps{
		Description:  jsii.String(fmt.Sprintf("Receives %s webhooks: verify, normalise, store once, enqueue", p.Name)),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(filepath.Join(props.AssetDir, p.Name)), nil),
		MemorySize:   jsii.Number(FunctionMemoryMB),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(FunctionTimeoutSeconds)),
		Role:         r.Role,
		LogGroup:     r.LogGroup,
		// JSON logs: the functions log with slog; Lambda adds the request id to every line.
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
		SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
		Tracing:               awslambda.Tracing_ACTIVE,
		// Asynchronous invocations are the scheduled redrive runs only (API Gateway and
		// operators invoke synchronously): a run that failed or waited too long is dropped, the
		// next run does its work.
		RetryAttempts: jsii.Number(0),
		MaxEventAge:   awscdk.Duration_Seconds(jsii.Number(ScheduledRunMaxEventAge.Seconds())),
		Environment: jsiiStrings(spec.FunctionEnvironment(*props.Store.Table.TableName(), *r.Queue.QueueUrl(),
			*r.Secret.SecretArn(), props.EventTTL, props.MetricsNamespace)),
	})
	// A stable logical id, so `sam local invoke <Title>Function` and infra/sam-env.json keep
	// working whatever the construct tree looks like.
	r.Function.Node().DefaultChild().(awslambda.CfnFunction).OverrideLogicalId(jsii.String(FunctionLogicalID(p)))
	r.Alias = newLiveAlias(r)

	// Least privilege: the pipeline's item actions on the table, send on its own queue, read
	// of its own secret (both AWSCURRENT and AWSPREVIOUS are GetSecretValue), and the key only
	// through those three services.
	props.Store.GrantPipeline(r.Role, p.Name)
	r.Role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("OwnQueueSend"),
		Actions:   jsii.Strings("sqs:SendMessage"),
		Resources: jsii.Strings(*r.Queue.QueueArn()),
	}))
	r.Role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("OwnSecretRead"),
		Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
		Resources: jsii.Strings(*r.Secret.SecretArn()),
	}))
	region := awscdk.Stack_Of(this).Region()
	r.Role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("DataKeyViaServices"),
		Actions:   jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
		Resources: jsii.Strings(*props.Key.KeyArn()),
		Conditions: &map[string]any{
			"StringEquals": map[string]any{
				"kms:ViaService": []any{
					fmt.Sprintf("sqs.%s.amazonaws.com", *region),
					fmt.Sprintf("secretsmanager.%s.amazonaws.com", *region),
					fmt.Sprintf("dynamodb.%s.amazonaws.com", *region),
				},
			},
		},
	}))

	r.RedriveRule = scheduleRedrive(r, "RedriveSchedule", props.Redrive)
	r.RedriveSweepRule = scheduleRedrive(r, "RedriveSweepSchedule", props.RedriveSweep)

	// Consumers (roles of this account): receive, change visibility, delete and read the
	// attributes of this provider's queue, and decrypt its messages through SQS only. An
	// identity policy attached to each role; the queue and key policies stay untouched.
	for i, arn := range props.ConsumerRoleArns {
		role := awsiam.Role_FromRoleArn(this, jsii.String(fmt.Sprintf("Consumer%d", i)), jsii.String(arn), &awsiam.FromRoleArnOptions{Mutable: jsii.Bool(true)})
		awsiam.NewPolicy(this, jsii.String(fmt.Sprintf("Consumer%dPolicy", i)), &awsiam.PolicyProps{
			Roles: &[]awsiam.IRole{role},
			Statements: &[]awsiam.PolicyStatement{
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid:       jsii.String("ConsumeQueue"),
					Actions:   jsii.Strings(ConsumerQueueActions...),
					Resources: jsii.Strings(*r.Queue.QueueArn()),
				}),
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid:       jsii.String("DecryptMessages"),
					Actions:   jsii.Strings("kms:Decrypt"),
					Resources: jsii.Strings(*props.Key.KeyArn()),
					Conditions: &map[string]any{
						"StringEquals": map[string]any{"kms:ViaService": fmt.Sprintf("sqs.%s.amazonaws.com", *region)},
					},
				}),
			},
		})
	}
	return r
}

// ConsumerQueueActions are granted to the consumer roles named in the context.
var ConsumerQueueActions = []string{
	"sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage",
	"sqs:GetQueueAttributes", "sqs:GetQueueUrl",
}

// FunctionLogicalID is the CloudFormation logical id of a provider's function, e.g.
// <Title>Function (used by `sam local invoke` and infra/sam-env.json).
func FunctionLogicalID(p Provider) string { return p.Title + "Function" }

// newFunctionRole is a function's own role, instead of the default one: no AWS
// managed policy, and logs only to the function's own log group.
func newFunctionRole(scope constructs.Construct, description string, logGroup awslogs.LogGroup) awsiam.Role {
	role := awsiam.NewRole(scope, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String(description),
	})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("OwnLogGroup"),
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: jsii.Strings(*logGroup.LogGroupArn()),
	}))
	return role
}

// jsiiStrings is m as the CDK takes it (values may be tokens).
func jsiiStrings(m map[string]string) *map[string]*string {
	out := make(map[string]*string, len(m))
	for k, v := range m {
		out[k] = jsii.String(v)
	}
	return &out
}

// deduplicationScope and fifoThroughputLimit are the CDK's names for SQS's attribute values.
func deduplicationScope(v string) awssqs.DeduplicationScope {
	switch v {
	case "messageGroup":
		return awssqs.DeduplicationScope_MESSAGE_GROUP
	case "queue":
		return awssqs.DeduplicationScope_QUEUE
	}
	panic("unknown DeduplicationScope " + v)
}

func fifoThroughputLimit(v string) awssqs.FifoThroughputLimit {
	switch v {
	case "perMessageGroupId":
		return awssqs.FifoThroughputLimit_PER_MESSAGE_GROUP_ID
	case "perQueue":
		return awssqs.FifoThroughputLimit_PER_QUEUE
	}
	panic("unknown FifoThroughputLimit " + v)
}
