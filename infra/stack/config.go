package stack

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"

	"webhooks/consumer"
	"webhooks/infra/spec"
)

// Context keys read by ConfigFromContext (set them in cdk.json or with `cdk -c key=value`).
const (
	CtxStage            = "stage"            // stage prefix, e.g. dev, prod (default "dev")
	CtxStackName        = "stackName"        // CloudFormation stack name (default "Webhooks-<stage>")
	CtxAssetDir         = "assetDir"         // directory holding <provider>/bootstrap (default "build")
	CtxEventTTL         = "eventTtl"         // WEBHOOKS_EVENT_TTL, Go duration >= 48h (default "720h")
	CtxMetricsNamespace = "metricsNamespace" // EMF namespace (default "Webhooks/<stage>")
	CtxRateLimit        = "apiRateLimit"     // HTTP API default-stage steady-state requests/s (default 1000; see DefaultRateLimit)
	CtxBurstLimit       = "apiBurstLimit"    // HTTP API default-stage burst, at least the rate (default 2000)
	CtxLogRetentionDays = "logRetentionDays" // function and access log retention (default 30)
	CtxAlarmEmail       = "alarmEmail"       // comma-separated addresses subscribed to the alarm topic
	CtxConsumerRoleArns = "consumerRoleArns" // IAM role ARNs granted read on the queues (see ParseConsumerRoleArns)

	// Safe deploys (deploy.go): every webhook function is published through its "live" alias
	// and CodeDeploy shifts the alias to a new version, rolled back by the deployment alarms.
	// true (the default): a canary, 10% of traffic for 5 minutes, then all of it; false (for
	// development stages): all at once, still through CodeDeploy and the alias. JSON true/false
	// or the strings "true"/"false", as `-c` gives.
	CtxSafeDeploy = "safeDeploy" // default true

	// The scheduled redrive runs of every function (see redrive.go): EventBridge schedule
	// expressions ("rate(...)", "cron(...)") or "off", and the olderThan of each run's command
	// (Go durations).
	CtxRedriveSchedule       = "redriveSchedule"       // default "rate(5 minutes)"
	CtxRedriveOlderThan      = "redriveOlderThan"      // default "5m"
	CtxRedriveSweepSchedule  = "redriveSweepSchedule"  // default "rate(1 day)"
	CtxRedriveSweepOlderThan = "redriveSweepOlderThan" // default "15m"

	// The example consumer (consumer.go): examples/consumer deployed on every provider queue.
	// Off unless exampleConsumer is true (JSON true or the string "true", as `-c` gives).
	CtxExampleConsumer               = "exampleConsumer"               // default false
	CtxExampleConsumerBatchSize      = "exampleConsumerBatchSize"      // records per invocation, 1-10 (default 1: see docs/CONSUMERS.md, order)
	CtxExampleConsumerMaxConcurrency = "exampleConsumerMaxConcurrency" // concurrent invocations per queue, 2-1000 (default 2)
	CtxExampleConsumerIdempotency    = "exampleConsumerIdempotency"    // a DynamoDB table of handled event ids (default true)
	CtxExampleConsumerReplays        = "exampleConsumerReplays"        // CONSUMER_REPLAYS: deduplicate (default), reprocess or ignore
)

// Defaults for the values above.
const (
	DefaultStage    = spec.DefaultStage
	DefaultAssetDir = "build"
	DefaultEventTTL = spec.DefaultEventTTL
	// The $default stage's throttling: one token bucket shared by every route and provider.
	// Well above any provider's legitimate peak (a marketplace's flash sale, a provider's retry waves
	// after an outage), because a throttled delivery gets a 429, which not every provider
	// retries; and a ceiling on what a flood costs. It is not what keeps forged requests
	// out: the signature or URL-token check is. The reasoning: docs/DEPLOY.md, "Throttling".
	DefaultRateLimit        = 1000
	DefaultBurstLimit       = 2000
	DefaultLogRetentionDays = 30

	DefaultRedriveSchedule       = spec.DefaultRedriveSchedule
	DefaultRedriveOlderThan      = spec.DefaultRedriveOlderThan
	DefaultRedriveSweepSchedule  = spec.DefaultRedriveSweepSchedule
	DefaultRedriveSweepOlderThan = spec.DefaultRedriveSweepOlderThan

	// The example consumer's event source mappings. SQS FIFO queues take at most 10 records
	// per batch; Lambda's ScalingConfig.MaximumConcurrency takes 2 to 1000.
	DefaultExampleConsumerBatchSize      = spec.DefaultConsumerBatchSize
	MaxExampleConsumerBatchSize          = 10
	DefaultExampleConsumerMaxConcurrency = spec.DefaultConsumerMaxConcurrency
	MinExampleConsumerMaxConcurrency     = 2
	MaxExampleConsumerMaxConcurrency     = 1000
	DefaultExampleConsumerReplays        = spec.DefaultConsumerReplays

	// MinEventTTL is the contract's lower bound for WEBHOOKS_EVENT_TTL: providers retry for up
	// to a day or two, and de-duplication must outlive their retries.
	MinEventTTL = 48 * time.Hour
)

// AllProviders is the key in ConsumerRoleArns whose roles may read every provider's queue.
const AllProviders = "*"

// Config is everything the stack takes from the CDK context, validated.
type Config struct {
	Stage            string
	StackName        string
	AssetDir         string
	EventTTL         string
	MetricsNamespace string
	RateLimit        float64
	BurstLimit       float64
	LogRetentionDays int
	AlarmEmails      []string
	// ConsumerRoleArns maps a provider name (or AllProviders) to IAM role ARNs that may
	// receive and delete messages on that provider's queue.
	ConsumerRoleArns map[string][]string
	// Redrive and RedriveSweep are the scheduled redrive runs of every function (a zero
	// Schedule: not scheduled).
	Redrive      RedriveRun
	RedriveSweep RedriveRun
	// SafeDeploy: a canary deployment of each webhook function's live alias (true), or all at
	// once (false).
	SafeDeploy bool
	// ExampleConsumer is the optional example consumer (off by default).
	ExampleConsumer ExampleConsumerConfig
}

// ExampleConsumerConfig is the example consumer's part of the context.
type ExampleConsumerConfig struct {
	Enabled        bool
	BatchSize      int    // records per invocation (1-10)
	MaxConcurrency int    // concurrent invocations per queue (2-1000)
	Idempotency    bool   // create the idempotency table and pass CONSUMER_IDEMPOTENCY_TABLE
	Replays        string // CONSUMER_REPLAYS
}

var (
	stageRe     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,19}$`)
	stackNameRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,100}$`)
	roleArnRe   = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$`)
	emailRe     = regexp.MustCompile(`^[^@\s,]+@[^@\s,]+\.[^@\s,]+$`)
)

// ConfigFromContext reads and validates the configuration. get returns the raw context value
// for a key (nil when absent), e.g. app.Node().TryGetContext.
func ConfigFromContext(get func(key string) any) (Config, error) {
	var errs []error
	str := func(key, def string) string {
		switch v := get(key).(type) {
		case nil:
			return def
		case string:
			if strings.TrimSpace(v) == "" {
				return def
			}
			return strings.TrimSpace(v)
		default:
			errs = append(errs, fmt.Errorf("context %q: want a string, got %T", key, v))
			return def
		}
	}
	num := func(key string, def float64) float64 {
		switch v := get(key).(type) {
		case nil:
			return def
		case float64:
			return v
		case string:
			if strings.TrimSpace(v) == "" {
				return def
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("context %q: %q is not a number", key, v))
				return def
			}
			return f
		default:
			errs = append(errs, fmt.Errorf("context %q: want a number, got %T", key, v))
			return def
		}
	}
	boolean := func(key string, def bool) bool {
		switch v := get(key).(type) {
		case nil:
			return def
		case bool:
			return v
		case string:
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "":
				return def
			case "true":
				return true
			case "false":
				return false
			}
			errs = append(errs, fmt.Errorf("context %q: %q is not true or false", key, v))
			return def
		default:
			errs = append(errs, fmt.Errorf("context %q: want true or false, got %T", key, v))
			return def
		}
	}
	// whole reads a whole number from lo to hi.
	whole := func(key string, def, lo, hi int) int {
		f := num(key, float64(def))
		if f != float64(int(f)) || int(f) < lo || int(f) > hi {
			errs = append(errs, fmt.Errorf("context %q: %v is not a whole number from %d to %d", key, f, lo, hi))
			return def
		}
		return int(f)
	}

	c := Config{Stage: str(CtxStage, DefaultStage)}
	if !stageRe.MatchString(c.Stage) {
		errs = append(errs, fmt.Errorf("context %q: %q must start with a letter and hold at most 20 letters, digits or '-'", CtxStage, c.Stage))
	}
	c.StackName = str(CtxStackName, "Webhooks-"+c.Stage)
	if !stackNameRe.MatchString(c.StackName) {
		errs = append(errs, fmt.Errorf("context %q: %q is not a CloudFormation stack name (a letter, then up to 100 letters, digits or '-')", CtxStackName, c.StackName))
	}
	c.AssetDir = str(CtxAssetDir, DefaultAssetDir)
	c.EventTTL = str(CtxEventTTL, DefaultEventTTL)
	if d, err := time.ParseDuration(c.EventTTL); err != nil {
		errs = append(errs, fmt.Errorf("context %q: %q is not a Go duration", CtxEventTTL, c.EventTTL))
	} else if d < MinEventTTL {
		errs = append(errs, fmt.Errorf("context %q: %s is shorter than the minimum %s", CtxEventTTL, c.EventTTL, MinEventTTL))
	}
	c.MetricsNamespace = str(CtxMetricsNamespace, spec.MetricsNamespace(c.Stage))
	c.RateLimit = num(CtxRateLimit, DefaultRateLimit)
	c.BurstLimit = num(CtxBurstLimit, DefaultBurstLimit)
	// Low values are allowed (a development stage may want a low ceiling on what a flood
	// costs). A burst below the rate is not: the bucket would hold less than a second of
	// traffic, so deliveries within the rate are throttled whenever they arrive unevenly,
	// which is how webhooks arrive.
	switch {
	case c.RateLimit <= 0 || c.BurstLimit <= 0 || c.BurstLimit != float64(int64(c.BurstLimit)):
		errs = append(errs, fmt.Errorf("context %q/%q: want a positive rate and a positive whole burst, got %v/%v", CtxRateLimit, CtxBurstLimit, c.RateLimit, c.BurstLimit))
	case c.BurstLimit < c.RateLimit:
		errs = append(errs, fmt.Errorf("context %q: burst %v is below the rate %v (%q): the bucket would hold less than a second of traffic", CtxBurstLimit, c.BurstLimit, c.RateLimit, CtxRateLimit))
	}
	days := num(CtxLogRetentionDays, DefaultLogRetentionDays)
	c.LogRetentionDays = int(days)
	if _, ok := retentionDays[c.LogRetentionDays]; !ok || days != float64(c.LogRetentionDays) {
		errs = append(errs, fmt.Errorf("context %q: %v is not a CloudWatch Logs retention (one of %v)", CtxLogRetentionDays, days, validRetentionDays()))
	}
	for _, e := range splitList(str(CtxAlarmEmail, "")) {
		if !emailRe.MatchString(e) {
			errs = append(errs, fmt.Errorf("context %q: %q is not an email address", CtxAlarmEmail, e))
			continue
		}
		c.AlarmEmails = append(c.AlarmEmails, e)
	}
	roles, err := ParseConsumerRoleArns(get(CtxConsumerRoleArns))
	if err != nil {
		errs = append(errs, err)
	}
	c.ConsumerRoleArns = roles

	ttl, _ := time.ParseDuration(c.EventTTL) // 0 when invalid (reported above)
	run := func(schedKey, schedDef, olderKey, olderDef string, sweep bool) RedriveRun {
		r := RedriveRun{OlderThan: str(olderKey, olderDef), Sweep: sweep}
		sch, err := ParseSchedule(str(schedKey, schedDef))
		if err != nil {
			errs = append(errs, fmt.Errorf("context %q: %w", schedKey, err))
		}
		r.Schedule = sch
		if err := validOlderThan(r.OlderThan, ttl); err != nil {
			errs = append(errs, fmt.Errorf("context %q: %w", olderKey, err))
		}
		return r
	}
	c.Redrive = run(CtxRedriveSchedule, DefaultRedriveSchedule, CtxRedriveOlderThan, DefaultRedriveOlderThan, false)
	if c.Redrive.Schedule.Interval > MaxRedriveInterval {
		errs = append(errs, fmt.Errorf("context %q: %s runs less often than every %s: a stranded event would wait that long (the sweep is the infrequent run; use %q for it)",
			CtxRedriveSchedule, c.Redrive.Schedule.Expression, MaxRedriveInterval, CtxRedriveSweepSchedule))
	}
	c.RedriveSweep = run(CtxRedriveSweepSchedule, DefaultRedriveSweepSchedule, CtxRedriveSweepOlderThan, DefaultRedriveSweepOlderThan, true)

	c.SafeDeploy = boolean(CtxSafeDeploy, true)

	// The example consumer's knobs are checked even while it is off, so a value kept in
	// cdk.json is known good before someone switches it on with -c exampleConsumer=true.
	c.ExampleConsumer = ExampleConsumerConfig{
		Enabled:        boolean(CtxExampleConsumer, false),
		BatchSize:      whole(CtxExampleConsumerBatchSize, DefaultExampleConsumerBatchSize, 1, MaxExampleConsumerBatchSize),
		MaxConcurrency: whole(CtxExampleConsumerMaxConcurrency, DefaultExampleConsumerMaxConcurrency, MinExampleConsumerMaxConcurrency, MaxExampleConsumerMaxConcurrency),
		Idempotency:    boolean(CtxExampleConsumerIdempotency, spec.DefaultConsumerIdempotency),
		Replays:        str(CtxExampleConsumerReplays, DefaultExampleConsumerReplays),
	}
	if _, err := consumer.ParseReplayPolicy(c.ExampleConsumer.Replays); err != nil {
		errs = append(errs, fmt.Errorf("context %q: %q is not deduplicate, reprocess or ignore", CtxExampleConsumerReplays, c.ExampleConsumer.Replays))
		c.ExampleConsumer.Replays = DefaultExampleConsumerReplays
	}
	return c, errors.Join(errs...)
}

// ParseConsumerRoleArns accepts the consumerRoleArns context value in any of these forms:
//
//	"arn:...:role/a,arn:...:role/b"              every queue (a comma-separated string, as `-c` gives)
//	["arn:...:role/a"]                           every queue
//	{"<provider>": ["arn:...:role/a"], "*": [...]}      per provider ("*" = every queue)
//
// and the same JSON passed as a string.
func ParseConsumerRoleArns(v any) (map[string][]string, error) {
	if s, ok := v.(string); ok {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, nil
		}
		if strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{") {
			var parsed any
			if err := json.Unmarshal([]byte(s), &parsed); err != nil {
				return nil, fmt.Errorf("context %q: invalid JSON: %w", CtxConsumerRoleArns, err)
			}
			v = parsed
		} else {
			v = toAnySlice(splitList(s))
		}
	}
	out := map[string][]string{}
	add := func(provider string, arns any) error {
		list, ok := arns.([]any)
		if !ok {
			if s, isStr := arns.(string); isStr {
				list = toAnySlice(splitList(s))
			} else {
				return fmt.Errorf("context %q: %q: want a list of role ARNs", CtxConsumerRoleArns, provider)
			}
		}
		for _, a := range list {
			arn, _ := a.(string)
			if !roleArnRe.MatchString(arn) {
				return fmt.Errorf("context %q: %v is not an IAM role ARN", CtxConsumerRoleArns, a)
			}
			if !slices.Contains(out[provider], arn) {
				out[provider] = append(out[provider], arn)
			}
		}
		return nil
	}
	switch t := v.(type) {
	case nil:
		return nil, nil
	case []any:
		if err := add(AllProviders, t); err != nil {
			return nil, err
		}
	case map[string]any:
		for provider, arns := range t {
			if provider != AllProviders && !slices.Contains(ProviderNames(), provider) {
				return nil, fmt.Errorf("context %q: unknown provider %q (want one of %v or %q)", CtxConsumerRoleArns, provider, ProviderNames(), AllProviders)
			}
			if err := add(provider, arns); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("context %q: want a string, list or object, got %T", CtxConsumerRoleArns, v)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// RolesFor returns the consumer roles that may read provider's queue.
func (c Config) RolesFor(provider string) []string {
	var out []string
	for _, k := range []string{AllProviders, provider} {
		for _, arn := range c.ConsumerRoleArns[k] {
			if !slices.Contains(out, arn) {
				out = append(out, arn)
			}
		}
	}
	return out
}

// retentionDays maps the retention periods CloudWatch Logs accepts to the CDK enum.
var retentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

func validRetentionDays() []int {
	out := make([]int, 0, len(retentionDays))
	for d := range retentionDays {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func toAnySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
