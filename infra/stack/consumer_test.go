package stack

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"webhooks/infra/spec"
)

// The example consumer: cons has it on with batch size 5, maximum concurrency 7 and replays
// "reprocess" (idempotency by default); consBare has it on with idempotency off, all given as
// `-c` strings. See TestMain.

// isConsumerID reports whether id is one of the logical ids the example consumer adds (its construct and its alarm).
func isConsumerID(id string) bool {
	return strings.HasPrefix(id, "ExampleConsumer") || strings.HasPrefix(id, "MonitoringExampleConsumer")
}

func getAtt(id, attr string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{id, attr}}
}

func TestExampleConsumerIsOffByDefault(t *testing.T) {
	// GIVEN the default context WHEN synthesised THEN nothing of the example consumer exists
	needsSynth(t)
	for id, r := range dflt.json["Resources"].(map[string]any) {
		if isConsumerID(id) {
			t.Errorf("default stack has %s (%v)", id, r.(map[string]any)["Type"])
		}
	}
	if n := len(dflt.resources("AWS::Lambda::EventSourceMapping")); n != 0 {
		t.Errorf("default stack has %d event source mappings", n)
	}
	if n := len(dflt.resources("AWS::Lambda::Function")); n != len(Providers) {
		t.Errorf("default stack has %d functions", n)
	}
	if n := len(dflt.resources("AWS::DynamoDB::Table")); n != 1 {
		t.Errorf("default stack has %d tables", n)
	}
	for k := range dflt.json["Outputs"].(map[string]any) {
		if strings.HasPrefix(k, "ExampleConsumer") {
			t.Errorf("default stack outputs %s", k)
		}
	}
	// AND switching it on adds its own resources and changes no other, except the dashboard's
	// alarm-status widget, which lists its alarm too
	for _, on := range []synthesized{cons, consBare} {
		name := *on.stack.StackName()
		onRes := on.json["Resources"].(map[string]any)
		for id, r := range dflt.json["Resources"].(map[string]any) {
			typ := r.(map[string]any)["Type"]
			if typ == "AWS::CloudWatch::Dashboard" || typ == "AWS::CDK::Metadata" {
				continue
			}
			if toJSON(onRes[id]) != toJSON(r) {
				t.Errorf("%s: %s (%v) differs from the default stack's", name, id, typ)
			}
		}
		for id := range onRes {
			if _, ok := dflt.json["Resources"].(map[string]any)[id]; !ok && !isConsumerID(id) {
				t.Errorf("%s: unexpected new resource %s", name, id)
			}
		}
		for k, v := range dflt.json["Outputs"].(map[string]any) {
			if toJSON(on.json["Outputs"].(map[string]any)[k]) != toJSON(v) {
				t.Errorf("%s: output %s differs", name, k)
			}
		}
	}
}

// consumerFunction returns the logical id and properties of the example consumer's function.
func consumerFunction(t *testing.T, s synthesized) (string, map[string]any) {
	t.Helper()
	id := s.logicalID(t, "AWS::Lambda::Function", "ExampleConsumerFunction")
	return id, props(s.resources("AWS::Lambda::Function")[id])
}

func TestExampleConsumerFunction(t *testing.T) {
	// GIVEN the example consumer on WHEN synthesised THEN one more function: the example's
	// bootstrap on arm64, logging JSON to its own encrypted log group with the stack's
	// retention, timed out well within the queues' visibility timeout
	needsSynth(t)
	if spec.ConsumerTimeout*6 > spec.Queue.VisibilityTimeout {
		t.Errorf("timeout %s: the queues' visibility timeout %s is under six times it", spec.ConsumerTimeout, spec.Queue.VisibilityTimeout)
	}
	key := cons.logicalID(t, "AWS::KMS::Key", "DataKey")
	for _, s := range []synthesized{cons, consBare} {
		if n := len(s.resources("AWS::Lambda::Function")); n != len(Providers)+1 {
			t.Errorf("want %d functions, got %d", len(Providers)+1, n)
		}
		id, p := consumerFunction(t, s)
		logGroup := s.logicalID(t, "AWS::Logs::LogGroup", "ExampleConsumerLogGroup")
		want := map[string]any{
			"Runtime":       "provided.al2023",
			"Architectures": []any{"arm64"},
			"Handler":       "bootstrap",
			"MemorySize":    float64(ExampleConsumerMemoryMB),
			"Timeout":       float64(ExampleConsumerTimeoutSeconds),
			"LoggingConfig": map[string]any{"ApplicationLogLevel": "INFO", "LogFormat": "JSON", "LogGroup": ref(logGroup), "SystemLogLevel": "WARN"},
		}
		for k, v := range want {
			if toJSON(p[k]) != toJSON(v) {
				t.Errorf("%s: %s = %s, want %s", id, k, toJSON(p[k]), toJSON(v))
			}
		}
		md, _ := s.resources("AWS::Lambda::Function")[id]["Metadata"].(map[string]any)
		if path, _ := md["aws:asset:path"].(string); path == "" {
			t.Errorf("%s: no asset metadata %v", id, md)
		}
		lg := s.resources("AWS::Logs::LogGroup")[logGroup]
		if lp := props(lg); lp["RetentionInDays"] != 30.0 || toJSON(lp["KmsKeyId"]) != toJSON(getAtt(key, "Arn")) || lg["DeletionPolicy"] != "Delete" {
			t.Errorf("%s: %v", logGroup, lg)
		}
	}
	// AND its environment is the example's: the replay policy, and the table with idempotency
	_, p := consumerFunction(t, cons)
	table := cons.logicalID(t, "AWS::DynamoDB::Table", "ExampleConsumerIdempotencyTable")
	if got, want := toJSON(p["Environment"]), toJSON(map[string]any{"Variables": map[string]any{
		EnvConsumerIdempotencyTable: ref(table), EnvConsumerReplays: "reprocess",
	}}); got != want {
		t.Errorf("environment %s, want %s", got, want)
	}
	_, p = consumerFunction(t, consBare)
	if got, want := toJSON(p["Environment"]), `{"Variables":{"CONSUMER_REPLAYS":"deduplicate"}}`; got != want {
		t.Errorf("environment without idempotency %s, want %s", got, want)
	}
}

func TestExampleConsumerReadsEveryQueue(t *testing.T) {
	needsSynth(t)
	for _, c := range []struct {
		s                  synthesized
		batch, concurrency float64
	}{
		// GIVEN batch size 5 and maximum concurrency 7, and the defaults (1 and 2)
		{cons, 5, 7},
		{consBare, DefaultExampleConsumerBatchSize, DefaultExampleConsumerMaxConcurrency},
	} {
		// WHEN synthesised THEN one mapping per provider queue (never a dead-letter queue)
		// into the function, reporting batch item failures, with that batch size and maximum
		// concurrency, and no batching window (FIFO); nothing else but the stack's tags
		fn, _ := consumerFunction(t, c.s)
		var got, want []string
		for _, p := range Providers {
			want = append(want, toJSON(getAtt(c.s.logicalID(t, "AWS::SQS::Queue", p.Title+"Queue"), "Arn")))
		}
		esms := c.s.resources("AWS::Lambda::EventSourceMapping")
		for id, m := range esms {
			p := props(m)
			got = append(got, toJSON(p["EventSourceArn"]))
			keys := make([]string, 0, len(p))
			for k := range p {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if w := []string{"BatchSize", "EventSourceArn", "FunctionName", "FunctionResponseTypes", "ScalingConfig", "Tags"}; !slices.Equal(keys, w) {
				t.Errorf("%s: properties %v, want %v", id, keys, w)
			}
			if toJSON(p["FunctionName"]) != toJSON(ref(fn)) || toJSON(p["FunctionResponseTypes"]) != `["ReportBatchItemFailures"]` ||
				p["BatchSize"] != c.batch || toJSON(p["ScalingConfig"]) != toJSON(map[string]any{"MaximumConcurrency": c.concurrency}) {
				t.Errorf("%s: %s", id, toJSON(p))
			}
			// Created after the role's policy: Lambda checks its access to the queue.
			if !strings.Contains(toJSON(m["DependsOn"]), "ExampleConsumerRoleDefaultPolicy") {
				t.Errorf("%s: DependsOn %v", id, m["DependsOn"])
			}
		}
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("mappings read %v, want %v", got, want)
		}
	}
}

func TestExampleConsumerRoleIsLeastPrivilege(t *testing.T) {
	needsSynth(t)
	for _, c := range []struct {
		s     synthesized
		table bool
	}{{cons, true}, {consBare, false}} {
		// GIVEN the example consumer on, with and without idempotency WHEN synthesised THEN its
		// role has no managed policy and allows exactly: writing to its own log group; receive,
		// delete, change visibility and attributes on the four provider queues; decrypt with the
		// data key through SQS; and with idempotency, put/get/delete on its table and the key
		// through DynamoDB
		_, fp := consumerFunction(t, c.s)
		roleID := fp["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
		if mp := props(c.s.resources("AWS::IAM::Role")[roleID])["ManagedPolicyArns"]; mp != nil {
			t.Errorf("managed policies %v", mp)
		}
		key := toJSON(getAtt(c.s.logicalID(t, "AWS::KMS::Key", "DataKey"), "Arn"))
		logGroup := toJSON(getAtt(c.s.logicalID(t, "AWS::Logs::LogGroup", "ExampleConsumerLogGroup"), "Arn"))
		var queues []string
		for _, p := range Providers {
			queues = append(queues, toJSON(getAtt(c.s.logicalID(t, "AWS::SQS::Queue", p.Title+"Queue"), "Arn")))
		}
		sort.Strings(queues)
		type stmt struct{ actions, resources, condition string }
		want := map[string]stmt{
			"OwnLogGroup":     {"logs:CreateLogStream,logs:PutLogEvents", logGroup, "null"},
			"ConsumeQueues":   {"sqs:ChangeMessageVisibility,sqs:DeleteMessage,sqs:GetQueueAttributes,sqs:ReceiveMessage", strings.Join(queues, ","), "null"},
			"DecryptMessages": {"kms:Decrypt", key, `{"StringEquals":{"kms:ViaService":{"Fn::Join":["",["sqs.",{"Ref":"AWS::Region"},".amazonaws.com"]]}}}`},
		}
		if c.table {
			table := toJSON(getAtt(c.s.logicalID(t, "AWS::DynamoDB::Table", "ExampleConsumerIdempotencyTable"), "Arn"))
			want["IdempotencyTable"] = stmt{"dynamodb:DeleteItem,dynamodb:GetItem,dynamodb:PutItem", table, "null"}
			want["IdempotencyTableKey"] = stmt{"kms:Decrypt,kms:GenerateDataKey", key, `{"StringEquals":{"kms:ViaService":{"Fn::Join":["",["dynamodb.",{"Ref":"AWS::Region"},".amazonaws.com"]]}}}`}
		}
		got := map[string]stmt{}
		for _, st := range c.s.policyStatements(roleID) {
			if st["Effect"] != "Allow" {
				t.Errorf("statement %v", st)
			}
			res := strs(st["Resource"])
			sort.Strings(res)
			got[st["Sid"].(string)] = stmt{strings.Join(actions(st), ","), strings.Join(res, ","), toJSON(st["Condition"])}
			for _, r := range res {
				if r == "*" || r == `"*"` {
					t.Errorf("%v: wildcard resource", st["Sid"])
				}
			}
		}
		if len(got) != len(want) {
			t.Errorf("statements %v, want %v", got, want)
		}
		for sid, w := range want {
			if got[sid] != w {
				t.Errorf("%s:\n got %+v\nwant %+v", sid, got[sid], w)
			}
		}
	}
}

func TestExampleConsumerIdempotencyTable(t *testing.T) {
	// GIVEN the example consumer with idempotency WHEN synthesised THEN a table keyed by pk
	// (string) only, TTL on expires_at, on-demand, point-in-time recovery, encrypted with the
	// data key, deleted with the example
	needsSynth(t)
	id := cons.logicalID(t, "AWS::DynamoDB::Table", "ExampleConsumerIdempotencyTable")
	tbl := cons.resources("AWS::DynamoDB::Table")[id]
	p := props(tbl)
	key := cons.logicalID(t, "AWS::KMS::Key", "DataKey")
	want := map[string]any{
		"KeySchema":                        []any{map[string]any{"AttributeName": "pk", "KeyType": "HASH"}},
		"AttributeDefinitions":             []any{map[string]any{"AttributeName": "pk", "AttributeType": "S"}},
		"TimeToLiveSpecification":          map[string]any{"AttributeName": "expires_at", "Enabled": true},
		"BillingMode":                      "PAY_PER_REQUEST",
		"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
		"SSESpecification":                 map[string]any{"KMSMasterKeyId": getAtt(key, "Arn"), "SSEEnabled": true, "SSEType": "KMS"},
	}
	for k, v := range want {
		if toJSON(p[k]) != toJSON(v) {
			t.Errorf("%s = %s, want %s", k, toJSON(p[k]), toJSON(v))
		}
	}
	if tbl["DeletionPolicy"] != "Delete" || p["TableName"] != nil {
		t.Errorf("table %v", tbl)
	}
	// AND without idempotency there is no such table
	if n := len(consBare.resources("AWS::DynamoDB::Table")); n != 1 {
		t.Errorf("without idempotency: %d tables", n)
	}
}

func TestExampleConsumerOutputsAndAlarm(t *testing.T) {
	// GIVEN the example consumer on WHEN synthesised THEN it outputs the function name and,
	// with idempotency, the table name
	needsSynth(t)
	fn, _ := consumerFunction(t, cons)
	table := cons.logicalID(t, "AWS::DynamoDB::Table", "ExampleConsumerIdempotencyTable")
	outputs := cons.json["Outputs"].(map[string]any)
	for k, v := range map[string]any{"ExampleConsumerFunctionName": ref(fn), "ExampleConsumerIdempotencyTableName": ref(table)} {
		if o, _ := outputs[k].(map[string]any); toJSON(o["Value"]) != toJSON(v) {
			t.Errorf("output %s = %v, want %v", k, outputs[k], v)
		}
	}
	if outputs := consBare.json["Outputs"].(map[string]any); outputs["ExampleConsumerFunctionName"] == nil || outputs["ExampleConsumerIdempotencyTableName"] != nil {
		t.Errorf("without idempotency: outputs %v / %v", outputs["ExampleConsumerFunctionName"], outputs["ExampleConsumerIdempotencyTableName"])
	}
	// AND an alarm on its errors notifies the alarm topic
	topic := cons.logicalID(t, "AWS::SNS::Topic", "MonitoringAlarmTopic")
	id := cons.logicalID(t, "AWS::CloudWatch::Alarm", "MonitoringExampleConsumerErrors")
	got := props(cons.resources("AWS::CloudWatch::Alarm")[id])
	for k, v := range map[string]any{
		"Namespace":    "AWS/Lambda",
		"MetricName":   "Errors",
		"Dimensions":   []any{map[string]any{"Name": "FunctionName", "Value": ref(fn)}},
		"Statistic":    "Sum",
		"Threshold":    1.0,
		"AlarmActions": []any{ref(topic)},
		"OKActions":    []any{ref(topic)},
	} {
		if toJSON(got[k]) != toJSON(v) {
			t.Errorf("%s: %s = %s, want %s", id, k, toJSON(got[k]), toJSON(v))
		}
	}
}
