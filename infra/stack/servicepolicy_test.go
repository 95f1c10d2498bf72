package stack

import (
	"testing"
)

// What AWS checks and a local API never does: the resource policies that let AWS services use
// this stack's key, topic and queues.

// statements returns the statements of a policy document.
func statements(doc any) []map[string]any {
	d, _ := doc.(map[string]any)
	list, _ := d["Statement"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, st := range list {
		out = append(out, st.(map[string]any))
	}
	return out
}

// servicePrincipal reports whether a statement's principal is (or includes) an AWS service.
func servicePrincipal(st map[string]any) bool {
	p, _ := st["Principal"].(map[string]any)
	_, ok := p["Service"]
	return ok
}

// servicePolicies lists, for every resource policy of s a service principal could be named in
// (key policies, topic policies, queue policies), its resource id, type and statements.
func (s synthesized) servicePolicies() map[string][]map[string]any {
	out := map[string][]map[string]any{}
	for typ, prop := range map[string]string{
		"AWS::KMS::Key":         "KeyPolicy",
		"AWS::SNS::TopicPolicy": "PolicyDocument",
		"AWS::SQS::QueuePolicy": "PolicyDocument",
	} {
		for id, r := range s.resources(typ) {
			out[typ+" "+id] = statements(props(r)[prop])
		}
	}
	return out
}

func TestEveryServicePrincipalStatementHasACondition(t *testing.T) {
	// GIVEN every synthesised stack (default, prod, example consumer with and without its table)
	needsSynth(t)
	for _, s := range everyStack() {
		// WHEN its key, topic and queue policies are read
		seen := 0
		for res, sts := range s.servicePolicies() {
			for _, st := range sts {
				if st["Effect"] != "Allow" || !servicePrincipal(st) {
					continue
				}
				seen++
				// THEN every statement allowing an AWS service something is conditioned (the
				// source account or ARN, or an encryption context naming this account's
				// resources), so the service cannot be used as a confused deputy by another
				// account
				if c, _ := st["Condition"].(map[string]any); len(c) == 0 {
					t.Errorf("%s %s: statement %v for %s has no condition", *s.stack.StackName(), res, st["Sid"], toJSON(st["Principal"]))
				}
			}
		}
		// (the walk found the key's CloudWatch Logs and CloudWatch alarm statements and the
		// topic's CloudWatch statement at least)
		if seen < 3 {
			t.Errorf("%s: only %d service-principal statements found", *s.stack.StackName(), seen)
		}
		// AND every Lambda permission for an AWS service names its source
		for id, perm := range s.resources("AWS::Lambda::Permission") {
			if p := props(perm); p["SourceArn"] == nil {
				t.Errorf("%s %s: permission for %v has no SourceArn", *s.stack.StackName(), id, p["Principal"])
			}
		}
	}
}

func TestCloudWatchMayPublishToTheAlarmTopic(t *testing.T) {
	// GIVEN the stack WHEN synthesised THEN the alarm topic's policy allows CloudWatch to
	// publish to the topic, only for alarms of the stack's account and region
	needsSynth(t)
	account := map[string]any{"Ref": "AWS::AccountId"}
	alarms := map[string]any{"Fn::Join": []any{"", []any{
		"arn:", map[string]any{"Ref": "AWS::Partition"}, ":cloudwatch:", map[string]any{"Ref": "AWS::Region"},
		":", account, ":alarm:*",
	}}}
	wantCondition := toJSON(map[string]any{
		"ArnLike":      map[string]any{"aws:SourceArn": alarms},
		"StringEquals": map[string]any{"aws:SourceAccount": account},
	})
	topic := dflt.logicalID(t, "AWS::SNS::Topic", "MonitoringAlarmTopic")
	policies := dflt.resources("AWS::SNS::TopicPolicy")
	if len(policies) != 1 {
		t.Fatalf("want one topic policy, got %d", len(policies))
	}
	var allow, deny int
	for id, pol := range policies {
		if toJSON(props(pol)["Topics"]) != toJSON([]any{ref(topic)}) {
			t.Errorf("%s: topics %v", id, props(pol)["Topics"])
		}
		for _, st := range statements(props(pol)["PolicyDocument"]) {
			switch st["Effect"] {
			case "Allow":
				allow++
				if toJSON(st["Principal"]) != `{"Service":"cloudwatch.amazonaws.com"}` || st["Action"] != "sns:Publish" ||
					toJSON(st["Resource"]) != toJSON(ref(topic)) || toJSON(st["Condition"]) != wantCondition {
					t.Errorf("%s: allow statement %s, want CloudWatch sns:Publish on the topic with %s", id, toJSON(st), wantCondition)
				}
			case "Deny":
				// AND publishing without TLS is still denied to everyone
				deny++
				if toJSON(st["Condition"]) != `{"Bool":{"aws:SecureTransport":"false"}}` || toJSON(st["Principal"]) != `"*"` {
					t.Errorf("%s: deny statement %s", id, toJSON(st))
				}
			}
		}
	}
	if allow != 1 || deny != 1 {
		t.Errorf("topic policy: %d allow and %d deny statements, want 1 and 1", allow, deny)
	}
	// AND the key lets CloudWatch encrypt for the topic under the same condition
	key := dflt.resources("AWS::KMS::Key")[dflt.logicalID(t, "AWS::KMS::Key", "DataKey")]
	found := false
	for _, st := range statements(props(key)["KeyPolicy"]) {
		if toJSON(st["Principal"]) == `{"Service":"cloudwatch.amazonaws.com"}` {
			found = true
			if toJSON(st["Condition"]) != wantCondition {
				t.Errorf("key statement for CloudWatch: condition %s, want %s", toJSON(st["Condition"]), wantCondition)
			}
		}
	}
	if !found {
		t.Error("the key has no statement for CloudWatch: alarms could not publish to the encrypted topic")
	}
}
