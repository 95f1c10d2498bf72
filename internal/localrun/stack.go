package localrun

// The stack: a local AWS API (moto_server, or whatever AWS_ENDPOINT_URL points
// at), the table, queues and secrets the functions need, each function's real
// bootstrap under the Lambda Runtime Interface Emulator (function.go), and the
// gateway in front of them.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"webhooks/infra/spec"
	"webhooks/internal/awskit"
	"webhooks/internal/devkit"
	"webhooks/internal/devkit/kits"
)

// Providers are the webhook providers (the provider table), in the order
// they are printed.
var Providers = kits.Names()

// EventTTL is the WEBHOOKS_EVENT_TTL the local functions run with: the stack's default.
const EventTTL = spec.DefaultEventTTL

// Config says what to bring up.
type Config struct {
	// SecretsFile is the development secrets (events/dev-secrets.json): one
	// object per provider, each exactly the provider's secret value.
	SecretsFile string
	// BinDir holds <provider>/bootstrap for the host; a provider whose binary
	// is missing is left out (its routes answer 502).
	BinDir string
	// Prefix names the resources: table <Prefix>-events, queues
	// <Prefix>-<provider>.fifo, secrets <Prefix>/<provider>. Default "webhooks-local".
	Prefix string
	// AWS is the endpoint to use. Zero: start moto_server on a free loopback port.
	AWS AWSEnv
	// FunctionOutput gives the writer for a function's stdout and stderr; nil discards.
	FunctionOutput func(provider string) io.Writer
	// MotoLog receives moto_server's output when Start starts it.
	MotoLog *os.File
	// Logf reports runtime events (function crashes, restarts); nil discards.
	Logf func(format string, args ...any)
	// GatewayLog receives the gateway's one line per request; nil discards.
	GatewayLog io.Writer
	// Timeout per invocation (whole seconds); default the stack's (spec.FunctionTimeout).
	Timeout time.Duration
	// Stage names the metrics namespace the functions emit in
	// (spec.MetricsNamespace); default the stack's default stage.
	Stage string
	// Emulator is the Lambda Runtime Interface Emulator; default FindEmulator().
	Emulator string
	// Instances is how many sandboxes (one emulator each) serve each function concurrently, as
	// Lambda scales out; default 1.
	Instances int
}

// AWSEnv is how the SDK (ours and the functions') reaches AWS: the standard
// environment variables, nothing else.
type AWSEnv struct {
	Endpoint        string `json:"endpoint"`        // AWS_ENDPOINT_URL
	Region          string `json:"region"`          // AWS_REGION
	AccessKeyID     string `json:"accessKeyId"`     // AWS_ACCESS_KEY_ID
	SecretAccessKey string `json:"secretAccessKey"` // AWS_SECRET_ACCESS_KEY
}

// AWSEnvFromEnvironment reads AWS_ENDPOINT_URL and friends, filling in the
// local defaults (us-east-1, test/test). The Endpoint is empty when
// AWS_ENDPOINT_URL is unset.
func AWSEnvFromEnvironment(getenv func(string) string) AWSEnv {
	return AWSEnv{
		Endpoint:        getenv("AWS_ENDPOINT_URL"),
		Region:          cmp.Or(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), "us-east-1"),
		AccessKeyID:     cmp.Or(getenv("AWS_ACCESS_KEY_ID"), "test"),
		SecretAccessKey: cmp.Or(getenv("AWS_SECRET_ACCESS_KEY"), "test"),
	}
}

// Vars is the environment form, as the functions receive it.
func (e AWSEnv) Vars() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL":      e.Endpoint,
		"AWS_REGION":            e.Region,
		"AWS_ACCESS_KEY_ID":     e.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY": e.SecretAccessKey,
	}
}

// Config is the SDK configuration for this endpoint: the SDK's standard
// loader, given the same values the environment variables would.
func (e AWSEnv) Config(ctx context.Context) (aws.Config, error) {
	e = fillDefaults(e)
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(e.Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(e.AccessKeyID, e.SecretAccessKey, "")),
	}
	if e.Endpoint != "" {
		opts = append(opts, config.WithBaseEndpoint(e.Endpoint))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, fmt.Errorf("localrun: AWS configuration: %w", err)
	}
	return cfg, nil
}

// Provider is one provider's resources and function.
type Provider struct {
	Name       string
	QueueURL   string
	QueueARN   string
	DLQURL     string
	SecretID   string          // the secret's name, as WEBHOOKS_SECRET_ID
	Secret     json.RawMessage // the development secret value
	Function   *Function
	Binary     string
	Missing    string // why the function is not running, when it is not
	FunctionIn map[string]string
}

// Stack is a running local system.
type Stack struct {
	Prefix string // names the resources (Config.Prefix)
	Stage  string // names the metrics namespace (Config.Stage)
	// FunctionTimeout and FunctionMemoryMB are each receiver's (Config.Timeout, spec.FunctionMemoryMB).
	FunctionTimeout  time.Duration
	FunctionMemoryMB int
	AWS              AWSEnv
	Moto             *awskit.Server // nil when an external endpoint is used
	Table            string
	Providers        map[string]*Provider
	Gateway          *Gateway
	Emulator         string // the aws-lambda-rie the functions run under

	DynamoDB       *dynamodb.Client
	SQS            *sqs.Client
	SecretsManager *secretsmanager.Client
}

// Start brings everything up. On error it stops whatever it started.
func Start(ctx context.Context, cfg Config) (_ *Stack, err error) {
	if cfg.Prefix == "" {
		cfg.Prefix = "webhooks-local"
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.FunctionOutput == nil {
		cfg.FunctionOutput = func(string) io.Writer { return io.Discard }
	}
	secrets, err := devkit.ReadDevSecrets(cfg.SecretsFile)
	if err != nil {
		return nil, err
	}
	if cfg.Stage == "" {
		cfg.Stage = spec.DefaultStage
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = spec.FunctionTimeout
	}
	s := &Stack{Prefix: cfg.Prefix, Stage: cfg.Stage, FunctionTimeout: cfg.Timeout, FunctionMemoryMB: spec.FunctionMemoryMB, AWS: cfg.AWS, Table: cfg.Prefix + "-events", Providers: map[string]*Provider{}}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	if s.AWS.Endpoint == "" {
		s.Moto, err = awskit.StartMoto(ctx, cfg.MotoLog)
		if err != nil {
			return nil, err
		}
		s.AWS.Endpoint = s.Moto.Endpoint
	}
	s.AWS = fillDefaults(s.AWS)

	awsCfg, err := s.AWS.Config(ctx)
	if err != nil {
		return nil, err
	}
	// The same resources, created the same way, as the integration tests use
	// (idempotent, so a re-run against LocalStack or a kept moto works).
	res := awskit.FromConfig(s.AWS.Endpoint, awsCfg)
	s.DynamoDB, s.SQS, s.SecretsManager = res.DynamoDB, res.SQS, res.Secrets
	if err := res.CreateTable(ctx, s.Table); err != nil {
		return nil, fmt.Errorf("localrun: %w", err)
	}
	for _, name := range Providers {
		p := &Provider{Name: name, Secret: secrets[name], SecretID: cfg.Prefix + "/" + name}
		if len(p.Secret) == 0 {
			return nil, fmt.Errorf("localrun: %s has no development secret in %s", name, cfg.SecretsFile)
		}
		q, err := res.CreateQueue(ctx, cfg.Prefix+"-"+name)
		if err != nil {
			return nil, fmt.Errorf("localrun: %w", err)
		}
		p.QueueURL, p.QueueARN, p.DLQURL = q.URL, q.ARN, q.DLQURL
		if _, err := res.PutSecret(ctx, p.SecretID, string(p.Secret)); err != nil {
			return nil, fmt.Errorf("localrun: %w", err)
		}
		s.Providers[name] = p
	}

	if cfg.Emulator == "" {
		if cfg.Emulator, err = FindEmulator(); err != nil {
			return nil, err
		}
	}
	s.Emulator = cfg.Emulator
	// Functions start in parallel: each waits for its emulators to listen.
	type started struct {
		p   *Provider
		f   *Function
		err error
	}
	results := make(chan started, len(Providers))
	launched := 0
	for _, name := range Providers {
		p := s.Providers[name]
		p.Binary = filepath.Join(cfg.BinDir, name, "bootstrap")
		if _, statErr := os.Stat(p.Binary); statErr != nil {
			p.Missing = fmt.Sprintf("no binary at %s (make run-bin builds the host bootstraps into .run/bin)", p.Binary)
			continue
		}
		p.FunctionIn = s.FunctionEnv(p)
		launched++
		go func() {
			f, err := StartFunction(ctx, FunctionConfig{
				Name:    cfg.Prefix + "-" + p.Name,
				Binary:  p.Binary,
				Env:     p.FunctionIn,
				Memory:  s.FunctionMemoryMB,
				Timeout: s.FunctionTimeout,
				Output:  cfg.FunctionOutput(p.Name),
				// The load run needs several sandboxes per function.
				Instances: cfg.Instances,
				Emulator:  cfg.Emulator,
				Logf:      cfg.Logf,
			})
			results <- started{p, f, err}
		}()
	}
	var startErrs []error
	for range launched {
		r := <-results
		if r.err != nil {
			r.p.Missing = "failed to start: " + r.err.Error()
			startErrs = append(startErrs, r.err)
			continue
		}
		r.p.Function = r.f
	}
	if len(startErrs) > 0 {
		return nil, fmt.Errorf("localrun: %w", errors.Join(startErrs...))
	}

	fns := map[string]Invoker{}
	missing := map[string]string{}
	for name, p := range s.Providers {
		if p.Function != nil {
			fns[name] = p.Function
		} else {
			missing[name] = p.Missing
		}
	}
	s.Gateway = NewGateway(GatewayOptions{Functions: fns, Unavailable: missing, Log: cfg.GatewayLog, Region: s.AWS.Region})
	return s, nil
}

// FunctionEnv is the function environment the stack gives p
// (spec.FunctionEnvironment), with this stack's resources, plus how the SDK
// reaches the local AWS API.
func (s *Stack) FunctionEnv(p *Provider) map[string]string {
	env := s.AWS.Vars()
	for k, v := range spec.FunctionEnvironment(s.Table, p.QueueURL, p.SecretID, EventTTL, spec.MetricsNamespace(s.Stage)) {
		env[k] = v
	}
	return env
}

// Running lists the providers whose function is running, in Providers order.
func (s *Stack) Running() []string {
	var out []string
	for _, name := range Providers {
		if p := s.Providers[name]; p != nil && p.Function != nil {
			out = append(out, name)
		}
	}
	return out
}

// Stop ends every function process and moto_server (if Start started it).
// Resources on an external endpoint are left as they are.
func (s *Stack) Stop() {
	if s == nil {
		return
	}
	for _, p := range s.Providers {
		if p.Function != nil {
			p.Function.Stop()
		}
	}
	if s.Moto != nil {
		s.Moto.Stop()
	}
}

// Pids lists every process the stack runs (functions and moto_server).
func (s *Stack) Pids() []int {
	var pids []int
	for _, p := range s.Providers {
		if p.Function != nil {
			pids = append(pids, p.Function.Pids()...)
		}
	}
	if s.Moto != nil {
		pids = append(pids, s.Moto.Pid())
	}
	sort.Ints(pids)
	return pids
}

func fillDefaults(e AWSEnv) AWSEnv {
	e.Region = cmp.Or(e.Region, "us-east-1")
	e.AccessKeyID = cmp.Or(e.AccessKeyID, "test")
	e.SecretAccessKey = cmp.Or(e.SecretAccessKey, "test")
	return e
}
