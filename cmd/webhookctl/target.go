package main

// Target resolution, in one place: a deployed stack (-stack NAME or
// WEBHOOKS_STACK) through the SDK's standard configuration and the stack's
// outputs, or else the running `make run` through its state file.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"webhooks/infra/spec"
	"webhooks/internal/devkit/kits"
	"webhooks/shared/contract"
	"webhooks/shared/eventstore"
	"webhooks/shared/pipeline"
	"webhooks/shared/providers"
)

// EnvStack names the deployed stack when -stack is not given.
const EnvStack = "WEBHOOKS_STACK"

const defaultStateFile = ".run/local.json"

// targetFlags say which deployment a command works on.
type targetFlags struct {
	stack   string
	profile string
	region  string
	state   string
}

func addTargetFlags(fs *flag.FlagSet) *targetFlags {
	tf := &targetFlags{}
	fs.StringVar(&tf.stack, "stack", os.Getenv(EnvStack), "deployed CloudFormation stack to work on (default $"+EnvStack+"; empty: the running make run)")
	fs.StringVar(&tf.profile, "profile", "", "AWS profile, with -stack (default $AWS_PROFILE, else the SDK's default chain)")
	fs.StringVar(&tf.region, "region", "", "AWS region, with -stack (default $AWS_REGION, else the profile's)")
	fs.StringVar(&tf.state, "state", defaultStateFile, "state file of the running make run, without -stack")
	return tf
}

// args are the flags that select the same target again, for a printed
// command line.
func (tf *targetFlags) args() []string {
	var out []string
	if tf.stack != "" {
		out = append(out, "-stack", tf.stack)
		if tf.profile != "" {
			out = append(out, "-profile", tf.profile)
		}
		if tf.region != "" {
			out = append(out, "-region", tf.region)
		}
		return out
	}
	if os.Getenv(EnvStack) != "" {
		out = append(out, "-stack=")
	}
	if tf.state != defaultStateFile {
		out = append(out, "-state", tf.state)
	}
	return out
}

// invoker is the part of the Lambda client the operator commands use.
type invoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// target is one deployment's resources and clients.
type target struct {
	desc      string // "stack S (region)" or "make run (gateway)"
	stack     string // empty for make run
	table     string
	functions map[string]string // provider -> function name
	queues    map[string]string // provider -> queue URL
	dlqs      map[string]string // provider -> dead-letter queue URL
	ddb       *dynamodb.Client
	sqs       *sqs.Client
	lambda    invoker
	local     bool
	cfg       aws.Config // the SDK configuration the clients were made from
}

// resolve finds the target: the stack's outputs through the SDK's default
// configuration, or the running make run's state file.
func (tf *targetFlags) resolve(ctx context.Context) (*target, error) {
	if tf.stack != "" {
		return tf.resolveStack(ctx)
	}
	if tf.profile != "" || tf.region != "" {
		return nil, errors.New("-profile and -region select a deployed stack's account: give -stack NAME too (or set " + EnvStack + ")")
	}
	return tf.resolveLocal(ctx)
}

func (tf *targetFlags) resolveStack(ctx context.Context) (*target, error) {
	var opts []func(*config.LoadOptions) error
	if tf.profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(tf.profile))
	}
	if tf.region != "" {
		opts = append(opts, config.WithRegion(tf.region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("no AWS region: give -region, set AWS_REGION, or set one in the profile")
	}
	out, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(tf.stack)})
	if err != nil {
		return nil, fmt.Errorf("stack %s in %s: %w", tf.stack, cfg.Region, err)
	}
	if len(out.Stacks) == 0 {
		return nil, fmt.Errorf("stack %s in %s: not found", tf.stack, cfg.Region)
	}
	outputs := map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return stackTarget(tf.stack, cfg, outputs)
}

// stackTarget reads a stack's outputs: the table's, and each provider's
// prefixed with its Title.
func stackTarget(stack string, cfg aws.Config, outputs map[string]string) (*target, error) {
	t := &target{
		desc:      fmt.Sprintf("stack %s (%s)", stack, cfg.Region),
		stack:     stack,
		table:     outputs[contract.OutputTable],
		functions: map[string]string{}, queues: map[string]string{}, dlqs: map[string]string{},
		ddb: dynamodb.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg), lambda: lambda.NewFromConfig(cfg, invokeRetries),
		cfg: cfg,
	}
	if t.table == "" {
		return nil, fmt.Errorf("stack %s has no output %s: is it this project's stack?", stack, contract.OutputTable)
	}
	for _, p := range providers.Contracts() {
		set := func(m map[string]string, suffix string) {
			if v := outputs[p.Title+suffix]; v != "" {
				m[p.Name] = v
			}
		}
		set(t.functions, contract.OutputFunctionName)
		set(t.queues, contract.OutputQueueURL)
		set(t.dlqs, contract.OutputDeadLetterQueueURL)
	}
	return t, nil
}

func (tf *targetFlags) resolveLocal(ctx context.Context) (*target, error) {
	st, err := loadRunning(tf.state)
	if err != nil {
		var none *NoLocalRunError
		if errors.As(err, &none) {
			return nil, fmt.Errorf("%w: start it (make run), or give -stack NAME (or set %s) for a deployed stack", err, EnvStack)
		}
		return nil, err
	}
	cfg, err := st.AWS.Config(ctx)
	if err != nil {
		return nil, err
	}
	t := &target{
		desc:      "make run (" + st.Gateway + ")",
		table:     st.Table,
		functions: map[string]string{}, queues: st.Queues, dlqs: st.DLQs,
		ddb: dynamodb.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg),
		// The local run serves the Lambda Invoke API on the gateway's address;
		// each function is named after its provider.
		lambda: lambda.NewFromConfig(cfg, invokeRetries, func(o *lambda.Options) { o.BaseEndpoint = aws.String(cmp.Or(st.Lambda, st.Gateway)) }),
		local:  true,
		cfg:    cfg,
	}
	for _, name := range kits.Names() {
		t.functions[name] = cmp.Or(st.Functions[name], name)
	}
	return t, nil
}

// invokeRetries retries an Invoke only when Lambda throttled it (refused it
// before running the function): an operator command whose reply was lost
// may have run, and a replay must not run twice unasked.
func invokeRetries(o *lambda.Options) {
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.Retryables = []retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			return retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err)
		})}
	})
}

func (t *target) store() *eventstore.Store { return eventstore.New(t.ddb, t.table) }

func (t *target) lookup(m map[string]string, provider, what, suffix string) (string, error) {
	if v := m[provider]; v != "" {
		return v, nil
	}
	if t.stack != "" {
		k, _ := kits.Get(provider)
		return "", fmt.Errorf("stack %s has no output %s%s (the %s of %s)", t.stack, k.Title, suffix, what, provider)
	}
	return "", fmt.Errorf("the make run has no %s for %s", what, provider)
}

func (t *target) function(provider string) (string, error) {
	return t.lookup(t.functions, provider, "function", contract.OutputFunctionName)
}

func (t *target) queue(provider string) (string, error) {
	return t.lookup(t.queues, provider, "queue", contract.OutputQueueURL)
}

func (t *target) deadLetterQueue(provider string) (string, error) {
	return t.lookup(t.dlqs, provider, "dead-letter queue", contract.OutputDeadLetterQueueURL)
}

// FunctionError is the error an invoked function returned (the Invoke API's
// X-Amz-Function-Error): the command was refused or failed.
type FunctionError struct {
	Function  string
	Type      string // the X-Amz-Function-Error value ("Unhandled")
	ErrorType string // the reply's errorType: one of contract.FunctionErrorTypes
	Message   string
}

func (e *FunctionError) Error() string {
	if e.ErrorType != "" {
		return fmt.Sprintf("function %s: %s: %s", e.Function, e.ErrorType, e.Message)
	}
	return fmt.Sprintf("function %s failed (%s): %s", e.Function, e.Type, e.Message)
}

// invoke runs an operator command on the provider's function (Invoke,
// RequestResponse) and decodes its reply into reply.
func (t *target) invoke(ctx context.Context, provider string, cmd pipeline.Command, reply any) error {
	fn, err := t.function(provider)
	if err != nil {
		return err
	}
	payload, err := json.Marshal(cmd)
	if err != nil {
		return err
	}
	in := &lambda.InvokeInput{
		FunctionName:   aws.String(fn),
		InvocationType: lambdatypes.InvocationTypeRequestResponse,
		Payload:        payload,
	}
	if !t.local {
		// A deployed function is served through its live alias (the version CodeDeploy
		// shifted traffic to), as the routes and schedules invoke it.
		in.Qualifier = aws.String(spec.LiveAlias)
	}
	out, err := t.lambda.Invoke(ctx, in)
	if err != nil {
		if t.local {
			return fmt.Errorf("invoke %s on %s (is this make run recent enough to serve the Lambda Invoke API?): %w", fn, t.desc, err)
		}
		return fmt.Errorf("invoke %s: %w", fn, err)
	}
	if out.FunctionError != nil {
		fe := &FunctionError{Function: fn, Type: aws.ToString(out.FunctionError), Message: strings.TrimSpace(string(out.Payload))}
		var body struct {
			ErrorMessage string `json:"errorMessage"`
			ErrorType    string `json:"errorType"`
		}
		if json.Unmarshal(out.Payload, &body) == nil && body.ErrorMessage != "" {
			fe.Message, fe.ErrorType = body.ErrorMessage, body.ErrorType
		}
		return fe
	}
	if err := json.Unmarshal(out.Payload, reply); err != nil {
		return fmt.Errorf("function %s: reply %q: %w", fn, out.Payload, err)
	}
	return nil
}
