package stack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"webhooks/shared/contract"
)

// Safe deploys (deploy.go): each webhook function is served through its live alias, which
// CodeDeploy shifts to each new version and shifts back when a deployment alarm fires.

func TestWebhookFunctionsAreServedThroughTheLiveAlias(t *testing.T) {
	// GIVEN every synthesised stack
	needsSynth(t)
	for _, s := range everyStack() {
		name := *s.stack.StackName()
		// WHEN synthesised THEN each webhook function has a live alias pointing at a published
		// version of that function
		aliases := s.resources("AWS::Lambda::Alias")
		if len(aliases) != len(Providers) {
			t.Errorf("%s: want %d aliases, got %d", name, len(Providers), len(aliases))
		}
		versions := s.resources("AWS::Lambda::Version")
		for _, p := range Providers {
			a, ok := aliases[AliasLogicalID(p)]
			if !ok {
				t.Errorf("%s: no alias %s", name, AliasLogicalID(p))
				continue
			}
			ap := props(a)
			fn := ref(FunctionLogicalID(p))
			if ap["Name"] != LiveAliasName || toJSON(ap["FunctionName"]) != toJSON(fn) {
				t.Errorf("%s %s: %v", name, AliasLogicalID(p), ap)
			}
			v, _ := ap["FunctionVersion"].(map[string]any)["Fn::GetAtt"].([]any)
			if len(v) != 2 || v[1] != "Version" || toJSON(props(versions[v[0].(string)])["FunctionName"]) != toJSON(fn) {
				t.Errorf("%s %s: version %v is not a published version of %s", name, AliasLogicalID(p), ap["FunctionVersion"], FunctionLogicalID(p))
			}
		}
		// AND every route's integration invokes an alias, never the unqualified function
		for id, in := range s.resources("AWS::ApiGatewayV2::Integration") {
			if fn := s.aliasFunction(t, props(in)["IntegrationUri"]); fn == "" {
				t.Errorf("%s %s: integration URI %s", name, id, toJSON(props(in)["IntegrationUri"]))
			}
		}
		// AND every redrive schedule targets an alias
		for id, r := range s.resources("AWS::Events::Rule") {
			for _, tg := range props(r)["Targets"].([]any) {
				if fn := s.aliasFunction(t, tg.(map[string]any)["Arn"]); fn == "" {
					t.Errorf("%s %s: target %s", name, id, toJSON(tg))
				}
			}
		}
		// AND API Gateway and EventBridge may invoke the aliases only
		for id, perm := range s.resources("AWS::Lambda::Permission") {
			pp := props(perm)
			if pp["Principal"] != "apigateway.amazonaws.com" && pp["Principal"] != "events.amazonaws.com" {
				continue
			}
			if fn := s.aliasFunction(t, pp["FunctionName"]); fn == "" {
				t.Errorf("%s %s: %s may invoke %s", name, id, pp["Principal"], toJSON(pp["FunctionName"]))
			}
		}
	}
}

func TestEachAliasHasADeploymentGroupThatRollsBack(t *testing.T) {
	needsSynth(t)
	for _, c := range []struct {
		s      synthesized
		config string
	}{
		// GIVEN the default context (safeDeploy true) and the prod stage: a canary
		{dflt, CanaryDeploymentConfig},
		{full, CanaryDeploymentConfig},
		// GIVEN safeDeploy=false (a development stage, as `-c safeDeploy=false` gives it): all
		// at once, still through the alias and the group
		{allAtOnce, AllAtOnceDeploymentConfig},
	} {
		s := c.s
		name := *s.stack.StackName()
		// WHEN synthesised THEN one CodeDeploy application for Lambda
		apps := s.resources("AWS::CodeDeploy::Application")
		if len(apps) != 1 || props(apps[DeployApplicationLogicalID])["ComputePlatform"] != "Lambda" {
			t.Errorf("%s: applications %v", name, toJSON(apps))
		}
		groups := s.resources("AWS::CodeDeploy::DeploymentGroup")
		if len(groups) != len(Providers) {
			t.Errorf("%s: want %d deployment groups, got %d", name, len(Providers), len(groups))
		}
		alarms := s.resources("AWS::CloudWatch::Alarm")
		for _, p := range Providers {
			// AND CloudFormation hands each alias's move to its own deployment group
			alias := s.resources("AWS::Lambda::Alias")[AliasLogicalID(p)]
			want := toJSON(map[string]any{"CodeDeployLambdaAliasUpdate": map[string]any{
				"ApplicationName":     ref(DeployApplicationLogicalID),
				"DeploymentGroupName": ref(DeploymentGroupLogicalID(p)),
			}})
			if got := toJSON(alias["UpdatePolicy"]); got != want {
				t.Errorf("%s %s: update policy %s, want %s", name, AliasLogicalID(p), got, want)
			}
			// AND the group shifts traffic by the configuration, watches the function's alias
			// errors and the API's 5xx, and rolls back on a failure, on an alarm and when stopped
			g, ok := groups[DeploymentGroupLogicalID(p)]
			if !ok {
				t.Errorf("%s: no deployment group %s", name, DeploymentGroupLogicalID(p))
				continue
			}
			gp := props(g)
			live := s.logicalID(t, "AWS::CloudWatch::Alarm", "Monitoring"+p.Title+"DeployErrors")
			failed := s.logicalID(t, "AWS::CloudWatch::Alarm", "Monitoring"+p.Title+"Deploy5xx")
			for k, v := range map[string]any{
				"ApplicationName":      ref(DeployApplicationLogicalID),
				"DeploymentConfigName": c.config,
				"DeploymentStyle":      map[string]any{"DeploymentOption": "WITH_TRAFFIC_CONTROL", "DeploymentType": "BLUE_GREEN"},
				"AlarmConfiguration": map[string]any{
					"Alarms":  []any{map[string]any{"Name": ref(live)}, map[string]any{"Name": ref(failed)}},
					"Enabled": true,
				},
				"AutoRollbackConfiguration": map[string]any{
					"Enabled": true,
					"Events":  []any{"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST", "DEPLOYMENT_STOP_ON_ALARM"},
				},
			} {
				if toJSON(gp[k]) != toJSON(v) {
					t.Errorf("%s %s: %s = %s, want %s", name, DeploymentGroupLogicalID(p), k, toJSON(gp[k]), toJSON(v))
				}
			}
			// AND the function's alarm counts the alias's errors, minute by minute
			wantLive := map[string]any{
				"Namespace":  "AWS/Lambda",
				"MetricName": "Errors",
				"Dimensions": []any{
					map[string]any{"Name": "FunctionName", "Value": ref(FunctionLogicalID(p))},
					map[string]any{"Name": "Resource", "Value": map[string]any{"Fn::Join": []any{"", []any{ref(FunctionLogicalID(p)), ":" + LiveAliasName}}}},
				},
				"Statistic": "Sum", "Period": 60.0, "EvaluationPeriods": 1.0, "Threshold": 1.0,
				"ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
			}
			for k, v := range wantLive {
				if got := props(alarms[live])[k]; toJSON(got) != toJSON(v) {
					t.Errorf("%s %s: %s = %s, want %s", name, live, k, toJSON(got), toJSON(v))
				}
			}
			// AND the provider's 5xx alarm counts its own webhooks answered 5xx (the functions'
			// EMF outcome "failed", in the stage's namespace), minute by minute: another
			// provider's failures (one left unconfigured, one under attack) never roll it back
			wantFailed := map[string]any{
				// the namespace the function emits in
				"Namespace":  props(s.resources("AWS::Lambda::Function")[FunctionLogicalID(p)])["Environment"].(map[string]any)["Variables"].(map[string]any)[EnvMetricsNamespace],
				"MetricName": MetricWebhooks,
				"Dimensions": []any{
					map[string]any{"Name": contract.DimensionOutcome, "Value": string(contract.Failed)},
					map[string]any{"Name": contract.DimensionProvider, "Value": p.Name},
				},
				"Statistic": "Sum", "Period": 60.0, "EvaluationPeriods": 1.0, "Threshold": 1.0,
				"ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
			}
			for k, v := range wantFailed {
				if got := props(alarms[failed])[k]; toJSON(got) != toJSON(v) {
					t.Errorf("%s %s: %s = %s, want %s", name, failed, k, toJSON(got), toJSON(v))
				}
			}
		}
	}
}

func TestDeployRolesAreLeastPrivilege(t *testing.T) {
	// GIVEN the stack WHEN synthesised THEN each deployment group has its own role, assumed by
	// CodeDeploy only, with no managed policy, allowed only to read and move its function's live
	// alias, read the provisioned concurrency of that function's versions, and read its own
	// group's alarms
	needsSynth(t)
	groups := dflt.resources("AWS::CodeDeploy::DeploymentGroup")
	roles := dflt.resources("AWS::IAM::Role")
	for _, p := range Providers {
		g := props(groups[DeploymentGroupLogicalID(p)])
		arn, _ := g["ServiceRoleArn"].(map[string]any)["Fn::GetAtt"].([]any)
		if len(arn) != 2 || arn[1] != "Arn" {
			t.Fatalf("%s: service role %v", p.Name, g["ServiceRoleArn"])
		}
		roleID := arn[0].(string)
		rp := props(roles[roleID])
		if got := toJSON(statements(rp["AssumeRolePolicyDocument"])); got != `[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":"codedeploy.amazonaws.com"}}]` {
			t.Errorf("%s: trust %s", p.Name, got)
		}
		if rp["ManagedPolicyArns"] != nil {
			t.Errorf("%s: managed policies %v", p.Name, rp["ManagedPolicyArns"])
		}
		if sts := dflt.policyStatements(roleID); len(sts) != 0 {
			t.Errorf("%s: policies attached besides the inline one: %v", p.Name, sts)
		}
		policies, _ := rp["Policies"].([]any)
		if len(policies) != 1 {
			t.Fatalf("%s: inline policies %v", p.Name, rp["Policies"])
		}
		fnArn := map[string]any{"Fn::GetAtt": []any{FunctionLogicalID(p), "Arn"}}
		qualified := func(q string) map[string]any { return map[string]any{"Fn::Join": []any{"", []any{fnArn, ":" + q}}} }
		alarm := func(prefix string) map[string]any {
			return map[string]any{"Fn::GetAtt": []any{dflt.logicalID(t, "AWS::CloudWatch::Alarm", prefix), "Arn"}}
		}
		want := map[string]string{
			"lambda:GetAlias,lambda:UpdateAlias":     toJSON([]any{fnArn, qualified(LiveAliasName)}),
			"lambda:GetProvisionedConcurrencyConfig": toJSON(qualified("*")),
			"cloudwatch:DescribeAlarms":              toJSON([]any{alarm("Monitoring" + p.Title + "DeployErrors"), alarm("Monitoring" + p.Title + "Deploy5xx")}),
		}
		got := map[string]string{}
		for _, st := range statements(policies[0].(map[string]any)["PolicyDocument"]) {
			if st["Effect"] != "Allow" || st["Condition"] != nil {
				t.Errorf("%s: statement %v", p.Name, st)
			}
			got[strings.Join(actions(st), ",")] = toJSON(st["Resource"])
		}
		if toJSON(got) != toJSON(want) {
			t.Errorf("%s: role allows\n %v\nwant\n %v", p.Name, got, want)
		}
	}
}

func TestDeployDocNamesTheTemplatesIds(t *testing.T) {
	// GIVEN docs/DEPLOY.md WHEN it names the safe-deploy resources THEN those logical ids are
	// the template's
	needsSynth(t)
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "DEPLOY.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	ids := []string{DeployApplicationLogicalID}
	for _, id := range []string{"`<P>LiveAlias`", "`<P>DeploymentGroup`", "`<P>DeployErrors`", "`<P>Deploy5xx`", "`" + CanaryDeploymentConfig + "`", "`" + AllAtOnceDeploymentConfig + "`"} {
		if !strings.Contains(doc, id) {
			t.Errorf("docs/DEPLOY.md does not name %s", id)
		}
	}
	for _, p := range Providers {
		ids = append(ids, AliasLogicalID(p), DeploymentGroupLogicalID(p))
	}
	resources := dflt.json["Resources"].(map[string]any)
	for _, id := range ids {
		if _, ok := resources[id]; !ok {
			t.Errorf("the template has no resource %s", id)
		}
	}
	for _, p := range Providers {
		dflt.logicalID(t, "AWS::CloudWatch::Alarm", "Monitoring"+p.Title+"DeployErrors")
	}
}
