package stack

// Deployed as tested (DESIGN.md): the stack `make run` brings up on a local AWS
// API is compared with the template `cdk deploy` would deploy (synthesised with
// cdk.json's own context and the example consumer on), attribute by attribute.
// Every property of every compared resource is either compared or listed in
// localDifferences with its reason: a property nobody has looked at fails the
// test, so a new setting cannot drift unseen.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"webhooks/infra/spec"
	"webhooks/internal/awskit/awstest"
	"webhooks/internal/localrun"
)

// localDifferences are the template's properties the local stack does not
// reproduce, by resource type, each with the reason it cannot (or need not).
var localDifferences = map[string]map[string]string{
	"AWS::SQS::Queue": {
		"KmsMasterKeyId":               "KMS: the local API does not encrypt; the functions never name the key (SQS uses it on their behalf)",
		"KmsDataKeyReusePeriodSeconds": "KMS, as above",
		"Tags":                         "cost-allocation tags: nothing reads them at run time",
	},
	"AWS::DynamoDB::Table": {
		"SSESpecification":                 "KMS: the local API does not encrypt; the functions never name the key",
		"PointInTimeRecoverySpecification": "backups: no request a function makes behaves differently",
		"DeletionProtectionEnabled":        "kept off locally so that tests and a reset can delete their tables; guards an operator's mistake, not a behaviour",
		"Tags":                             "cost-allocation tags: nothing reads them at run time",
	},
	"AWS::Lambda::EventSourceMapping": {
		"Tags": "cost-allocation tags: nothing reads them at run time",
	},
	"AWS::Events::Rule": {
		"Description": "text",
		"Tags":        "cost-allocation tags: nothing reads them at run time",
	},
	"AWS::Lambda::Function": {
		"Architectures": "CPU architecture: arm64 on Lambda, the host's locally (the same Go source, cross-compiled)",
		"TracingConfig": "X-Ray: no daemon locally; the functions make no X-Ray call themselves",
		"Code":          "the same source, built for arm64 into build/ and for the host into .run/bin",
		"Role":          "IAM: the local run calls the local API with the local credentials; the role's policy is exercised by TestFunctionsRunWithTheirRolesPolicy (iam_test.go)",
		"LoggingConfig": "the emulator has no log settings: the functions log JSON with slog themselves, and Lambda's level filter only drops lines",
		"Runtime":       "provided.al2023 on Lambda; the emulator runs the same bootstrap directly",
		"Handler":       "bootstrap in both",
		"Description":   "text",
		"Tags":          "cost-allocation tags: nothing reads them at run time",
	},
}

// cdkJSONContext is the context `cdk deploy` reads from cdk.json.
func cdkJSONContext(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "cdk.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Context
}

// parity is one comparison's findings.
type parity struct {
	t        *testing.T
	problems []string
}

func (p *parity) errorf(format string, args ...any) {
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

// checkProperties fails on any property of res (of type typ) that is neither
// compared nor a listed difference.
func (p *parity) checkProperties(id, typ string, res map[string]any, compared ...string) {
	for name := range props(res) {
		if slices.Contains(compared, name) {
			continue
		}
		if _, ok := localDifferences[typ][name]; ok {
			continue
		}
		p.errorf("%s (%s): property %s is neither compared with the local stack nor a listed difference", id, typ, name)
	}
}

func num(v any) string {
	switch v := v.(type) {
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(v)
}

// The local stack is the template's: queues, dead-letter queues, tables,
// functions, schedules, routes and the consumer's mappings.
func TestLocalStackIsTheTemplates(t *testing.T) {
	needsSynth(t)
	moto := awstest.MotoOrSkip(t)
	ctxValues := cdkJSONContext(t)
	ctxValues[CtxAssetDir] = filepath.Join(filepath.Dir(filepath.Dir(dflt.path)), "build")
	ctxValues[CtxExampleConsumer] = true
	tpl := synth(filepath.Join(t.TempDir(), "parity"), ctxValues)

	ctx := context.Background()
	bin := t.TempDir() // no binaries: the resources only, no function runs
	stack, err := localrun.Start(ctx, localrun.Config{
		SecretsFile: filepath.Join("..", "..", "events", "dev-secrets.json"),
		BinDir:      bin,
		AWS:         localrun.AWSEnv{Endpoint: moto.Endpoint},
		Emulator:    filepath.Join(bin, "no-emulator"),
		Stage:       num(ctxValues[CtxStage]),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Stop()
	if err := stack.CreateConsumerTable(ctx, stack.ConsumerTable()); err != nil {
		t.Fatal(err)
	}
	p := &parity{t: t}
	p.compare(ctx, tpl, stack)
	sort.Strings(p.problems)
	for _, pr := range p.problems {
		t.Error(pr)
	}
}

func (p *parity) compare(ctx context.Context, tpl synthesized, s *localrun.Stack) {
	// Logical ids resolved to the local resources, by what the template asks of
	// them: Ref, or one named attribute. Anything else resolves to nothing (and
	// fails the comparison that needed it).
	local := map[string]map[string]string{} // logical id → "Ref" or attribute → local value
	set := func(id, what, v string) {
		if local[id] == nil {
			local[id] = map[string]string{}
		}
		local[id][what] = v
	}
	queues := tpl.resources("AWS::SQS::Queue")
	tables := tpl.resources("AWS::DynamoDB::Table")
	secrets := tpl.resources("AWS::SecretsManager::Secret")
	functions := tpl.resources("AWS::Lambda::Function")
	receiverIDs := map[string]string{} // logical id → provider
	for _, pv := range Providers {
		lp := s.Providers[pv.Name]
		for id := range queues {
			if !strings.HasPrefix(id, pv.Title) {
				continue
			}
			url := lp.QueueURL
			if strings.Contains(id, "DeadLetterQueue") {
				url = lp.DLQURL
			}
			set(id, "Ref", url) // a queue's Ref is its URL
			set(id, "QueueUrl", url)
		}
		for id := range secrets {
			if strings.HasPrefix(id, pv.Title) {
				set(id, "Ref", lp.SecretID) // a secret's Ref is its ARN; locally its name, which the functions take alike
			}
		}
		receiverIDs[FunctionLogicalID(pv)] = pv.Name
	}
	for id := range tables {
		if strings.Contains(id, "IdempotencyTable") {
			set(id, "Ref", s.ConsumerTable())
		} else {
			set(id, "Ref", s.Table)
		}
	}
	resolve := func(v any) (string, bool) {
		switch v := v.(type) {
		case string:
			return v, true
		case map[string]any:
			if r, ok := v["Ref"].(string); ok {
				l, found := local[r]["Ref"]
				return l, found
			}
			if g, ok := v["Fn::GetAtt"].([]any); ok && len(g) == 2 {
				l, found := local[fmt.Sprint(g[0])][fmt.Sprint(g[1])]
				return l, found
			}
		}
		return "", false
	}

	// Queues and dead-letter queues.
	if len(queues) != 2*len(Providers) {
		p.errorf("%d queues in the template, want %d", len(queues), 2*len(Providers))
	}
	for id, res := range queues {
		url, ok := local[id]["Ref"]
		if !ok {
			p.errorf("queue %s has no local counterpart", id)
			continue
		}
		out, err := s.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
		if err != nil {
			p.errorf("queue %s: %v", id, err)
			continue
		}
		got := out.Attributes
		pr := props(res)
		compared := []string{"FifoQueue", "VisibilityTimeout", "MessageRetentionPeriod", "MaximumMessageSize", "DeduplicationScope", "FifoThroughputLimit", "ContentBasedDeduplication", "RedrivePolicy"}
		for _, name := range compared[:7] {
			want, inTemplate := pr[name]
			switch {
			case !inTemplate && got[name] != "" && name != "ContentBasedDeduplication":
				p.errorf("queue %s: %s is %q locally and unset in the template", id, name, got[name])
			case inTemplate && num(want) != got[name]:
				p.errorf("queue %s: %s is %s in the template and %q locally", id, name, num(want), got[name])
			}
		}
		rp, inTemplate := pr["RedrivePolicy"].(map[string]any)
		var lrp struct {
			DeadLetterTargetArn string `json:"deadLetterTargetArn"`
			MaxReceiveCount     any    `json:"maxReceiveCount"`
		}
		if got["RedrivePolicy"] != "" {
			if err := json.Unmarshal([]byte(got["RedrivePolicy"]), &lrp); err != nil {
				p.errorf("queue %s: local redrive policy %q: %v", id, got["RedrivePolicy"], err)
			}
		}
		switch {
		case !inTemplate && got["RedrivePolicy"] != "":
			p.errorf("queue %s: a redrive policy locally and none in the template", id)
		case inTemplate:
			if num(rp["maxReceiveCount"]) != num(lrp.MaxReceiveCount) {
				p.errorf("queue %s: maxReceiveCount %s in the template, %v locally", id, num(rp["maxReceiveCount"]), lrp.MaxReceiveCount)
			}
			dlqID := ""
			if g, ok := rp["deadLetterTargetArn"].(map[string]any)["Fn::GetAtt"].([]any); ok && len(g) == 2 {
				dlqID = fmt.Sprint(g[0])
			}
			dlqURL := local[dlqID]["Ref"]
			if dlqURL == "" || !strings.HasSuffix(lrp.DeadLetterTargetArn, dlqURL[strings.LastIndex(dlqURL, "/")+1:]) {
				p.errorf("queue %s: dead-letter target %v in the template, %s locally", id, rp["deadLetterTargetArn"], lrp.DeadLetterTargetArn)
			}
		}
		p.checkProperties(id, "AWS::SQS::Queue", res, compared...)
	}

	// Tables: keys, indexes and projections, TTL, billing.
	for id, res := range tables {
		name := local[id]["Ref"]
		out, err := s.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			p.errorf("table %s (%s): %v", id, name, err)
			continue
		}
		pr := props(res)
		td := out.Table
		var keys []any
		for _, k := range td.KeySchema {
			keys = append(keys, map[string]any{"AttributeName": aws.ToString(k.AttributeName), "KeyType": string(k.KeyType)})
		}
		if toJSON(keys) != toJSON(pr["KeySchema"]) {
			p.errorf("table %s: key schema %s in the template, %s locally", id, toJSON(pr["KeySchema"]), toJSON(keys))
		}
		defs := map[string]string{}
		for _, d := range td.AttributeDefinitions {
			defs[aws.ToString(d.AttributeName)] = string(d.AttributeType)
		}
		wantDefs := map[string]string{}
		for _, d := range pr["AttributeDefinitions"].([]any) {
			m := d.(map[string]any)
			wantDefs[fmt.Sprint(m["AttributeName"])] = fmt.Sprint(m["AttributeType"])
		}
		if toJSON(defs) != toJSON(wantDefs) {
			p.errorf("table %s: attributes %v in the template, %v locally", id, wantDefs, defs)
		}
		var idx []any
		for _, g := range td.GlobalSecondaryIndexes {
			var ks []any
			for _, k := range g.KeySchema {
				ks = append(ks, map[string]any{"AttributeName": aws.ToString(k.AttributeName), "KeyType": string(k.KeyType)})
			}
			idx = append(idx, map[string]any{"IndexName": aws.ToString(g.IndexName), "KeySchema": ks, "Projection": map[string]any{"ProjectionType": string(g.Projection.ProjectionType)}})
		}
		if want, _ := pr["GlobalSecondaryIndexes"].([]any); toJSON(idx) != toJSON(want) {
			p.errorf("table %s: indexes %s in the template, %s locally", id, toJSON(want), toJSON(idx))
		}
		billing := "PROVISIONED"
		if td.BillingModeSummary != nil {
			billing = string(td.BillingModeSummary.BillingMode)
		}
		if num(pr["BillingMode"]) != billing {
			p.errorf("table %s: billing %v in the template, %s locally", id, pr["BillingMode"], billing)
		}
		ttl, err := s.DynamoDB.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
		if err != nil {
			p.errorf("table %s: %v", id, err)
		} else {
			want, _ := pr["TimeToLiveSpecification"].(map[string]any)
			got := ttl.TimeToLiveDescription
			if want == nil || got == nil || fmt.Sprint(want["AttributeName"]) != aws.ToString(got.AttributeName) || got.TimeToLiveStatus != "ENABLED" || want["Enabled"] != true {
				p.errorf("table %s: TTL %v in the template, %+v locally", id, want, got)
			}
		}
		p.checkProperties(id, "AWS::DynamoDB::Table", res, "KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes", "BillingMode", "TimeToLiveSpecification")
	}

	// Functions: timeout, memory, environment (resolved to the local resources).
	for id, res := range functions {
		pr := props(res)
		envT, _ := pr["Environment"].(map[string]any)["Variables"].(map[string]any)
		var timeout, memory string
		var env map[string]string
		if prov, ok := receiverIDs[id]; ok {
			timeout, memory = strconv.Itoa(int(s.FunctionTimeout.Seconds())), strconv.Itoa(s.FunctionMemoryMB)
			env = s.FunctionEnv(s.Providers[prov])
			for k := range s.AWS.Vars() {
				delete(env, k)
			}
		} else if strings.Contains(id, "ExampleConsumer") {
			// localrun.StartConsumer's defaults, with what cmd/webhooks-local gives it.
			timeout, memory = strconv.Itoa(int(spec.ConsumerTimeout.Seconds())), strconv.Itoa(spec.ConsumerMemoryMB)
			env = localrun.ConsumerEnv(s.ConsumerTable())
		} else {
			// A function of CDK's own (log retention, custom resources): nothing local runs it.
			continue
		}
		if num(pr["Timeout"]) != timeout || num(pr["MemorySize"]) != memory {
			p.errorf("function %s: timeout %v s and memory %v MB in the template, %s s and %s MB locally", id, pr["Timeout"], pr["MemorySize"], timeout, memory)
		}
		for k, v := range envT {
			lv, ok := env[k]
			rv, resolved := resolve(v)
			switch {
			case !ok:
				p.errorf("function %s: %s is set in the template and not locally", id, k)
			case !resolved:
				p.errorf("function %s: %s = %s: no local resource for it", id, k, toJSON(v))
			case rv != lv:
				p.errorf("function %s: %s is %q in the template and %q locally", id, k, rv, lv)
			}
		}
		for k := range env {
			if _, ok := envT[k]; !ok {
				p.errorf("function %s: %s is set locally and not in the template", id, k)
			}
		}
		p.checkProperties(id, "AWS::Lambda::Function", res, "Timeout", "MemorySize", "Environment")
	}

	// The redrive schedules: the expression and the command of each rule.
	want := map[string]int{}
	for _, run := range localrun.DefaultRuns() {
		b, _ := json.Marshal(run.Command())
		want[run.Schedule.Expression+" "+string(b)] += len(Providers)
	}
	got := map[string]int{}
	for _, res := range tpl.resources("AWS::Events::Rule") {
		pr := props(res)
		for _, tg := range pr["Targets"].([]any) {
			var cmd any
			if err := json.Unmarshal([]byte(fmt.Sprint(tg.(map[string]any)["Input"])), &cmd); err != nil {
				p.errorf("rule input %v: %v", tg.(map[string]any)["Input"], err)
			}
			b, _ := json.Marshal(cmd)
			got[fmt.Sprint(pr["ScheduleExpression"])+" "+string(b)]++
		}
	}
	if toJSON(got) != toJSON(want) {
		p.errorf("redrive schedules: %v in the template, %v locally", got, want)
	}

	// Routes, the function each reaches, and the payload format.
	integrations := tpl.resources("AWS::ApiGatewayV2::Integration")
	var routes []string
	for id, res := range tpl.resources("AWS::ApiGatewayV2::Route") {
		pr := props(res)
		target := fmt.Sprint(pr["Target"])
		fn := ""
		for iid, ires := range integrations {
			if strings.Contains(target, iid) {
				uri := toJSON(props(ires)["IntegrationUri"])
				for _, pv := range Providers {
					if strings.Contains(uri, `"`+AliasLogicalID(pv)+`"`) || strings.Contains(uri, `"`+FunctionLogicalID(pv)+`"`) {
						fn = pv.Name
					}
				}
			}
		}
		if fn == "" {
			p.errorf("route %s (%v): no receiver function found behind %s", id, pr["RouteKey"], target)
		}
		routes = append(routes, fmt.Sprint(pr["RouteKey"])+" → "+fn)
	}
	var localRoutes []string
	for _, r := range localrun.Routes {
		localRoutes = append(localRoutes, r.Key+" → "+r.Function)
	}
	sort.Strings(routes)
	sort.Strings(localRoutes)
	if !slices.Equal(routes, localRoutes) {
		p.errorf("routes %v in the template, %v locally", routes, localRoutes)
	}
	for id, res := range integrations {
		if v := num(props(res)["PayloadFormatVersion"]); v != localrun.PayloadFormatVersion {
			p.errorf("integration %s: payload format %s, %s locally", id, v, localrun.PayloadFormatVersion)
		}
	}

	// The example consumer's event source mappings: what cmd/webhooks-local runs by default.
	mappings := tpl.resources("AWS::Lambda::EventSourceMapping")
	if len(mappings) != len(Providers) {
		p.errorf("%d event source mappings, want one per queue", len(mappings))
	}
	for id, res := range mappings {
		pr := props(res)
		conc, _ := pr["ScalingConfig"].(map[string]any)
		// Locally one batch per mapping is in flight (localrun.StartConsumer): within the
		// template's ceiling.
		maxConc, _ := strconv.Atoi(num(conc["MaximumConcurrency"]))
		if num(pr["BatchSize"]) != strconv.Itoa(spec.DefaultConsumerBatchSize) || maxConc < 1 || !strings.Contains(toJSON(pr["FunctionName"]), "ExampleConsumer") ||
			toJSON(pr["FunctionResponseTypes"]) != `["ReportBatchItemFailures"]` {
			p.errorf("mapping %s: batch %v, scaling %v, responses %v in the template; locally batch %d, one batch in flight, ReportBatchItemFailures",
				id, pr["BatchSize"], conc, pr["FunctionResponseTypes"], spec.DefaultConsumerBatchSize)
		}
		src, ok := pr["EventSourceArn"].(map[string]any)["Fn::GetAtt"].([]any)
		if !ok || len(src) != 2 || fmt.Sprint(src[1]) != "Arn" || local[fmt.Sprint(src[0])]["Ref"] == "" || strings.Contains(fmt.Sprint(src[0]), "DeadLetterQueue") {
			p.errorf("mapping %s reads %v, not a provider queue the local consumer polls", id, pr["EventSourceArn"])
		}
		p.checkProperties(id, "AWS::Lambda::EventSourceMapping", res, "BatchSize", "ScalingConfig", "FunctionResponseTypes", "EventSourceArn", "FunctionName")
	}
	for id, res := range tpl.resources("AWS::Events::Rule") {
		p.checkProperties(id, "AWS::Events::Rule", res, "ScheduleExpression", "Targets", "State")
		if st := num(props(res)["State"]); st != "ENABLED" && st != "<nil>" {
			p.errorf("rule %s is %s in the template; the local run fires every run", id, st)
		}
	}
}
