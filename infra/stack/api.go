package stack

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// AccessLogFields is the JSON access log format of the HTTP API. Every value is a variable that
// API Gateway or the network sets, never text the client chooses: the route template
// ($context.routeKey, e.g. "POST /webhooks/<provider>/{token}"), never the request path, so the
// URL tokens that authenticate some providers never reach the logs; no header (no user agent,
// no host): a log line must not carry what a sender wrote, whether a token, a card number or
// bytes meant to forge log lines. The source IP is the TCP peer's address. Only variables that
// HTTP APIs support (an unknown one fails the deployment).
var AccessLogFields = map[string]string{
	"requestId":          "$context.requestId",
	"requestTime":        "$context.requestTime",
	"routeKey":           "$context.routeKey",
	"status":             "$context.status",
	"sourceIp":           "$context.identity.sourceIp",
	"responseLength":     "$context.responseLength",
	"responseLatency":    "$context.responseLatency",
	"integrationStatus":  "$context.integrationStatus",
	"integrationLatency": "$context.integrationLatency",
	"integrationError":   "$context.integrationErrorMessage",
	"error":              "$context.error.message",
}

type WebhookAPIProps struct {
	Receivers    []*Receiver
	Key          awskms.IKey
	RateLimit    float64
	BurstLimit   float64
	LogRetention awslogs.RetentionDays
}

// WebhookAPI is the HTTP API (payload format 2.0) with exactly the contract's POST routes,
// a throttled $default stage and JSON access logs.
type WebhookAPI struct {
	constructs.Construct
	API       awsapigatewayv2.HttpApi
	Stage     awsapigatewayv2.HttpStage
	AccessLog awslogs.LogGroup
}

func NewWebhookAPI(scope constructs.Construct, id string, props *WebhookAPIProps) *WebhookAPI {
	this := constructs.NewConstruct(scope, &id)
	w := &WebhookAPI{Construct: this}

	w.API = awsapigatewayv2.NewHttpApi(this, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		// API names need not be unique; this one says which stage it belongs to.
		ApiName:     awscdk.Stack_Of(this).StackName(),
		Description: jsii.String(fmt.Sprintf("Webhook receivers (%s)", *awscdk.Stack_Of(this).StackName())),
		// The stage is created below with throttling and access logs.
		CreateDefaultStage: jsii.Bool(false),
	})

	w.AccessLog = awslogs.NewLogGroup(this, jsii.String("AccessLog"), &awslogs.LogGroupProps{
		Retention:     props.LogRetention,
		EncryptionKey: props.Key,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	w.Stage = awsapigatewayv2.NewHttpStage(this, jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi:    w.API,
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(props.RateLimit),
			BurstLimit: jsii.Number(props.BurstLimit),
		},
	})
	format, err := json.Marshal(AccessLogFields)
	if err != nil {
		panic(err) // a static map of strings always marshals
	}
	// The L2 stage takes access log settings only through an interface that Go code cannot
	// implement cleanly; set the CloudFormation property directly.
	w.Stage.Node().DefaultChild().(awsapigatewayv2.CfnStage).SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: w.AccessLog.LogGroupArn(),
		Format:         jsii.String(string(format)),
	})

	for _, r := range props.Receivers {
		// The live alias, never the unqualified function ($LATEST): webhooks reach the version
		// CodeDeploy has shifted traffic to, and API Gateway's permission is on the alias only.
		integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(
			jsii.String(r.Provider.Title+"Integration"), r.Alias,
			&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
				PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
			})
		for _, path := range r.Provider.Routes {
			w.API.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
				Path:        jsii.String(path),
				Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_POST},
				Integration: integration,
			})
		}
	}
	return w
}

// URL is the base URL of the $default stage, ending in '/'.
func (w *WebhookAPI) URL() *string { return w.Stage.Url() }
