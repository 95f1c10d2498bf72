package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodedeploy"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"webhooks/infra/spec"
)

// Safe deploys. Every change to a webhook function publishes a new version, and the function
// is served only through its "live" alias: the API's integrations and the redrive schedules
// invoke the alias, never $LATEST, and their permissions are on the alias. CloudFormation does
// not move the alias itself: its UpdatePolicy hands the move to CodeDeploy, which shifts
// traffic by the deployment configuration and shifts it back when an alarm of the deployment
// group fires during the deployment (the stack update then fails and CloudFormation rolls the
// whole stack back):
//
//   - safeDeploy=true (the default): CodeDeployDefault.LambdaCanary10Percent5Minutes, 10% of
//     invocations for 5 minutes, then all of them;
//   - safeDeploy=false (development stages): CodeDeployDefault.LambdaAllAtOnce, still through
//     CodeDeploy and the alias.
//
// The alarms of a function's group (monitoring.go): its alias's errors in any minute
// (<Title>DeployErrors) and any of its provider's webhooks answered 5xx in a minute
// (<Title>Deploy5xx, from the functions' EMF outcome "failed": a function that answers 5xx
// without failing). Per provider: an unconfigured or attacked provider never holds back the
// others' deployments.

// LiveAliasName is the alias of every webhook function.
const LiveAliasName = spec.LiveAlias

// CodeDeploy's deployment configurations, by safeDeploy.
const (
	CanaryDeploymentConfig    = "CodeDeployDefault.LambdaCanary10Percent5Minutes"
	AllAtOnceDeploymentConfig = "CodeDeployDefault.LambdaAllAtOnce"
)

// Stable logical ids (docs/DEPLOY.md names them).
const DeployApplicationLogicalID = "DeployApplication"

// AliasLogicalID is the logical id of a provider's live alias, <Title>LiveAlias.
func AliasLogicalID(p Provider) string { return p.Title + "LiveAlias" }

// DeploymentGroupLogicalID is the logical id of a provider's deployment group, e.g.
// <Title>DeploymentGroup.
func DeploymentGroupLogicalID(p Provider) string { return p.Title + "DeploymentGroup" }

// newLiveAlias publishes r's function (a new version whenever its code or configuration
// changes) and points the live alias at it. The scheduled redrive runs are asynchronous
// invocations of the alias, so the alias carries their asynchronous configuration (an event
// invoke configuration applies to one qualifier only).
func newLiveAlias(r *Receiver) awslambda.Alias {
	alias := awslambda.NewAlias(r.Construct, jsii.String("LiveAlias"), &awslambda.AliasProps{
		AliasName:     jsii.String(LiveAliasName),
		Version:       r.Function.CurrentVersion(),
		Description:   jsii.String("The version that takes traffic; CodeDeploy shifts it on each deploy"),
		RetryAttempts: jsii.Number(0),
		MaxEventAge:   awscdk.Duration_Seconds(jsii.Number(ScheduledRunMaxEventAge.Seconds())),
	})
	alias.Node().DefaultChild().(awslambda.CfnAlias).OverrideLogicalId(jsii.String(AliasLogicalID(r.Provider)))
	return alias
}

type SafeDeployProps struct {
	Receivers []*Receiver
	// Alarms maps a provider name to the alarms that roll a deployment of its function back.
	Alarms map[string][]awscloudwatch.Alarm
	// Canary: the canary configuration (safeDeploy=true); else all at once.
	Canary bool
}

// SafeDeploy is the CodeDeploy application with one deployment group per webhook function.
type SafeDeploy struct {
	constructs.Construct
	Application awscodedeploy.LambdaApplication
	// Groups and Roles by provider name.
	Groups map[string]awscodedeploy.LambdaDeploymentGroup
	Roles  map[string]awsiam.Role
}

func NewSafeDeploy(scope constructs.Construct, id string, props *SafeDeployProps) *SafeDeploy {
	this := constructs.NewConstruct(scope, &id)
	d := &SafeDeploy{
		Construct: this,
		Groups:    map[string]awscodedeploy.LambdaDeploymentGroup{},
		Roles:     map[string]awsiam.Role{},
	}
	d.Application = awscodedeploy.NewLambdaApplication(this, jsii.String("Application"), nil)
	d.Application.Node().DefaultChild().(awscodedeploy.CfnApplication).OverrideLogicalId(jsii.String(DeployApplicationLogicalID))
	config := awscodedeploy.LambdaDeploymentConfig_ALL_AT_ONCE()
	if props.Canary {
		config = awscodedeploy.LambdaDeploymentConfig_CANARY_10PERCENT_5MINUTES()
	}
	for _, r := range props.Receivers {
		p := r.Provider
		alarms := props.Alarms[p.Name]
		refs := make([]interfacesawscloudwatch.IAlarmRef, len(alarms))
		for i, a := range alarms {
			refs[i] = a
		}
		role := newDeployRole(this, r, alarms)
		g := awscodedeploy.NewLambdaDeploymentGroup(this, jsii.String(p.Title+"DeploymentGroup"), &awscodedeploy.LambdaDeploymentGroupProps{
			Application:      d.Application,
			Alias:            r.Alias,
			DeploymentConfig: config,
			Alarms:           &refs,
			AutoRollback: &awscodedeploy.AutoRollbackConfig{
				FailedDeployment:  jsii.Bool(true),
				DeploymentInAlarm: jsii.Bool(true),
				StoppedDeployment: jsii.Bool(true),
			},
			// The construct attaches the AWS managed AWSCodeDeployRoleForLambdaLimited to its
			// role (lambda:UpdateAlias and cloudwatch:DescribeAlarms on every resource of the
			// account). It gets our own role, with an inline policy naming this function and
			// these alarms, as one that takes no policy updates.
			Role: role.WithoutPolicyUpdates(nil),
		})
		g.Node().DefaultChild().(awscodedeploy.CfnDeploymentGroup).OverrideLogicalId(jsii.String(DeploymentGroupLogicalID(p)))
		d.Groups[p.Name] = g
		d.Roles[p.Name] = role
	}
	return d
}

// newDeployRole is the role CodeDeploy assumes to deploy r's function: read and move its live
// alias, read the provisioned concurrency of its versions (CodeDeploy checks it before shifting
// traffic; the functions have none), and read the state of the group's alarms. The policy is
// inline, part of the role itself, so it exists before the deployment group does.
func newDeployRole(scope constructs.Construct, r *Receiver, alarms []awscloudwatch.Alarm) awsiam.Role {
	fn := *r.Function.FunctionArn()
	alarmArns := make([]*string, len(alarms))
	for i, a := range alarms {
		alarmArns[i] = a.AlarmArn()
	}
	return awsiam.NewRole(scope, jsii.String(r.Provider.Title+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("codedeploy.amazonaws.com"), nil),
		Description: jsii.String(fmt.Sprintf("CodeDeploy: shifts the %s alias of the %s function", LiveAliasName, r.Provider.Name)),
		InlinePolicies: &map[string]awsiam.PolicyDocument{
			"ShiftLiveAlias": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
				Statements: &[]awsiam.PolicyStatement{
					awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
						Sid:     jsii.String("LiveAlias"),
						Actions: jsii.Strings("lambda:GetAlias", "lambda:UpdateAlias"),
						// The alias as a qualified ARN and the function it belongs to (IAM
						// may authorise alias calls against either).
						Resources: jsii.Strings(fn, fn+":"+LiveAliasName),
					}),
					awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
						Sid:       jsii.String("ProvisionedConcurrency"),
						Actions:   jsii.Strings("lambda:GetProvisionedConcurrencyConfig"),
						Resources: jsii.Strings(fn + ":*"),
					}),
					awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
						Sid:       jsii.String("RollbackAlarms"),
						Actions:   jsii.Strings("cloudwatch:DescribeAlarms"),
						Resources: &alarmArns,
					}),
				},
			}),
		},
	})
}
