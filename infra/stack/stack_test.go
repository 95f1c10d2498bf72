package stack

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"

	"webhooks/internal/loadtest/capacity"
	"webhooks/shared/contract"
)

// One jsii runtime per test binary, and synthesis is the slow part: TestMain synthesises the
// stack once with the default context (and once more with every optional setting), and every
// test asserts against those templates. Under -short (make test-unit) nothing is synthesised
// and every test that reads a template skips (needsSynth); make test runs them all.

const consumerRole = "arn:aws:iam::123456789012:role/order-consumer"
const tikiOnlyConsumer = "arn:aws:iam::123456789012:role/tiki-consumer"

type synthesized struct {
	stack    *WebhooksStack
	template assertions.Template
	json     map[string]any
	path     string // the template file in the cloud assembly
}

var (
	dflt synthesized // default context
	full synthesized // stage "prod" with alarm emails, consumer roles and its own redrive schedule
	// The example consumer on (consumer_test.go): with its knobs set (JSON values), and with
	// idempotency off (`-c` strings).
	cons     synthesized
	consBare synthesized
	// A development stage "sandbox" deploying all at once (safeDeploy=false, deploy_test.go).
	allAtOnce synthesized
)

// everyStack lists every synthesised stack, for the checks that hold whatever the context.
func everyStack() []synthesized { return []synthesized{dflt, full, cons, consBare, allAtOnce} }

// noSynth, when set, is why the tests that read a synthesised template skip.
var noSynth string

// needsSynth skips a test that reads the synthesised templates when TestMain did not
// synthesise them (-short).
func needsSynth(t *testing.T) {
	t.Helper()
	if noSynth != "" {
		t.Skip(noSynth)
	}
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := func() int {
		if testing.Short() {
			// Synthesis starts the jsii runtime (node, ~1 GB) and takes most of this
			// package's time, and what reads its templates (cfn-lint, cdk-nag, the
			// comparisons against moto) is slower still: the unit loop leaves them out.
			noSynth = "synthesises the stack: not in -short mode (make test runs it)"
			return m.Run()
		}
		work, err := os.MkdirTemp("", "infra-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if os.Getenv("KEEP_SYNTH") == "" {
			defer os.RemoveAll(work)
		} else {
			fmt.Println("synthesised into", work)
		}
		// Dummy function assets instead of compiling the functions.
		assets := filepath.Join(work, "build")
		for _, p := range slices.Concat(ProviderNames(), []string{ExampleConsumerAsset}) {
			dir := filepath.Join(assets, p)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\n# "+p+"\n"), 0o755); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		dflt = synth(filepath.Join(work, "dflt"), map[string]any{CtxAssetDir: assets})
		full = synth(filepath.Join(work, "full"), map[string]any{
			CtxAssetDir:         assets,
			CtxStage:            "prod",
			CtxAlarmEmail:       "ops@example.com, oncall@example.com",
			CtxRateLimit:        "20",
			CtxBurstLimit:       "40",
			CtxLogRetentionDays: 90.0,
			CtxConsumerRoleArns: map[string]any{"*": []any{consumerRole}, "tiki": []any{tikiOnlyConsumer}},
			// `-c` strings, as an operator would pass them
			CtxRedriveSchedule:      "rate(10 minutes)",
			CtxRedriveOlderThan:     "7m",
			CtxRedriveSweepSchedule: "off",
		})
		cons = synth(filepath.Join(work, "cons"), map[string]any{
			CtxAssetDir:                      assets,
			CtxExampleConsumer:               true,
			CtxExampleConsumerBatchSize:      5.0,
			CtxExampleConsumerMaxConcurrency: 7.0,
			CtxExampleConsumerReplays:        "reprocess",
		})
		consBare = synth(filepath.Join(work, "consBare"), map[string]any{
			CtxAssetDir:                   assets,
			CtxExampleConsumer:            "true",
			CtxExampleConsumerIdempotency: "false",
		})
		allAtOnce = synth(filepath.Join(work, "allAtOnce"), map[string]any{
			CtxAssetDir:   assets,
			CtxStage:      "sandbox",
			CtxSafeDeploy: "false",
		})
		return m.Run()
	}()
	jsii.Close()
	os.Exit(code)
}

func synth(outdir string, context map[string]any) synthesized {
	cfg, err := ConfigFromContext(func(k string) any { return context[k] })
	if err != nil {
		panic(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{
		Outdir: jsii.String(outdir),
		// What the CDK CLI sets: the asset metadata that `sam local` reads.
		Context: &map[string]any{"aws:cdk:enable-asset-metadata": true},
	})
	s := NewWebhooksStack(app, cfg.StackName, &WebhooksStackProps{Config: cfg})
	AddNagChecks(app, false)
	assembly := app.Synth(nil)
	path := *assembly.GetStackArtifact(s.ArtifactId()).TemplateFullPath()
	raw, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		panic(err)
	}
	return synthesized{stack: s, template: assertions.Template_FromJSON(&doc, nil), json: doc, path: path}
}

// check turns an assertion panic into a test failure with the assertion's message.
func check(t *testing.T, what string, assertion func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	assertion()
}

func (s synthesized) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.json["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

func props(res map[string]any) map[string]any {
	p, _ := res["Properties"].(map[string]any)
	return p
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func ref(id string) map[string]any { return map[string]any{"Ref": id} }

// logicalID finds the logical id of the single resource of type typ whose id starts with prefix.
func (s synthesized) logicalID(t *testing.T, typ, prefix string) string {
	t.Helper()
	var found []string
	for id := range s.resources(typ) {
		if strings.HasPrefix(id, prefix) {
			found = append(found, id)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s with id prefix %q, found %v", typ, prefix, found)
	}
	return found[0]
}

// policyStatements returns every statement of the AWS::IAM::Policy resources attached to role.
func (s synthesized) policyStatements(roleID string) []map[string]any {
	var out []map[string]any
	for _, pol := range s.resources("AWS::IAM::Policy") {
		p := props(pol)
		if !strings.Contains(toJSON(p["Roles"]), `"`+roleID+`"`) {
			continue
		}
		for _, st := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			out = append(out, st.(map[string]any))
		}
	}
	return out
}

func strs(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, e := range t {
			out = append(out, toJSON(e))
		}
		return out
	}
	return []string{toJSON(v)}
}

func actions(st map[string]any) []string {
	var out []string
	switch a := st["Action"].(type) {
	case string:
		out = []string{a}
	case []any:
		for _, e := range a {
			out = append(out, e.(string))
		}
	}
	sort.Strings(out)
	return out
}

// --- API ---------------------------------------------------------------------------------

func TestRoutesAreExactlyTheContractsPostRoutes(t *testing.T) {
	// GIVEN the stack with the default context
	// WHEN it is synthesised
	// THEN the HTTP API has exactly the contract's routes, POST only, each integrated (payload
	// format 2.0) with its provider's function, through the function's live alias
	needsSynth(t)
	want := map[string]string{
		"POST /webhooks/tiki/{kind}":             "TikiFunction",
		"POST /webhooks/apigift/{token}":         "ApiGiftFunction",
		"POST /webhooks/apigift/{token}/{event}": "ApiGiftFunction",
		"POST /webhooks/alchemypay/{token}":      "AlchemyPayFunction",
		"POST /webhooks/oslpay":                  "OslPayFunction",
	}
	// A provider added to the table brings its own routes (TestProviderTable
	// keeps the contract's four as they are).
	for _, p := range Providers {
		for _, k := range p.RouteKeys() {
			if _, ok := want[k]; !ok {
				want[k] = p.Title + "Function"
			}
		}
	}
	check(t, "api count", func() { dflt.template.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Api"), jsii.Number(1)) })
	check(t, "protocol", func() {
		dflt.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), map[string]any{"ProtocolType": "HTTP"})
	})
	integrations := dflt.resources("AWS::ApiGatewayV2::Integration")
	routes := dflt.resources("AWS::ApiGatewayV2::Route")
	got := map[string]string{}
	for _, r := range routes {
		p := props(r)
		key := p["RouteKey"].(string)
		target := p["Target"].(map[string]any)["Fn::Join"].([]any)[1].([]any)[1].(map[string]any)["Ref"].(string)
		ip := props(integrations[target])
		if ip["PayloadFormatVersion"] != "2.0" || ip["IntegrationType"] != "AWS_PROXY" {
			t.Errorf("%s: integration %v", key, ip)
		}
		got[key] = dflt.aliasFunction(t, ip["IntegrationUri"])
		if p["AuthorizationType"] != nil && p["AuthorizationType"] != "NONE" {
			t.Errorf("%s: unexpected authorization %v", key, p["AuthorizationType"])
		}
	}
	if toJSON(got) != toJSON(want) {
		t.Errorf("routes:\n got %v\nwant %v", got, want)
	}
}

func TestLambdaPermissionsAreScopedToTheirRoutes(t *testing.T) {
	// GIVEN the stack WHEN synthesised THEN API Gateway may invoke each function's live alias
	// only through that function's own routes (and EventBridge only through its rules, see
	// TestRedriveIsScheduledPerFunction): no other invoke permission exists
	needsSynth(t)
	perms := map[string]map[string]any{}
	for id, perm := range dflt.resources("AWS::Lambda::Permission") {
		switch props(perm)["Principal"] {
		case "apigateway.amazonaws.com":
			perms[id] = perm
		case "events.amazonaws.com":
		default:
			t.Errorf("%s: principal %v", id, props(perm)["Principal"])
		}
	}
	if nRoutes := routeCount(); len(perms) != nRoutes {
		t.Errorf("want %d permissions (one per route), got %d", nRoutes, len(perms))
	}
	for id, perm := range perms {
		p := props(perm)
		src := toJSON(p["SourceArn"])
		fn := toJSON(p["FunctionName"])
		if p["Action"] != "lambda:InvokeFunction" {
			t.Errorf("%s: %v", id, p)
		}
		for _, pr := range Providers {
			if strings.Contains(src, "/webhooks/"+pr.Name) && fn != toJSON(ref(AliasLogicalID(pr))) {
				t.Errorf("%s: source %s grants %s, want the alias %s", id, src, fn, AliasLogicalID(pr))
			}
		}
	}
}

func TestDefaultStageIsThrottledAndLogsRouteKeysOnly(t *testing.T) {
	// GIVEN the default context and a context with apiRateLimit=20, apiBurstLimit=40
	needsSynth(t)
	for _, c := range []struct {
		s           synthesized
		rate, burst float64
	}{{dflt, 1000, 2000}, {full, 20, 40}} {
		// WHEN synthesised THEN the $default stage auto-deploys with that throttling
		check(t, "stage", func() {
			c.s.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), map[string]any{
				"StageName":  "$default",
				"AutoDeploy": true,
				"DefaultRouteSettings": map[string]any{
					"ThrottlingRateLimit":  c.rate,
					"ThrottlingBurstLimit": c.burst,
				},
			})
		})
	}
	// AND its JSON access log names the route template, never the request path (URL tokens)
	stages := dflt.resources("AWS::ApiGatewayV2::Stage")
	if len(stages) != 1 {
		t.Fatalf("want 1 stage, got %d", len(stages))
	}
	for _, st := range stages {
		als := props(st)["AccessLogSettings"].(map[string]any)
		var format map[string]string
		if err := json.Unmarshal([]byte(als["Format"].(string)), &format); err != nil {
			t.Fatalf("access log format is not JSON: %v", err)
		}
		if format["routeKey"] != "$context.routeKey" {
			t.Errorf("routeKey not logged: %v", format)
		}
		for k, v := range format {
			if strings.Contains(v, "$context.path") || strings.Contains(strings.ToLower(v), "rawpath") ||
				strings.Contains(v, "resourcePath") || strings.Contains(v, "requestOverride") {
				t.Errorf("access log field %s=%s may contain a URL token", k, v)
			}
		}
		dest := toJSON(als["DestinationArn"])
		lg := dflt.logicalID(t, "AWS::Logs::LogGroup", "ApiAccessLog")
		if !strings.Contains(dest, lg) {
			t.Errorf("access log destination %s, want log group %s", dest, lg)
		}
	}
}

// --- functions ----------------------------------------------------------------------------

func TestFunctionsRunTheBuiltBootstrapOnArm64(t *testing.T) {
	// GIVEN the stack WHEN synthesised THEN there are four functions, each provided.al2023 on
	// arm64 with handler bootstrap, sized, traced, logging JSON to its own log group
	needsSynth(t)
	check(t, "count", func() {
		dflt.template.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(float64(len(Providers))))
	})
	for _, p := range Providers {
		id := FunctionLogicalID(p)
		check(t, id, func() {
			dflt.template.HasResource(jsii.String("AWS::Lambda::Function"), map[string]any{
				"Properties": map[string]any{
					"Runtime":       "provided.al2023",
					"Architectures": []any{"arm64"},
					"Handler":       "bootstrap",
					"MemorySize":    float64(FunctionMemoryMB),
					"Timeout":       float64(FunctionTimeoutSeconds),
					"TracingConfig": map[string]any{"Mode": "Active"},
					"LoggingConfig": map[string]any{
						"LogFormat": "JSON",
						"LogGroup":  ref(dflt.logicalID(t, "AWS::Logs::LogGroup", p.Title+"LogGroup")),
					},
				},
			})
		})
		if _, ok := dflt.resources("AWS::Lambda::Function")[id]; !ok {
			t.Errorf("no function with the stable logical id %s", id)
		}
	}
}

func TestFunctionEnvironmentIsTheContract(t *testing.T) {
	// GIVEN the stack WHEN synthesised THEN each function gets exactly the contract's variables,
	// wired to the table, its own queue and its own secret
	needsSynth(t)
	table := dflt.logicalID(t, "AWS::DynamoDB::Table", "EventStore")
	for _, p := range Providers {
		fn := dflt.resources("AWS::Lambda::Function")[FunctionLogicalID(p)]
		if fn == nil {
			t.Fatalf("missing %s", FunctionLogicalID(p))
		}
		vars := props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)
		keys := make([]string, 0, len(vars))
		for k := range vars {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		want := []string{EnvEventTTL, EnvMetricsNamespace, EnvQueueURL, EnvSecretID, EnvTable}
		if !slices.Equal(keys, want) {
			t.Errorf("%s: variables %v, want %v", p.Name, keys, want)
		}
		queue := dflt.logicalID(t, "AWS::SQS::Queue", p.Title+"Queue")
		secret := dflt.logicalID(t, "AWS::SecretsManager::Secret", p.Title+"Secret")
		if toJSON(vars[EnvTable]) != toJSON(ref(table)) || toJSON(vars[EnvQueueURL]) != toJSON(ref(queue)) ||
			toJSON(vars[EnvSecretID]) != toJSON(ref(secret)) {
			t.Errorf("%s: wiring %v", p.Name, vars)
		}
		if vars[EnvEventTTL] != "720h" || vars[EnvMetricsNamespace] != "Webhooks/dev" {
			t.Errorf("%s: ttl/namespace %v", p.Name, vars)
		}
	}
	// AND the namespace follows the stage
	for _, fn := range full.resources("AWS::Lambda::Function") {
		if ns := props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)[EnvMetricsNamespace]; ns != "Webhooks/prod" {
			t.Errorf("prod namespace %v", ns)
		}
	}
}

func TestFunctionsCarrySamAssetMetadata(t *testing.T) {
	// GIVEN asset metadata enabled (as the CDK CLI does) WHEN synthesised THEN each function
	// says where its code is, so `sam local invoke -t cdk.out/<stack>.template.json` works
	needsSynth(t)
	for _, p := range Providers {
		fn := dflt.resources("AWS::Lambda::Function")[FunctionLogicalID(p)]
		md, _ := fn["Metadata"].(map[string]any)
		if md["aws:asset:property"] != "Code" || md["aws:asset:path"] == nil {
			t.Errorf("%s: metadata %v", p.Name, md)
		}
	}
}

func TestLogGroupsAreEncryptedWithRetention(t *testing.T) {
	// GIVEN the default context (30 days) and one with logRetentionDays=90
	needsSynth(t)
	for _, c := range []struct {
		s    synthesized
		days float64
	}{{dflt, 30}, {full, 90}} {
		// WHEN synthesised THEN the four function log groups and the access log are KMS
		// encrypted with the data key and keep logs that long
		groups := c.s.resources("AWS::Logs::LogGroup")
		if len(groups) != len(Providers)+1 {
			t.Errorf("want %d log groups, got %d", len(Providers)+1, len(groups))
		}
		key := c.s.logicalID(t, "AWS::KMS::Key", "DataKey")
		for id, g := range groups {
			p := props(g)
			if p["RetentionInDays"] != c.days || !strings.Contains(toJSON(p["KmsKeyId"]), key) {
				t.Errorf("%s: %v", id, p)
			}
		}
	}
}

// --- least privilege ----------------------------------------------------------------------

func TestFunctionRolesAreLeastPrivilege(t *testing.T) {
	// GIVEN the stack WHEN synthesised THEN each function's role allows only: the six table
	// actions on the table (not its indexes), item actions only on its own provider's keys, send on its own queue, read of its own secret, the key through
	// those services, writes to its own log group, and X-Ray
	needsSynth(t)
	table := dflt.logicalID(t, "AWS::DynamoDB::Table", "EventStore")
	key := dflt.logicalID(t, "AWS::KMS::Key", "DataKey")
	for _, p := range Providers {
		fn := dflt.resources("AWS::Lambda::Function")[FunctionLogicalID(p)]
		roleID := props(fn)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
		role := dflt.resources("AWS::IAM::Role")[roleID]
		if mp := props(role)["ManagedPolicyArns"]; mp != nil {
			t.Errorf("%s: managed policies %v", p.Name, mp)
		}
		queue := dflt.logicalID(t, "AWS::SQS::Queue", p.Title+"Queue")
		secret := dflt.logicalID(t, "AWS::SecretsManager::Secret", p.Title+"Secret")
		logGroup := dflt.logicalID(t, "AWS::Logs::LogGroup", p.Title+"LogGroup")
		seen := map[string]bool{}
		for _, st := range dflt.policyStatements(roleID) {
			acts := strings.Join(actions(st), ",")
			res := strings.Join(strs(st["Resource"]), ",")
			if st["Effect"] != "Allow" {
				continue
			}
			switch acts {
			case "dynamodb:GetItem,dynamodb:PutItem,dynamodb:Query,dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Scan":
				if res != toJSON(map[string]any{"Fn::GetAtt": []any{table, "Arn"}}) {
					t.Errorf("%s: table actions on %s", p.Name, res)
				}
				// Only the provider's own items: its keys start with "<provider>#"; the
				// markers' partition is "<provider>#unsent". A scan has no key to condition on:
				// it may read only the attributes that name an event, never its data.
				want := map[string]string{
					"dynamodb:GetItem,dynamodb:PutItem,dynamodb:Query,dynamodb:UpdateItem": `{"ForAllValues:StringLike":{"dynamodb:LeadingKeys":["` + p.Name + `#*"]}}`,
					"dynamodb:DeleteItem": `{"ForAllValues:StringLike":{"dynamodb:LeadingKeys":["` + p.Name + `#unsent"]}}`,
					"dynamodb:Scan":       `{"ForAllValues:StringEquals":{"dynamodb:Attributes":["pk","sk","received_at","ty","type","su","subject","sh","st","status"]},"StringEquals":{"dynamodb:Select":"SPECIFIC_ATTRIBUTES"}}`,
				}[acts]
				if got := toJSON(st["Condition"]); got != want {
					t.Errorf("%s: %s condition %s, want %s", p.Name, acts, got, want)
				}
			case "sqs:SendMessage":
				if res != toJSON(map[string]any{"Fn::GetAtt": []any{queue, "Arn"}}) {
					t.Errorf("%s: send on %s", p.Name, res)
				}
			case "secretsmanager:GetSecretValue":
				if res != toJSON(ref(secret)) {
					t.Errorf("%s: secret read on %s", p.Name, res)
				}
			case "kms:Decrypt,kms:GenerateDataKey":
				if res != toJSON(map[string]any{"Fn::GetAtt": []any{key, "Arn"}}) || !strings.Contains(toJSON(st["Condition"]), "kms:ViaService") {
					t.Errorf("%s: kms on %s, condition %v", p.Name, res, st["Condition"])
				}
			case "logs:CreateLogStream,logs:PutLogEvents":
				if res != toJSON(map[string]any{"Fn::GetAtt": []any{logGroup, "Arn"}}) {
					t.Errorf("%s: logs on %s", p.Name, res)
				}
			case "xray:PutTelemetryRecords,xray:PutTraceSegments":
				// X-Ray has no resource-level permissions (Resource "*", suppressed in nag.go).
			default:
				t.Errorf("%s: unexpected statement %s on %s", p.Name, acts, res)
			}
			seen[acts] = true
			for _, a := range actions(st) {
				if strings.Contains(a, "*") || strings.HasPrefix(a, "dynamodb:Batch") || strings.HasPrefix(a, "dynamodb:Transact") {
					t.Errorf("%s: action %s", p.Name, a)
				}
			}
		}
		if len(seen) != 8 {
			t.Errorf("%s: want 8 statements, got %v", p.Name, seen)
		}
	}
}

// --- scheduled redrive ----------------------------------------------------------------------

func TestRedriveIsScheduledPerFunction(t *testing.T) {
	needsSynth(t)
	type run struct{ schedule, input string }
	for _, c := range []struct {
		name string
		s    synthesized
		want []run
	}{
		// GIVEN the default context
		{"default", dflt, []run{
			{"rate(5 minutes)", `{"redrive":{"olderThan":"5m"}}`},
			{"rate(1 day)", `{"redrive":{"olderThan":"15m","sweep":true}}`},
		}},
		// GIVEN redriveSchedule=rate(10 minutes), redriveOlderThan=7m, redriveSweepSchedule=off
		{"full", full, []run{
			{"rate(10 minutes)", `{"redrive":{"olderThan":"7m"}}`},
		}},
	} {
		// WHEN synthesised THEN each function has exactly those rules, each with one target: the
		// function's live alias, with the constant command as input and a short retry policy
		rules := c.s.resources("AWS::Events::Rule")
		if len(rules) != len(c.want)*len(Providers) {
			t.Errorf("%s: want %d rules, got %d", c.name, len(c.want)*len(Providers), len(rules))
		}
		ruleOf := map[string]string{}  // rule id -> function logical id
		aliasOf := map[string]string{} // function logical id -> its live alias's
		for _, p := range Providers {
			fn := FunctionLogicalID(p)
			var got []run
			for id, r := range rules {
				rp := props(r)
				targets, _ := rp["Targets"].([]any)
				if len(targets) != 1 {
					t.Errorf("%s %s: targets %v", c.name, id, rp["Targets"])
					continue
				}
				tg := targets[0].(map[string]any)
				if toJSON(tg["Arn"]) != toJSON(ref(AliasLogicalID(p))) {
					continue
				}
				ruleOf[id] = fn
				aliasOf[fn] = AliasLogicalID(p)
				got = append(got, run{fmt.Sprint(rp["ScheduleExpression"]), fmt.Sprint(tg["Input"])})
				if rp["State"] != "ENABLED" || rp["EventPattern"] != nil || rp["EventBusName"] != nil {
					t.Errorf("%s %s: %v", c.name, id, rp)
				}
				if toJSON(tg["RetryPolicy"]) != `{"MaximumEventAgeInSeconds":240,"MaximumRetryAttempts":2}` {
					t.Errorf("%s %s: retry policy %v", c.name, id, tg["RetryPolicy"])
				}
			}
			sort.Slice(got, func(i, j int) bool { return got[i].input < got[j].input })
			want := slices.Clone(c.want)
			sort.Slice(want, func(i, j int) bool { return want[i].input < want[j].input })
			if !slices.Equal(got, want) {
				t.Errorf("%s %s: rules %v, want %v", c.name, p.Name, got, want)
			}
		}
		// AND EventBridge may invoke a function only from its own rules: one permission per
		// rule, naming the rule as its source and the live alias of the rule's function
		n := 0
		for id, perm := range c.s.resources("AWS::Lambda::Permission") {
			pp := props(perm)
			if pp["Principal"] != "events.amazonaws.com" {
				continue
			}
			n++
			src, _ := pp["SourceArn"].(map[string]any)["Fn::GetAtt"].([]any)
			if len(src) != 2 || src[1] != "Arn" || ruleOf[fmt.Sprint(src[0])] == "" {
				t.Errorf("%s %s: source %v is not one of the rules", c.name, id, pp["SourceArn"])
				continue
			}
			if fn := ruleOf[src[0].(string)]; toJSON(pp["FunctionName"]) != toJSON(ref(aliasOf[fn])) || pp["Action"] != "lambda:InvokeFunction" {
				t.Errorf("%s %s: rule %s of %s grants %v on %v", c.name, id, src[0], fn, pp["Action"], pp["FunctionName"])
			}
		}
		if n != len(rules) {
			t.Errorf("%s: %d EventBridge permissions for %d rules", c.name, n, len(rules))
		}
	}
	// AND Lambda does not retry a scheduled run, nor start one that waited over 4 minutes: the
	// live alias (what the rules invoke) and $LATEST (an operator's asynchronous invoke of the
	// unqualified function) each carry that configuration
	configs := dflt.resources("AWS::Lambda::EventInvokeConfig")
	if len(configs) != 2*len(Providers) {
		t.Errorf("want %d asynchronous configurations, got %d", 2*len(Providers), len(configs))
	}
	for _, p := range Providers {
		qualifiers := map[string]bool{}
		for id, c := range configs {
			cp := props(c)
			if toJSON(cp["FunctionName"]) != toJSON(ref(FunctionLogicalID(p))) {
				continue
			}
			if cp["MaximumRetryAttempts"] != 0.0 || cp["MaximumEventAgeInSeconds"] != 240.0 {
				t.Errorf("%s: %v", id, cp)
			}
			q := toJSON(cp["Qualifier"])
			switch {
			case q == `"$LATEST"`:
				qualifiers["$LATEST"] = true
			case strings.Contains(q, toJSON(ref(AliasLogicalID(p)))):
				qualifiers[LiveAliasName] = true
			default:
				t.Errorf("%s: qualifier %s", id, q)
			}
		}
		if !qualifiers["$LATEST"] || !qualifiers[LiveAliasName] {
			t.Errorf("%s: asynchronous configuration for %v, want $LATEST and %s", p.Name, qualifiers, LiveAliasName)
		}
	}
}

func TestRedriveStrandedAlarmPerProvider(t *testing.T) {
	needsSynth(t)
	for _, c := range []struct {
		s      synthesized
		ns     string
		period float64
	}{
		// GIVEN the default schedule (5 minutes) and rate(10 minutes) in the prod stage
		{dflt, "Webhooks/dev", 300},
		{full, "Webhooks/prod", 600},
	} {
		topic := c.s.logicalID(t, "AWS::SNS::Topic", "MonitoringAlarmTopic")
		for _, p := range Providers {
			// WHEN synthesised THEN per provider an alarm fires when redrive failed to send in
			// two consecutive periods of one run each, treats no run as fine, and notifies the
			// alarm topic
			id := c.s.logicalID(t, "AWS::CloudWatch::Alarm", "Monitoring"+p.Title+"RedriveStranded")
			got := props(c.s.resources("AWS::CloudWatch::Alarm")[id])
			want := map[string]any{
				"Namespace":          c.ns,
				"MetricName":         contract.MetricRedriveFailed,
				"Dimensions":         []any{map[string]any{"Name": contract.DimensionProvider, "Value": p.Name}},
				"Statistic":          "Sum",
				"Period":             c.period,
				"EvaluationPeriods":  2.0,
				"DatapointsToAlarm":  2.0,
				"Threshold":          1.0,
				"ComparisonOperator": "GreaterThanOrEqualToThreshold",
				"TreatMissingData":   "notBreaching",
				"AlarmActions":       []any{ref(topic)},
				"OKActions":          []any{ref(topic)},
			}
			for k, v := range want {
				if toJSON(got[k]) != toJSON(v) {
					t.Errorf("%s %s: %s = %s, want %s", *c.s.stack.StackName(), id, k, toJSON(got[k]), toJSON(v))
				}
			}
		}
	}
	// AND per provider an alarm fires as soon as a redrive finds a marked event gone from the
	// table (one run, one period), treating no run as fine
	for _, c := range []struct {
		s      synthesized
		ns     string
		period float64
	}{{dflt, "Webhooks/dev", 300}, {full, "Webhooks/prod", 600}} {
		topic := c.s.logicalID(t, "AWS::SNS::Topic", "MonitoringAlarmTopic")
		for _, p := range Providers {
			id := c.s.logicalID(t, "AWS::CloudWatch::Alarm", "Monitoring"+p.Title+"RedriveMissing")
			got := props(c.s.resources("AWS::CloudWatch::Alarm")[id])
			want := map[string]any{
				"Namespace":          c.ns,
				"MetricName":         contract.MetricRedriveMissing,
				"Dimensions":         []any{map[string]any{"Name": contract.DimensionProvider, "Value": p.Name}},
				"Statistic":          "Sum",
				"Period":             c.period,
				"EvaluationPeriods":  1.0,
				"Threshold":          1.0,
				"ComparisonOperator": "GreaterThanOrEqualToThreshold",
				"TreatMissingData":   "notBreaching",
				"AlarmActions":       []any{ref(topic)},
			}
			for k, v := range want {
				if toJSON(got[k]) != toJSON(v) {
					t.Errorf("%s %s: %s = %s, want %s", *c.s.stack.StackName(), id, k, toJSON(got[k]), toJSON(v))
				}
			}
		}
	}
	// AND the dashboard graphs found, sent, failed and missing per provider
	for _, d := range dflt.resources("AWS::CloudWatch::Dashboard") {
		body := toJSON(props(d)["DashboardBody"])
		for _, p := range Providers {
			for _, m := range []string{contract.MetricRedriveFound, contract.MetricRedriveSent, contract.MetricRedriveFailed, contract.MetricRedriveMissing} {
				if !strings.Contains(body, fmt.Sprintf(`[\"Webhooks/dev\",\"%s\",\"provider\",\"%s\"`, m, p.Name)) {
					t.Errorf("dashboard lacks %s of %s", m, p.Name)
				}
			}
		}
	}
}

func TestConsumersCanBeGrantedReadByRoleArn(t *testing.T) {
	// GIVEN consumerRoleArns {"*": [order-consumer], "tiki": [tiki-consumer]}
	// WHEN synthesised
	// THEN order-consumer may receive and delete on every provider queue, tiki-consumer on
	// tiki's only, and neither may send
	needsSynth(t)
	grants := map[string][]string{} // role name -> queues it may receive from
	for _, pol := range full.resources("AWS::IAM::Policy") {
		p := props(pol)
		roles := toJSON(p["Roles"])
		for _, st := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			s := st.(map[string]any)
			if !slices.Contains(actions(s), "sqs:ReceiveMessage") {
				continue
			}
			if slices.Contains(actions(s), "sqs:SendMessage") {
				t.Errorf("consumer may send: %v", s)
			}
			for _, name := range []string{"order-consumer", "tiki-consumer"} {
				if strings.Contains(roles, `"`+name+`"`) {
					grants[name] = append(grants[name], strs(s["Resource"])...)
				}
			}
		}
	}
	if n := len(grants["order-consumer"]); n != len(Providers) {
		t.Errorf("order-consumer: want %d queues, got %v", len(Providers), grants["order-consumer"])
	}
	if g := grants["tiki-consumer"]; len(g) != 1 || !strings.Contains(g[0], "TikiQueue") {
		t.Errorf("tiki-consumer: %v", g)
	}
	// AND they decrypt only through SQS, by identity policy: key and queue policies name no role
	for _, pol := range full.resources("AWS::IAM::Policy") {
		for _, st := range props(pol)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			s := st.(map[string]any)
			if s["Sid"] == "DecryptMessages" && !strings.Contains(toJSON(s["Condition"]), "sqs.") {
				t.Errorf("consumer decrypt without the SQS condition: %v", s)
			}
		}
	}
	for _, typ := range []string{"AWS::KMS::Key", "AWS::SQS::QueuePolicy"} {
		for id, r := range full.resources(typ) {
			if strings.Contains(toJSON(r), "-consumer") {
				t.Errorf("%s names a consumer role", id)
			}
		}
	}
	// AND the default context grants nobody
	for _, pol := range dflt.resources("AWS::IAM::Policy") {
		if strings.Contains(toJSON(pol), "sqs:ReceiveMessage") {
			t.Errorf("default stack grants a consumer: %v", props(pol)["Roles"])
		}
	}
}

// --- data ---------------------------------------------------------------------------------

func TestEventStoreTable(t *testing.T) {
	// GIVEN the stack WHEN synthesised THEN the table has the contract's keys and TTL, is
	// on-demand, recoverable, encrypted with the data key, deletion-protected and retained,
	// with the sparse by-quarantine index
	needsSynth(t)
	check(t, "count", func() { dflt.template.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(1)) })
	key := dflt.logicalID(t, "AWS::KMS::Key", "DataKey")
	check(t, "table", func() {
		dflt.template.HasResource(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"DeletionPolicy":      "Retain",
			"UpdateReplacePolicy": "Retain",
			"Properties": map[string]any{
				"KeySchema": []any{
					map[string]any{"AttributeName": "pk", "KeyType": "HASH"},
					map[string]any{"AttributeName": "sk", "KeyType": "RANGE"},
				},
				"AttributeDefinitions": assertions.Match_ArrayWith(&[]any{
					map[string]any{"AttributeName": "pk", "AttributeType": "S"},
					map[string]any{"AttributeName": "sk", "AttributeType": "S"},
				}),
				"TimeToLiveSpecification":          map[string]any{"AttributeName": "expires_at", "Enabled": true},
				"BillingMode":                      "PAY_PER_REQUEST",
				"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
				"DeletionProtectionEnabled":        true,
				"SSESpecification": map[string]any{
					"SSEEnabled":     true,
					"SSEType":        "KMS",
					"KMSMasterKeyId": map[string]any{"Fn::GetAtt": []any{key, "Arn"}},
				},
				"GlobalSecondaryIndexes": []any{map[string]any{
					"IndexName": "by-quarantine",
					"KeySchema": []any{
						map[string]any{"AttributeName": "quarantine_pk", "KeyType": "HASH"},
						map[string]any{"AttributeName": "received_at", "KeyType": "RANGE"},
					},
					"Projection": map[string]any{"ProjectionType": "ALL"},
				}},
			},
		})
	})
}

func TestDataKeyRotatesAndIsRetained(t *testing.T) {
	// GIVEN the stack WHEN synthesised THEN one customer-managed key, rotated, retained, and
	// usable by CloudWatch Logs only for this account's log groups
	needsSynth(t)
	check(t, "count", func() { dflt.template.ResourceCountIs(jsii.String("AWS::KMS::Key"), jsii.Number(1)) })
	check(t, "key", func() {
		dflt.template.HasResource(jsii.String("AWS::KMS::Key"), map[string]any{
			"DeletionPolicy":      "Retain",
			"UpdateReplacePolicy": "Retain",
			"Properties":          map[string]any{"EnableKeyRotation": true},
		})
	})
	key := dflt.resources("AWS::KMS::Key")[dflt.logicalID(t, "AWS::KMS::Key", "DataKey")]
	policy := toJSON(props(key)["KeyPolicy"])
	if !strings.Contains(policy, "kms:EncryptionContext:aws:logs:arn") {
		t.Errorf("key policy lacks the logs encryption-context condition: %s", policy)
	}
}

func TestQueuesAreEncryptedHighThroughputFifoWithDeadLetterQueues(t *testing.T) {
	// GIVEN the stack WHEN synthesised THEN per provider a FIFO queue (per-group throughput and
	// de-duplication, 1 MiB messages) redriving to a FIFO DLQ that keeps messages 14 days, both
	// KMS-encrypted with the data key and refusing non-TLS requests
	needsSynth(t)
	check(t, "count", func() {
		dflt.template.ResourceCountIs(jsii.String("AWS::SQS::Queue"), jsii.Number(float64(2*len(Providers))))
	})
	key := dflt.logicalID(t, "AWS::KMS::Key", "DataKey")
	queues := dflt.resources("AWS::SQS::Queue")
	for _, p := range Providers {
		q := dflt.logicalID(t, "AWS::SQS::Queue", p.Title+"Queue")
		d := dflt.logicalID(t, "AWS::SQS::Queue", p.Title+"DeadLetterQueue")
		for _, id := range []string{q, d} {
			qp := props(queues[id])
			if qp["FifoQueue"] != true || qp["FifoThroughputLimit"] != "perMessageGroupId" || qp["DeduplicationScope"] != "messageGroup" {
				t.Errorf("%s: not high-throughput FIFO: %v", id, qp)
			}
			if toJSON(qp["KmsMasterKeyId"]) != toJSON(map[string]any{"Fn::GetAtt": []any{key, "Arn"}}) {
				t.Errorf("%s: key %v", id, qp["KmsMasterKeyId"])
			}
			// SQS's largest message (1 MiB), so an enveloped event is never refused for a size SQS could take.
			if qp["MaximumMessageSize"] != float64(1048576) {
				t.Errorf("%s: MaximumMessageSize %v, want 1048576", id, qp["MaximumMessageSize"])
			}
		}
		rp := props(queues[q])["RedrivePolicy"].(map[string]any)
		if toJSON(rp["deadLetterTargetArn"]) != toJSON(map[string]any{"Fn::GetAtt": []any{d, "Arn"}}) || rp["maxReceiveCount"] != float64(MaxReceiveCount) {
			t.Errorf("%s: redrive %v", q, rp)
		}
		if props(queues[d])["MessageRetentionPeriod"] != float64(14*24*3600) {
			t.Errorf("%s: DLQ retention %v", d, props(queues[d])["MessageRetentionPeriod"])
		}
		if props(queues[d])["RedrivePolicy"] != nil {
			t.Errorf("%s: a DLQ with a DLQ", d)
		}
	}
	// SSL enforced on every queue and dead-letter queue
	enforced := 0
	for _, qp := range dflt.resources("AWS::SQS::QueuePolicy") {
		doc := toJSON(props(qp)["PolicyDocument"])
		if strings.Contains(doc, `"aws:SecureTransport":"false"`) && strings.Contains(doc, `"Effect":"Deny"`) {
			enforced += len(props(qp)["Queues"].([]any))
		}
	}
	if enforced != 2*len(Providers) {
		t.Errorf("SSL enforced on %d queues, want 8", enforced)
	}
}

func TestSecretsHoldAPlaceholderEncryptedWithTheKey(t *testing.T) {
	// GIVEN the stack WHEN synthesised THEN one secret per provider, encrypted with the data
	// key, created with the placeholder the functions refuse
	needsSynth(t)
	check(t, "count", func() {
		dflt.template.ResourceCountIs(jsii.String("AWS::SecretsManager::Secret"), jsii.Number(float64(len(Providers))))
	})
	key := dflt.logicalID(t, "AWS::KMS::Key", "DataKey")
	check(t, "secret", func() {
		dflt.template.AllResourcesProperties(jsii.String("AWS::SecretsManager::Secret"), map[string]any{
			"KmsKeyId":     map[string]any{"Fn::GetAtt": []any{key, "Arn"}},
			"SecretString": SecretPlaceholder,
		})
	})
	var v map[string]any
	if err := json.Unmarshal([]byte(SecretPlaceholder), &v); err != nil || v["placeholder"] == nil {
		t.Errorf("placeholder must be JSON with a placeholder field: %v", err)
	}
}

func TestNoHardCodedPhysicalNames(t *testing.T) {
	// GIVEN two stages WHEN synthesised THEN no resource carries a fixed physical name (so
	// both can live in one account); the only names (API, dashboard) are the stack's
	needsSynth(t)
	nameProps := []string{"TableName", "QueueName", "FunctionName", "Name", "RoleName", "TopicName", "LogGroupName", "AliasName"}
	for _, s := range everyStack() {
		for id, r := range s.json["Resources"].(map[string]any) {
			res := r.(map[string]any)
			if res["Type"] == "AWS::Lambda::Permission" || res["Type"] == "AWS::Lambda::EventInvokeConfig" || res["Type"] == "AWS::Lambda::EventSourceMapping" || res["Type"] == "AWS::Lambda::Version" {
				continue // FunctionName there is a reference
			}
			if res["Type"] == "AWS::Lambda::Alias" && props(res)["Name"] == LiveAliasName {
				continue // an alias's name is scoped to its function, not to the account
			}
			for _, n := range nameProps {
				if v, ok := props(res)[n]; ok && v != *s.stack.StackName() {
					t.Errorf("%s (%s) has %s=%v", id, res["Type"], n, v)
				}
			}
		}
	}
	check(t, "dashboard", func() {
		dflt.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Dashboard"), map[string]any{"DashboardName": "Webhooks-dev"})
		full.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Dashboard"), map[string]any{"DashboardName": "Webhooks-prod"})
	})
}

// --- alarms -------------------------------------------------------------------------------

// The capacity model's warnings quote the stack's alarm thresholds: the same values.
func TestCapacityWarningsQuoteTheAlarms(t *testing.T) {
	if capacity.NearThrottlePercent != APINearThrottlePercent || capacity.TableThrottledThreshold != TableThrottledThreshold {
		t.Fatalf("capacity quotes %d%% and %d throttled, the stack alarms at %d%% and %d",
			capacity.NearThrottlePercent, capacity.TableThrottledThreshold, APINearThrottlePercent, TableThrottledThreshold)
	}
}

func TestAlarmsCoverEveryProviderAndTheApi(t *testing.T) {
	// GIVEN the stack WHEN synthesised THEN seven alarms per provider and three for the API
	// and the table (5xx, near its throttle, throttled), all notifying the encrypted alarm
	// topic, and the deployment alarms (two per provider, see
	// TestEachAliasHasADeploymentGroupThatRollsBack), notifying nobody
	needsSynth(t)
	const shared = 3
	alarms := dflt.resources("AWS::CloudWatch::Alarm")
	if len(alarms) != 9*len(Providers)+shared {
		t.Errorf("want %d alarms, got %d", 9*len(Providers)+shared, len(alarms))
	}
	topic := dflt.logicalID(t, "AWS::SNS::Topic", "MonitoringAlarmTopic")
	paging := 0
	for id, a := range alarms {
		if strings.Contains(id, "DeployErrors") || strings.Contains(id, "Deploy5xx") {
			if props(a)["AlarmActions"] != nil || props(a)["OKActions"] != nil {
				t.Errorf("%s: a deployment alarm with actions %v", id, props(a)["AlarmActions"])
			}
			continue
		}
		paging++
		if toJSON(props(a)["AlarmActions"]) != toJSON([]any{ref(topic)}) {
			t.Errorf("%s: actions %v", id, props(a)["AlarmActions"])
		}
	}
	if paging != 7*len(Providers)+shared {
		t.Errorf("want %d alarms notifying the topic, got %d", 7*len(Providers)+shared, paging)
	}
	check(t, "topic", func() {
		dflt.template.HasResourceProperties(jsii.String("AWS::SNS::Topic"), map[string]any{
			"KmsMasterKeyId": assertions.Match_AnyValue(),
		})
	})
	emf := func(provider, outcome string) map[string]any {
		return map[string]any{
			"Namespace":  "Webhooks/dev",
			"MetricName": "Webhooks",
			"Dimensions": assertions.Match_ArrayWith(&[]any{
				map[string]any{"Name": "outcome", "Value": outcome},
				map[string]any{"Name": "provider", "Value": provider},
			}),
		}
	}
	for _, p := range Providers {
		dlq := dflt.logicalID(t, "AWS::SQS::Queue", p.Title+"DeadLetterQueue")
		check(t, p.Name+" dlq", func() {
			dflt.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
				"Namespace":  "AWS/SQS",
				"MetricName": "ApproximateNumberOfMessagesVisible",
				"Dimensions": []any{map[string]any{"Name": "QueueName", "Value": map[string]any{"Fn::GetAtt": []any{dlq, "QueueName"}}}},
				"Threshold":  1,
			})
		})
		for _, m := range []string{"Errors", "Throttles"} {
			check(t, p.Name+" "+m, func() {
				dflt.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
					"Namespace":  "AWS/Lambda",
					"MetricName": m,
					"Dimensions": []any{map[string]any{"Name": "FunctionName", "Value": ref(FunctionLogicalID(p))}},
				})
			})
		}
		check(t, p.Name+" quarantined", func() {
			props := emf(p.Name, "quarantined")
			props["Statistic"] = "Sum"
			props["Threshold"] = 1
			props["ComparisonOperator"] = "GreaterThanOrEqualToThreshold"
			dflt.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), props)
		})
		check(t, p.Name+" rejected rate", func() {
			dflt.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
				"Threshold": RejectedRatePercent,
				"Metrics": assertions.Match_ArrayWith(&[]any{
					assertions.Match_ObjectLike(&map[string]any{"Id": "rejected", "MetricStat": assertions.Match_ObjectLike(&map[string]any{"Metric": emf(p.Name, "rejected")})}),
					assertions.Match_ObjectLike(&map[string]any{"Id": "total", "MetricStat": assertions.Match_ObjectLike(&map[string]any{"Metric": map[string]any{
						"Namespace": "Webhooks/dev", "MetricName": "Webhooks",
						"Dimensions": []any{map[string]any{"Name": "provider", "Value": p.Name}},
					}})}),
				}),
			})
		})
	}
	check(t, "api 5xx", func() {
		dflt.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
			"Namespace":  "AWS/ApiGateway",
			"MetricName": "5xx",
			"Threshold":  API5xxThreshold,
		})
	})
	// AND the first limit a flash sale reaches, the stage throttle, warns while every request
	// is still served: a minute of requests at APINearThrottlePercent of the stage's rate (the
	// context's rate when one is given), on this API's $default stage
	for _, c := range []struct {
		s    synthesized
		rate float64
	}{{dflt, DefaultRateLimit}, {full, 20}} {
		api := c.s.logicalID(t, "AWS::ApiGatewayV2::Api", "ApiHttpApi")
		id := c.s.logicalID(t, "AWS::CloudWatch::Alarm", "MonitoringApiNearThrottle")
		got := props(c.s.resources("AWS::CloudWatch::Alarm")[id])
		want := map[string]any{
			"Namespace": "AWS/ApiGateway", "MetricName": "Count", "Statistic": "Sum", "Period": 60.0,
			"Dimensions":         []any{map[string]any{"Name": "ApiId", "Value": ref(api)}},
			"Threshold":          c.rate * 60 * APINearThrottlePercent / 100,
			"EvaluationPeriods":  1.0,
			"ComparisonOperator": "GreaterThanOrEqualToThreshold",
		}
		for k, v := range want {
			if toJSON(got[k]) != toJSON(v) {
				t.Errorf("ApiNearThrottle %s: %s, want %s", k, toJSON(got[k]), toJSON(v))
			}
		}
	}
	// AND a throttled read or write of the table warns before the SDK's retries run out
	check(t, "table throttled", func() {
		table := dflt.logicalID(t, "AWS::DynamoDB::Table", "EventStoreTable")
		metric := func(id, name string) any {
			return assertions.Match_ObjectLike(&map[string]any{"Id": id, "MetricStat": assertions.Match_ObjectLike(&map[string]any{
				"Metric": map[string]any{"Namespace": "AWS/DynamoDB", "MetricName": name,
					"Dimensions": []any{map[string]any{"Name": "TableName", "Value": ref(table)}}},
				"Stat": "Sum",
			})})
		}
		dflt.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
			"Threshold":          TableThrottledThreshold,
			"ComparisonOperator": "GreaterThanOrEqualToThreshold",
			"Metrics":            assertions.Match_ArrayWith(&[]any{metric("r", "ReadThrottleEvents"), metric("w", "WriteThrottleEvents")}),
		})
	})
	// AND every alarm the capacity model names as the one that warns first of a limit is an
	// alarm of the stack, for every provider where it is one per provider
	for _, l := range capacity.Limits {
		for _, w := range l.Alarms {
			name := w.ID
			names := []string{name}
			if strings.Contains(name, "<Provider>") {
				names = names[:0]
				for _, p := range Providers {
					names = append(names, strings.ReplaceAll(name, "<Provider>", p.Title))
				}
			}
			for _, n := range names {
				t.Logf("capacity limit %s: alarm %s", l.ID, n)
				dflt.logicalID(t, "AWS::CloudWatch::Alarm", "Monitoring"+n) // fails when there is none
			}
		}
	}
	// AND alarm emails from the context subscribe to the topic
	check(t, "subscriptions", func() {
		dflt.template.ResourceCountIs(jsii.String("AWS::SNS::Subscription"), jsii.Number(0))
		full.template.ResourceCountIs(jsii.String("AWS::SNS::Subscription"), jsii.Number(2))
		full.template.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), map[string]any{"Protocol": "email", "Endpoint": "oncall@example.com"})
	})
}

func TestDashboardShowsTheEmfMetricsPerProvider(t *testing.T) {
	// GIVEN the stack WHEN synthesised THEN the dashboard graphs every outcome of every provider
	needsSynth(t)
	dashboards := dflt.resources("AWS::CloudWatch::Dashboard")
	if len(dashboards) != 1 {
		t.Fatalf("want 1 dashboard, got %d", len(dashboards))
	}
	for _, d := range dashboards {
		body := toJSON(props(d)["DashboardBody"])
		for _, p := range Providers {
			for _, o := range Outcomes {
				if !strings.Contains(body, fmt.Sprintf(`\"provider\",\"%s\",\"outcome\",\"%s\"`, p.Name, o)) &&
					!strings.Contains(body, fmt.Sprintf(`\"outcome\",\"%s\",\"provider\",\"%s\"`, o, p.Name)) {
					t.Errorf("dashboard lacks %s/%s", p.Name, o)
				}
			}
			if !strings.Contains(body, p.Name+": latency") {
				t.Errorf("dashboard lacks %s latency", p.Name)
			}
		}
	}
}

// --- outputs ------------------------------------------------------------------------------

func TestOutputs(t *testing.T) {
	// GIVEN the stack WHEN synthesised THEN it outputs the API URL, each provider's webhook URL
	// with placeholders, queue and DLQ URLs and ARNs, secret ARNs, and the table name
	needsSynth(t)
	outputs := dflt.json["Outputs"].(map[string]any)
	// (the operator tools read those the contract names)
	want := []string{"ApiUrl", contract.OutputTable, "AlarmTopicArn", "DashboardName"}
	for _, p := range Providers {
		for _, s := range []string{"WebhookUrl", contract.OutputQueueURL, "QueueArn", contract.OutputDeadLetterQueueURL, "DeadLetterQueueArn", "SecretArn", contract.OutputFunctionName} {
			want = append(want, p.Title+s)
		}
	}
	for _, k := range want {
		if outputs[k] == nil {
			t.Errorf("missing output %s", k)
		}
	}
	// AND those values are the resources the tools look for
	values := map[string]any{contract.OutputTable: ref(dflt.logicalID(t, "AWS::DynamoDB::Table", "EventStore"))}
	for _, p := range Providers {
		values[p.Title+contract.OutputFunctionName] = ref(FunctionLogicalID(p))
		values[p.Title+contract.OutputQueueURL] = ref(dflt.logicalID(t, "AWS::SQS::Queue", p.Title+"Queue"))
		values[p.Title+contract.OutputDeadLetterQueueURL] = ref(dflt.logicalID(t, "AWS::SQS::Queue", p.Title+"DeadLetterQueue"))
	}
	for k, v := range values {
		if o, _ := outputs[k].(map[string]any); toJSON(o["Value"]) != toJSON(v) {
			t.Errorf("output %s = %v, want %v", k, outputs[k], v)
		}
	}
	for _, p := range Providers {
		v := toJSON(outputs[p.Title+"WebhookUrl"])
		if !strings.Contains(v, p.Routes[0][1:]) {
			t.Errorf("%sWebhookUrl = %s, want it to end in %s", p.Title, v, p.Routes[0])
		}
	}
}

// --- cdk-nag and cfn-lint -----------------------------------------------------------------

func TestNoUnsuppressedNagFindings(t *testing.T) {
	// GIVEN the AwsSolutions checks WHEN the stacks are synthesised THEN no finding is left
	// unsuppressed (each suppression is justified in nag.go)
	needsSynth(t)
	for _, s := range everyStack() {
		ann := assertions.Annotations_FromStack(s.stack.Stack)
		for _, level := range []string{"error", "warning"} {
			var found *[]*cxapi.SynthesisMessage
			if level == "error" {
				found = ann.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
			} else {
				found = ann.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
			}
			for _, m := range *found {
				t.Errorf("%s %s: %s %v", *s.stack.StackName(), level, *m.Id, m.Entry.Data)
			}
		}
	}
}

func TestSamEnvFileMatchesTheFunctions(t *testing.T) {
	// GIVEN infra/sam-env.json WHEN compared with the synthesised functions THEN it names each
	// function by its logical id and overrides exactly the variables the template declares
	// (the SAM CLI ignores any other)
	needsSynth(t)
	raw, err := os.ReadFile(filepath.Join("..", "sam-env.json"))
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]map[string]string
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	fns := dflt.resources("AWS::Lambda::Function")
	if len(env) != len(fns) {
		t.Errorf("sam-env.json has %d functions, template %d", len(env), len(fns))
	}
	for id, fn := range fns {
		vars := props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)
		if len(env[id]) != len(vars) {
			t.Errorf("%s: sam-env.json %v, template %v", id, env[id], vars)
		}
		for k := range env[id] {
			if _, ok := vars[k]; !ok {
				t.Errorf("%s: %s is not in the template", id, k)
			}
		}
	}
}

// aliasFunction resolves a reference to a live alias (Ref <Title>LiveAlias, the alias's ARN) to
// the logical id of the function it belongs to; it fails the test for anything else.
func (s synthesized) aliasFunction(t *testing.T, v any) string {
	t.Helper()
	r, _ := v.(map[string]any)
	id, _ := r["Ref"].(string)
	alias, ok := s.resources("AWS::Lambda::Alias")[id]
	if !ok {
		t.Errorf("%s is not a reference to an alias", toJSON(v))
		return ""
	}
	if props(alias)["Name"] != LiveAliasName {
		t.Errorf("%s: alias %v, want %s", id, props(alias)["Name"], LiveAliasName)
	}
	fn, _ := props(alias)["FunctionName"].(map[string]any)["Ref"].(string)
	return fn
}

// routeCount is how many routes the provider table has.
func routeCount() int {
	n := 0
	for _, p := range Providers {
		n += len(p.Routes)
	}
	return n
}

func TestEveryAlarmHasItsRunbook(t *testing.T) {
	// GIVEN every alarm of the template (the example consumer's included) WHEN docs/DEPLOY.md
	// section 8 says what it measures and docs/OPERATIONS.md what to do THEN both name it, a
	// provider's alarm as <P>… and <Title>…
	needsSynth(t)
	read := func(name string) string {
		raw, err := os.ReadFile(filepath.Join("..", "..", "docs", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(raw)
	}
	deploy, ops := read("DEPLOY.md"), read("OPERATIONS.md")
	seen := map[string]bool{}
	for _, s := range []synthesized{dflt, cons} {
		for id := range s.resources("AWS::CloudWatch::Alarm") {
			name := strings.TrimPrefix(id, "Monitoring")
			if name == id || len(name) <= 8 {
				t.Errorf("alarm %s: not the monitoring construct's", id)
				continue
			}
			name = name[:len(name)-8] // the logical id's hash
			generic := name
			for _, p := range Providers {
				if rest, ok := strings.CutPrefix(name, p.Title); ok {
					generic = "<>" + rest
				}
			}
			if seen[generic] {
				continue
			}
			seen[generic] = true
			inDeploy, inOps := strings.ReplaceAll(generic, "<>", "<P>"), strings.ReplaceAll(generic, "<>", "<Title>")
			if !strings.Contains(deploy, "`"+inDeploy+"`") {
				t.Errorf("docs/DEPLOY.md does not name the alarm %s", inDeploy)
			}
			if !strings.Contains(ops, "`"+inOps+"`") {
				t.Errorf("docs/OPERATIONS.md does not name the alarm %s", inOps)
			}
		}
	}
	if len(seen) < 10 {
		t.Errorf("only %d alarm names found: %v", len(seen), seen)
	}
}
