package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// AddNagChecks runs the cdk-nag AwsSolutions rules on everything under scope at synthesis.
// Findings are error annotations: `cdk synth` and `cdk deploy` fail on an unsuppressed one.
func AddNagChecks(scope awscdk.App, reports bool) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{
		Verbose: jsii.Bool(true),
		Reports: jsii.Bool(reports),
	}), nil)
}

// addNagSuppressions records, next to the resources concerned, each AwsSolutions rule this
// stack deliberately does not follow and why. Keep each one as narrow as possible.
func addNagSuppressions(s *WebhooksStack) {
	suppress := func(construct any, id, reason string, appliesTo ...string) {
		sup := &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
		if len(appliesTo) > 0 {
			list := make([]any, len(appliesTo))
			for i, a := range appliesTo {
				list[i] = a
			}
			sup.AppliesTo = &list
		}
		cdknag.NagSuppressions_AddResourceSuppressions(construct, &[]*cdknag.NagPackSuppression{sup}, jsii.Bool(true))
	}

	for _, r := range s.Receivers {
		// Only the X-Ray statement that Lambda's active tracing adds has Resource "*":
		// xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level
		// permissions. Every other statement names its table, queue, secret, key or log group.
		suppress(r.Role, "AwsSolutions-IAM5",
			"X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) support only Resource '*'",
			"Resource::*")
		// The secret holds credentials issued by the provider (HMAC keys, URL tokens, a
		// public key). They can only be rotated at the provider, after which the operator
		// sets the new value with put-secret-value; the functions accept AWSPREVIOUS as well
		// as AWSCURRENT so that rotation has no downtime. A rotation Lambda could not obtain
		// a new credential.
		suppress(r.Secret, "AwsSolutions-SMG4",
			"Provider-issued credentials: rotated at the provider and set with put-secret-value (AWSPREVIOUS stays valid during rotation); a rotation function cannot mint them")
		// CodeDeploy reads the provisioned concurrency of the version it shifts the alias to
		// before it shifts traffic; the version is published by each deploy, so its number is
		// not in the template. The wildcard is the qualifiers (versions and the alias) of this
		// one function, for one read-only action.
		suppress(s.Deploy.Roles[r.Provider.Name], "AwsSolutions-IAM5",
			"lambda:GetProvisionedConcurrencyConfig on this function's qualifiers: the version CodeDeploy deploys is published by the deploy itself",
			fmt.Sprintf("Resource::<%s.Arn>:*", FunctionLogicalID(r.Provider)))
	}
	// Webhook providers call with no AWS identity and support neither IAM, JWT nor a Lambda
	// authorizer scheme the gateway could check: each function authenticates every request
	// itself (HMAC signature, RSA signature or secret URL token, plus optional source-IP
	// allow-lists) before storing anything, and refuses with 401/403.
	suppress(s.API.API, "AwsSolutions-APIG4",
		"Providers cannot send AWS or JWT credentials; each function verifies the provider's signature or URL token (and IP allow-list) before doing anything")
}
