package stack

// A function role's policy from the template, made into the policy of a local
// IAM user (iam_test.go), and the IAM condition keys moto does not evaluate,
// evaluated here on every call a function made.

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"webhooks/internal/awskit"
)

// notExercised are the services of a function's role statements that no local
// call uses, each with its reason; their statements are left out of the local
// policy. Every other statement is given to moto.
var notExercised = map[string]string{
	"kms": "no KMS locally: the local queues, table and secrets are not encrypted with the data key, and in AWS a function never calls KMS itself " +
		"(SQS, DynamoDB and Secrets Manager do, on its behalf); resource and kms:ViaService asserted by TestFunctionRolesAreLeastPrivilege",
	"logs": "Lambda's own agent writes the function's stdout to its log group; locally stdout is a buffer; resource asserted by TestFunctionRolesAreLeastPrivilege",
	"xray": "the Lambda service sends the traces of active tracing; no X-Ray daemon locally",
}

// resourceStarOnly are the services whose requests moto authorises against the
// resource "*" only (it names the resource of SQS and IAM requests only; an
// ARN in a statement never matches "*"): their statements' resources are
// checked here to be the function's own resources, then given to moto as "*";
// checkCall checks each call's resource against the statement's ARNs.
var resourceStarOnly = map[string]bool{"dynamodb": true, "secretsmanager": true}

// localResource is a template resource's local counterpart.
type localResource struct {
	ref string // what Ref gives: a table's name, a queue's URL, a secret's ARN
	arn string // what GetAtt Arn gives
}

// Pseudo parameters as the local API has them (moto's default account).
var localPseudo = map[string]string{
	"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
}

// resolve turns a template value (string, Ref, Fn::GetAtt Arn, Fn::Join) into
// the local stack's; the error names what has no local counterpart.
func resolve(v any, local map[string]localResource) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case map[string]any:
		if r, ok := v["Ref"].(string); ok {
			if p, ok := localPseudo[r]; ok {
				return p, nil
			}
			if l, ok := local[r]; ok && l.ref != "" {
				return l.ref, nil
			}
			return "", fmt.Errorf("no local resource for Ref %s", r)
		}
		if g, ok := v["Fn::GetAtt"].([]any); ok && len(g) == 2 {
			if l, ok := local[fmt.Sprint(g[0])]; ok && g[1] == "Arn" && l.arn != "" {
				return l.arn, nil
			}
			return "", fmt.Errorf("no local value for GetAtt %v", g)
		}
		if j, ok := v["Fn::Join"].([]any); ok && len(j) == 2 {
			parts, _ := j[1].([]any)
			out := make([]string, len(parts))
			for i, p := range parts {
				s, err := resolve(p, local)
				if err != nil {
					return "", err
				}
				out[i] = s
			}
			return strings.Join(out, fmt.Sprint(j[0])), nil
		}
	}
	return "", fmt.Errorf("cannot resolve %s", toJSON(v))
}

// asList is a policy element (a string or a list) as a list.
func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// service is the service of a statement's actions ("" when they are of several).
func service(st map[string]any) string {
	svc := ""
	for _, a := range asList(st["Action"]) {
		s, _, _ := strings.Cut(fmt.Sprint(a), ":")
		if svc != "" && s != svc {
			return ""
		}
		svc = s
	}
	return svc
}

// localPolicy makes a role's statements (from the template) into the local
// user's: every resource resolved to the local stack's and checked to be one
// of own (service → the ARNs the function's environment names), statements of
// notExercised services left out (dropped lists them with the reason). It
// returns the statements as resolved, conditions kept (exercised: what the
// condition evaluator reads), and the policy document moto gets.
func localPolicy(stmts []map[string]any, local map[string]localResource, own map[string][]string) (exercised []map[string]any, doc string, dropped []string, problems []string) {
	var forMoto []map[string]any
	for _, st := range stmts {
		svc := service(st)
		if why, ok := notExercised[svc]; ok {
			dropped = append(dropped, fmt.Sprintf("%v: %s", actions(st), why))
			continue
		}
		if svc == "" {
			problems = append(problems, fmt.Sprintf("statement %s mixes services: %v", st["Sid"], actions(st)))
			continue
		}
		if st["Effect"] != "Allow" || st["NotAction"] != nil || st["NotResource"] != nil {
			problems = append(problems, fmt.Sprintf("statement %s: only Allow with Action and Resource is exercised: %s", st["Sid"], toJSON(st)))
			continue
		}
		var resources []any
		for _, r := range asList(st["Resource"]) {
			arn, err := resolve(r, local)
			switch {
			case err != nil:
				problems = append(problems, fmt.Sprintf("statement %s: %v", st["Sid"], err))
			case !slices.Contains(own[svc], arn):
				problems = append(problems, fmt.Sprintf("statement %s: resource %s is not one the function's environment names (%v)", st["Sid"], arn, own[svc]))
			}
			resources = append(resources, arn)
		}
		resolved := map[string]any{"Sid": st["Sid"], "Effect": "Allow", "Action": st["Action"], "Resource": resources}
		if c, ok := st["Condition"]; ok {
			resolved["Condition"] = c
		}
		exercised = append(exercised, resolved)
		m := map[string]any{"Sid": st["Sid"], "Effect": "Allow", "Action": st["Action"], "Resource": resources}
		if resourceStarOnly[svc] {
			m["Resource"] = "*"
		}
		// The condition is left to the evaluator: moto does not evaluate it
		// (it would apply the statement as if it held).
		forMoto = append(forMoto, m)
	}
	return exercised, policyDoc(forMoto), dropped, problems
}

func policyDoc(stmts []map[string]any) string {
	return toJSON(map[string]any{"Version": "2012-10-17", "Statement": stmts})
}

// withoutAction is a policy document of stmts minus action (a statement left
// with no action is dropped).
func withoutAction(stmts []map[string]any, action string) string {
	var out []map[string]any
	for _, st := range stmts {
		var keep []any
		for _, a := range asList(st["Action"]) {
			if a != action {
				keep = append(keep, a)
			}
		}
		if len(keep) == 0 {
			continue
		}
		c := map[string]any{}
		for k, v := range st {
			c[k] = v
		}
		c["Action"] = keep
		if resourceStarOnly[service(c)] {
			c["Resource"] = "*"
		}
		delete(c, "Condition")
		out = append(out, c)
	}
	return policyDoc(out)
}

// grantedActions lists the actions of stmts.
func grantedActions(stmts []map[string]any) []string {
	var out []string
	for _, st := range stmts {
		for _, a := range asList(st["Action"]) {
			if !slices.Contains(out, fmt.Sprint(a)) {
				out = append(out, fmt.Sprint(a))
			}
		}
	}
	sort.Strings(out)
	return out
}

// --- conditions -------------------------------------------------------------------------

// checkCall evaluates call against stmts as IAM would, resources and
// conditions included: some statement granting the call's action must name
// its resource (arns maps the names and URLs a request gives to ARNs) and
// hold for it. It returns why not ("" when one does).
func checkCall(call awskit.Call, stmts []map[string]any, arns map[string]string) string {
	arn, err := callResource(call, arns)
	if err != nil {
		return err.Error()
	}
	var why []string
	granted := false
	for _, st := range stmts {
		if !slices.ContainsFunc(asList(st["Action"]), func(a any) bool { return globMatch(strings.ToLower(fmt.Sprint(a)), strings.ToLower(call.Action)) }) {
			continue
		}
		granted = true
		if !slices.ContainsFunc(asList(st["Resource"]), func(r any) bool { return globMatch(fmt.Sprint(r), arn) }) {
			why = append(why, fmt.Sprintf("%s: resource %s is not in %v", st["Sid"], arn, st["Resource"]))
			continue
		}
		if reason := conditionFails(st, call); reason != "" {
			why = append(why, fmt.Sprintf("%s: %s", st["Sid"], reason))
			continue
		}
		return ""
	}
	if !granted {
		return "no statement grants " + call.Action
	}
	return strings.Join(why, "; ")
}

// callResource is the ARN of the resource a call names (its TableName,
// QueueUrl or SecretId, mapped by arns unless it is an ARN already).
func callResource(call awskit.Call, arns map[string]string) (string, error) {
	var in struct{ TableName, QueueUrl, SecretId string }
	if err := json.Unmarshal(call.Request, &in); err != nil {
		return "", fmt.Errorf("%s request is not JSON: %v", call.Action, err)
	}
	id := in.TableName + in.QueueUrl + in.SecretId
	switch {
	case strings.HasPrefix(id, "arn:"):
		return id, nil
	case arns[id] != "":
		return arns[id], nil
	}
	return "", fmt.Errorf("%s names no known resource (%q)", call.Action, id)
}

// conditionFails evaluates a statement's condition block on the call's
// context; "" when it holds. An operator or key the evaluator does not know
// fails: a new condition must be taught here, not ignored as moto would.
func conditionFails(st map[string]any, call awskit.Call) string {
	cond, _ := st["Condition"].(map[string]any)
	ctx, err := callContext(call)
	if err != nil {
		return err.Error()
	}
	ops := make([]string, 0, len(cond))
	for op := range cond {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		for key, want := range cond[op].(map[string]any) {
			values, present := ctx[key]
			if !slices.Contains(knownConditionKeys, key) {
				return fmt.Sprintf("condition key %s is not evaluated by this test (teach callContext)", key)
			}
			var patterns []string
			for _, w := range asList(want) {
				patterns = append(patterns, fmt.Sprint(w))
			}
			var match func(p, v string) bool
			base, _ := strings.CutPrefix(op, "ForAllValues:")
			switch base {
			case "StringEquals":
				match = func(p, v string) bool { return p == v }
			case "StringLike":
				match = globMatch
			default:
				return fmt.Sprintf("condition operator %s is not evaluated by this test", op)
			}
			anyMatch := func(v string) bool {
				return slices.ContainsFunc(patterns, func(p string) bool { return match(p, v) })
			}
			if strings.HasPrefix(op, "ForAllValues:") {
				// Every value must match (no value: the condition holds, as in IAM).
				for _, v := range values {
					if !anyMatch(v) {
						return fmt.Sprintf("%s %s: %q is not in %v", op, key, v, patterns)
					}
				}
				continue
			}
			if !present || len(values) != 1 || !anyMatch(values[0]) {
				return fmt.Sprintf("%s %s: %v (present %v) is not in %v", op, key, values, present, patterns)
			}
		}
	}
	return ""
}

// knownConditionKeys are the condition keys callContext gives the values of.
var knownConditionKeys = []string{"dynamodb:LeadingKeys", "dynamodb:Select", "dynamodb:Attributes"}

// callContext is the IAM request context of a DynamoDB call (the keys of
// knownConditionKeys), read from its request as DynamoDB reads it:
// LeadingKeys the partition key values of Key, Item or the key condition;
// Select the Select parameter (for Query and Scan, ALL_ATTRIBUTES when not
// given); Attributes every attribute name the request names (projection,
// filter, AttributesToGet, the item's).
func callContext(call awskit.Call) (map[string][]string, error) {
	ctx := map[string][]string{}
	if !strings.HasPrefix(call.Action, "dynamodb:") {
		return ctx, nil
	}
	var in struct {
		Key, Item                 map[string]map[string]any
		KeyConditionExpression    string
		ProjectionExpression      string
		ExpressionAttributeNames  map[string]string
		ExpressionAttributeValues map[string]map[string]any
		AttributesToGet           []string
		Select                    string
	}
	if err := json.Unmarshal(call.Request, &in); err != nil {
		return nil, fmt.Errorf("%s request is not JSON: %v", call.Action, err)
	}
	name := func(n string) string {
		if v, ok := in.ExpressionAttributeNames[n]; ok {
			return v
		}
		return n
	}
	str := func(av map[string]any) string { return fmt.Sprint(av["S"]) }
	switch {
	case in.Key != nil:
		ctx["dynamodb:LeadingKeys"] = []string{str(in.Key[PartitionKey])}
	case in.Item != nil:
		ctx["dynamodb:LeadingKeys"] = []string{str(in.Item[PartitionKey])}
	case in.KeyConditionExpression != "":
		// "<pk> = :v [AND ...]": the partition key's equality.
		m := regexp.MustCompile(`([#\w]+)\s*=\s*(:\w+)`).FindAllStringSubmatch(in.KeyConditionExpression, -1)
		for _, g := range m {
			if name(g[1]) == PartitionKey {
				ctx["dynamodb:LeadingKeys"] = []string{str(in.ExpressionAttributeValues[g[2]])}
			}
		}
		if ctx["dynamodb:LeadingKeys"] == nil {
			return nil, fmt.Errorf("%s: no partition key equality in %q", call.Action, in.KeyConditionExpression)
		}
	}
	if call.Action == "dynamodb:Query" || call.Action == "dynamodb:Scan" {
		ctx["dynamodb:Select"] = []string{cmpOr(in.Select, "ALL_ATTRIBUTES")}
	} else if in.Select != "" {
		ctx["dynamodb:Select"] = []string{in.Select}
	}
	var attrs []string
	add := func(a string) {
		if a != "" && !slices.Contains(attrs, a) {
			attrs = append(attrs, a)
		}
	}
	for _, n := range in.ExpressionAttributeNames {
		add(n)
	}
	for _, p := range strings.Split(in.ProjectionExpression, ",") {
		add(name(strings.TrimSpace(p)))
	}
	for _, a := range in.AttributesToGet {
		add(a)
	}
	for a := range in.Item {
		add(a)
	}
	sort.Strings(attrs)
	ctx["dynamodb:Attributes"] = attrs
	return ctx, nil
}

func cmpOr(v, dflt string) string {
	if v == "" {
		return dflt
	}
	return v
}

// globMatch is IAM's string matching: * any run of characters, ? one.
func globMatch(pattern, s string) bool {
	var re strings.Builder
	re.WriteString("^")
	for _, r := range pattern {
		switch r {
		case '*':
			re.WriteString(".*")
		case '?':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	re.WriteString("$")
	return regexp.MustCompile(re.String()).MatchString(s)
}

// The evaluator itself refuses what IAM would refuse (so the run's "every call
// holds" can fail): another provider's key, a marker action on an event key, a
// scan of data, another table or queue, a condition it does not know.
func TestConditionEvaluatorRefusesWhatIAMWould(t *testing.T) {
	table := "arn:aws:dynamodb:us-east-1:123456789012:table/t"
	stmts := []map[string]any{
		{"Sid": "Items", "Action": []any{"dynamodb:GetItem", "dynamodb:PutItem"}, "Resource": table, "Condition": map[string]any{"ForAllValues:StringLike": map[string]any{"dynamodb:LeadingKeys": []any{"tiki#*"}}}},
		{"Sid": "Markers", "Action": []any{"dynamodb:Query", "dynamodb:DeleteItem"}, "Resource": table, "Condition": map[string]any{"ForAllValues:StringLike": map[string]any{"dynamodb:LeadingKeys": []any{"tiki#unsent"}}}},
		{"Sid": "Scan", "Action": "dynamodb:Scan", "Resource": table, "Condition": map[string]any{
			"StringEquals":              map[string]any{"dynamodb:Select": "SPECIFIC_ATTRIBUTES"},
			"ForAllValues:StringEquals": map[string]any{"dynamodb:Attributes": []any{"pk", "event_id"}},
		}},
		{"Sid": "Send", "Action": "sqs:SendMessage", "Resource": []any{"arn:aws:sqs:us-east-1:123456789012:q.fifo"}},
		{"Sid": "Other", "Action": "secretsmanager:GetSecretValue", "Resource": "*", "Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceArn": "x"}}},
	}
	arns := map[string]string{"t": table, "other": "arn:aws:dynamodb:us-east-1:123456789012:table/other",
		"http://q/q.fifo": "arn:aws:sqs:us-east-1:123456789012:q.fifo", "http://q/o.fifo": "arn:aws:sqs:us-east-1:123456789012:o.fifo"}
	call := func(action, req string) awskit.Call {
		if strings.HasPrefix(action, "dynamodb:") {
			req = `{"TableName":"t",` + req[1:]
		}
		return awskit.Call{Action: action, Request: []byte(req)}
	}
	for _, c := range []struct {
		call awskit.Call
		ok   bool
	}{
		{call("dynamodb:PutItem", `{"Item":{"pk":{"S":"tiki#e1"},"sk":{"S":"event"}}}`), true},
		{call("dynamodb:PutItem", `{"Item":{"pk":{"S":"apigift#e1"},"sk":{"S":"event"}}}`), false},
		{call("dynamodb:GetItem", `{"Key":{"pk":{"S":"tikiX#e1"},"sk":{"S":"event"}}}`), false},
		{call("dynamodb:DeleteItem", `{"Key":{"pk":{"S":"tiki#unsent"},"sk":{"S":"t#e"}}}`), true},
		{call("dynamodb:DeleteItem", `{"Key":{"pk":{"S":"tiki#e1"},"sk":{"S":"event"}}}`), false},
		{call("dynamodb:Query", `{"KeyConditionExpression":"pk = :pk AND sk < :cut","ExpressionAttributeValues":{":pk":{"S":"tiki#unsent"},":cut":{"S":"2"}}}`), true},
		{call("dynamodb:Query", `{"KeyConditionExpression":"#p = :v","ExpressionAttributeNames":{"#p":"pk"},"ExpressionAttributeValues":{":v":{"S":"oslpay#unsent"}}}`), false},
		{call("dynamodb:Scan", `{"Select":"SPECIFIC_ATTRIBUTES","ProjectionExpression":"#event_id","ExpressionAttributeNames":{"#event_id":"event_id"}}`), true},
		{call("dynamodb:Scan", `{"ProjectionExpression":"#event_id","ExpressionAttributeNames":{"#event_id":"event_id"}}`), false},
		{call("dynamodb:Scan", `{"Select":"SPECIFIC_ATTRIBUTES","ProjectionExpression":"#event_id, #data","ExpressionAttributeNames":{"#event_id":"event_id","#data":"data"}}`), false},
		{call("dynamodb:UpdateItem", `{"Key":{"pk":{"S":"tiki#e1"},"sk":{"S":"event"}}}`), false},
		{awskit.Call{Action: "dynamodb:GetItem", Request: []byte(`{"TableName":"other","Key":{"pk":{"S":"tiki#e1"},"sk":{"S":"event"}}}`)}, false},
		{call("sqs:SendMessage", `{"QueueUrl":"http://q/q.fifo"}`), true},
		{call("sqs:SendMessage", `{"QueueUrl":"http://q/o.fifo"}`), false},
		{call("secretsmanager:GetSecretValue", `{"SecretId":"arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf"}`), false},
	} {
		why := checkCall(c.call, stmts, arns)
		if (why == "") != c.ok {
			t.Errorf("%s %s: allowed %v (%s), want %v", c.call.Action, c.call.Request, why == "", why, c.ok)
		}
	}
	for _, g := range []struct {
		pattern, s string
		match      bool
	}{{"tiki#*", "tiki#x", true}, {"tiki#unsent", "tiki#unsentX", false}, {"tik?#x", "tiki#x", true}, {"*", "", true}} {
		if globMatch(g.pattern, g.s) != g.match {
			t.Errorf("globMatch(%q, %q): want %v", g.pattern, g.s, g.match)
		}
	}
	if globMatch("a.b", "axb") {
		t.Error("globMatch: a dot is not a wildcard")
	}
}
