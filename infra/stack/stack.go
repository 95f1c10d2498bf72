// Package stack is the CDK stack of the webhook receivers: one HTTP API, one function, queue
// pair and secret per provider, the event store, and alarms with a dashboard.
package stack

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"webhooks/shared/contract"
)

type WebhooksStackProps struct {
	awscdk.StackProps
	// Config is the validated context (ConfigFromContext).
	Config Config
}

// WebhooksStack exposes its parts for tests and for stacks that build on it.
type WebhooksStack struct {
	awscdk.Stack
	Key        awskms.Key
	Store      *EventStore
	Receivers  []*Receiver
	API        *WebhookAPI
	Monitoring *Monitoring
	// Deploy is the CodeDeploy application that shifts each webhook function's live alias.
	Deploy *SafeDeploy
	// ExampleConsumer is nil unless the context switches it on (exampleConsumer=true).
	ExampleConsumer *ExampleConsumer
}

func NewWebhooksStack(scope constructs.Construct, id string, props *WebhooksStackProps) *WebhooksStack {
	if props == nil {
		// Defaults (ConfigFromContext with an empty context cannot fail).
		cfg, _ := ConfigFromContext(func(string) any { return nil })
		props = &WebhooksStackProps{Config: cfg}
	}
	sprops := props.StackProps
	cfg := props.Config
	if sprops.Description == nil {
		sprops.Description = jsii.String(fmt.Sprintf("Webhook receivers (%s), stage %s", strings.Join(ProviderNames(), ", "), cfg.Stage))
	}
	stack := awscdk.NewStack(scope, &id, &sprops)
	// Dashboards are left out: CloudFormation's published schema (and so cfn-lint) has no
	// Tags on AWS::CloudWatch::Dashboard.
	tagProps := &awscdk.TagProps{ExcludeResourceTypes: jsii.Strings("AWS::CloudWatch::Dashboard")}
	awscdk.Tags_Of(stack).Add(jsii.String("project"), jsii.String("webhooks"), tagProps)
	awscdk.Tags_Of(stack).Add(jsii.String("stage"), jsii.String(cfg.Stage), tagProps)
	s := &WebhooksStack{Stack: stack}

	s.Key = newDataKey(stack)
	s.Store = NewEventStore(stack, "EventStore", &EventStoreProps{Key: s.Key})
	retention := retentionDays[cfg.LogRetentionDays]
	for _, p := range Providers {
		s.Receivers = append(s.Receivers, NewReceiver(stack, p.Title, &ReceiverProps{
			Provider:         p,
			Key:              s.Key,
			Store:            s.Store,
			AssetDir:         cfg.AssetDir,
			EventTTL:         cfg.EventTTL,
			MetricsNamespace: cfg.MetricsNamespace,
			LogRetention:     retention,
			ConsumerRoleArns: cfg.RolesFor(p.Name),
			Redrive:          cfg.Redrive,
			RedriveSweep:     cfg.RedriveSweep,
		}))
	}
	s.API = NewWebhookAPI(stack, "Api", &WebhookAPIProps{
		Receivers:    s.Receivers,
		Key:          s.Key,
		RateLimit:    cfg.RateLimit,
		BurstLimit:   cfg.BurstLimit,
		LogRetention: retention,
	})
	if cfg.ExampleConsumer.Enabled {
		s.ExampleConsumer = NewExampleConsumer(stack, "ExampleConsumer", &ExampleConsumerProps{
			Receivers:    s.Receivers,
			Key:          s.Key,
			AssetDir:     cfg.AssetDir,
			LogRetention: retention,
			Config:       cfg.ExampleConsumer,
		})
	}
	var consumerFn awslambda.IFunction
	if s.ExampleConsumer != nil {
		consumerFn = s.ExampleConsumer.Function
	}
	s.Monitoring = NewMonitoring(stack, "Monitoring", &MonitoringProps{
		Receivers:          s.Receivers,
		API:                s.API,
		RateLimit:          cfg.RateLimit,
		Table:              s.Store.Table,
		Key:                s.Key,
		Namespace:          cfg.MetricsNamespace,
		AlarmEmails:        cfg.AlarmEmails,
		DashboardName:      *stack.StackName(),
		RedriveAlarmPeriod: RedriveAlarmPeriod(cfg.Redrive.Schedule),
		ExampleConsumer:    consumerFn,
	})
	s.Deploy = NewSafeDeploy(stack, "Deploy", &SafeDeployProps{
		Receivers: s.Receivers,
		Alarms:    s.Monitoring.DeployAlarms,
		Canary:    cfg.SafeDeploy,
	})

	s.addOutputs()
	addNagSuppressions(s)
	return s
}

// newDataKey is the customer-managed key for the table, queues, secrets, log groups and the
// alarm topic. It is rotated yearly and retained when the stack is deleted (the retained
// table and logs stay readable).
func newDataKey(stack awscdk.Stack) awskms.Key {
	key := awskms.NewKey(stack, jsii.String("DataKey"), &awskms.KeyProps{
		Description:       jsii.String(fmt.Sprintf("Webhook data (%s): table, queues, secrets, logs, alarm topic", *stack.StackName())),
		EnableKeyRotation: jsii.Bool(true),
		PendingWindow:     awscdk.Duration_Days(jsii.Number(30)),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	// CloudWatch Logs encrypts this stack's log groups with the key (only log groups of this
	// account and region, per the encryption context).
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchLogs"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String(fmt.Sprintf("logs.%s.amazonaws.com", *stack.Region())), nil)},
		Actions:    jsii.Strings("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{
			"ArnLike": map[string]any{
				"kms:EncryptionContext:aws:logs:arn": fmt.Sprintf("arn:%s:logs:%s:%s:log-group:*", *stack.Partition(), *stack.Region(), *stack.Account()),
			},
		},
	}), nil)
	// CloudWatch alarms publish to the encrypted alarm topic: SNS encrypts each message with a
	// data key it asks for on the publisher's behalf. Only for alarms of this account and
	// region (confused deputy: without the condition, an alarm in any account could use the
	// key through CloudWatch).
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsToTopic"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String(CloudWatchPrincipal), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
		Conditions: alarmSourceConditions(stack),
	}), nil)
	return key
}

// CloudWatchPrincipal is the service principal CloudWatch alarms act as when they notify an
// SNS topic.
const CloudWatchPrincipal = "cloudwatch.amazonaws.com"

// alarmSourceConditions scope a statement for CloudWatchPrincipal to the alarms of this stack's
// account and region: aws:SourceAccount is the account, aws:SourceArn an alarm ARN of it. Both
// are what CloudWatch sends when an alarm publishes to SNS (and asks KMS for the topic's data
// key). The alarm names are left open: they are generated by CloudFormation, and a pattern
// that missed one would silently drop its notifications.
func alarmSourceConditions(stack awscdk.Stack) *map[string]any {
	return &map[string]any{
		"StringEquals": map[string]any{"aws:SourceAccount": *stack.Account()},
		"ArnLike": map[string]any{
			"aws:SourceArn": fmt.Sprintf("arn:%s:cloudwatch:%s:%s:alarm:*", *stack.Partition(), *stack.Region(), *stack.Account()),
		},
	}
}

func (s *WebhooksStack) addOutputs() {
	out := func(id, value, description string) {
		awscdk.NewCfnOutput(s.Stack, jsii.String(id), &awscdk.CfnOutputProps{
			Value:       jsii.String(value),
			Description: jsii.String(description),
		})
	}
	apiURL := *s.API.URL()
	out("ApiUrl", apiURL, "Base URL of the HTTP API ($default stage)")
	for _, r := range s.Receivers {
		t, p := r.Provider.Title, r.Provider.Name
		// Routes start with '/', the stage URL ends with one.
		out(t+"WebhookUrl", apiURL+r.Provider.Routes[0][1:], fmt.Sprintf("%s webhook URL to register with the provider (%s)", p, r.Provider.URLHint))
		out(t+contract.OutputQueueURL, *r.Queue.QueueUrl(), p+" FIFO queue URL (consumers read here)")
		out(t+"QueueArn", *r.Queue.QueueArn(), p+" FIFO queue ARN")
		out(t+contract.OutputDeadLetterQueueURL, *r.DeadLetterQueue.QueueUrl(), p+" dead-letter queue URL")
		out(t+"DeadLetterQueueArn", *r.DeadLetterQueue.QueueArn(), p+" dead-letter queue ARN")
		out(t+"SecretArn", *r.Secret.SecretArn(), p+" secret ARN (aws secretsmanager put-secret-value --secret-id <this>)")
		out(t+contract.OutputFunctionName, *r.Function.FunctionName(), p+" function name (aws lambda invoke --qualifier live: reprocess, redrive, replay)")
		out(t+"LiveAliasArn", *r.Alias.FunctionArn(), p+" live alias: the version the API and the redrive schedules invoke (CodeDeploy shifts it)")
	}
	out(contract.OutputTable, *s.Store.Table.TableName(), "DynamoDB event store table name")
	out("AlarmTopicArn", *s.Monitoring.Topic.TopicArn(), "SNS topic the alarms notify (subscribe to it)")
	out("DashboardName", *s.Monitoring.Dashboard.DashboardName(), "CloudWatch dashboard name")
	out("DataKeyArn", *s.Key.KeyArn(), "KMS key encrypting the table, queues, secrets and logs")
	if c := s.ExampleConsumer; c != nil {
		out("ExampleConsumerFunctionName", *c.Function.FunctionName(), "Example consumer function (examples/consumer) reading every provider queue")
		if c.Table != nil {
			out("ExampleConsumerIdempotencyTableName", *c.Table.TableName(), "Example consumer's idempotency table (handled event ids)")
		}
	}
}
