package stack

import (
	"strings"
	"testing"
)

func ctx(m map[string]any) func(string) any { return func(k string) any { return m[k] } }

func TestConfigDefaults(t *testing.T) {
	// GIVEN no context WHEN it is read THEN the defaults apply
	c, err := ConfigFromContext(ctx(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Stage != "dev" || c.StackName != "Webhooks-dev" || c.AssetDir != "build" || c.EventTTL != "720h" ||
		c.MetricsNamespace != "Webhooks/dev" || c.RateLimit != DefaultRateLimit || c.BurstLimit != DefaultBurstLimit ||
		c.LogRetentionDays != 30 || c.AlarmEmails != nil || c.ConsumerRoleArns != nil {
		t.Errorf("defaults: %+v", c)
	}
}

func TestConfigFromCLIStrings(t *testing.T) {
	// GIVEN context as `cdk -c key=value` passes it (strings) WHEN read THEN values are parsed
	c, err := ConfigFromContext(ctx(map[string]any{
		CtxStage: "prod", CtxEventTTL: "168h", CtxRateLimit: "10", CtxBurstLimit: "20",
		CtxLogRetentionDays: "365", CtxAlarmEmail: "a@example.com,b@example.com",
		CtxConsumerRoleArns: "arn:aws:iam::123456789012:role/a, arn:aws:iam::123456789012:role/b",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.StackName != "Webhooks-prod" || c.MetricsNamespace != "Webhooks/prod" || c.RateLimit != 10 || c.BurstLimit != 20 ||
		c.LogRetentionDays != 365 || len(c.AlarmEmails) != 2 || len(c.RolesFor("oslpay")) != 2 {
		t.Errorf("parsed: %+v", c)
	}
}

func TestConfigRejectsInvalidValues(t *testing.T) {
	// GIVEN an invalid value WHEN read THEN the error names the context key
	for key, value := range map[string]any{
		CtxStage:            "no spaces",
		CtxStackName:        "Webhooks_dev",
		CtxEventTTL:         "24h",
		CtxRateLimit:        "-1",
		CtxBurstLimit:       "1.5",
		CtxLogRetentionDays: 31.0,
		CtxAlarmEmail:       "not-an-address",
		CtxConsumerRoleArns: []any{"arn:aws:iam::123456789012:user/bob"},
	} {
		_, err := ConfigFromContext(ctx(map[string]any{key: value}))
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%v: error %v", key, value, err)
		}
	}
	// AN unknown provider in the per-provider form is refused
	if _, err := ParseConsumerRoleArns(map[string]any{"stripe": []any{"arn:aws:iam::123456789012:role/a"}}); err == nil {
		t.Error("unknown provider accepted")
	}
}

func TestConsumerRoleArnForms(t *testing.T) {
	// GIVEN each accepted form WHEN parsed THEN roles land on the right queues
	a, b := "arn:aws:iam::123456789012:role/a", "arn:aws:iam::123456789012:role/path/b"
	for name, v := range map[string]any{
		"json string object": `{"*": ["` + a + `"], "tiki": ["` + b + `"]}`,
		"object":             map[string]any{"*": []any{a}, "tiki": []any{b}},
		"object of strings":  map[string]any{"*": a, "tiki": b},
	} {
		m, err := ParseConsumerRoleArns(v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c := Config{ConsumerRoleArns: m}
		if got := c.RolesFor("tiki"); len(got) != 2 {
			t.Errorf("%s: tiki %v", name, got)
		}
		if got := c.RolesFor("apigift"); len(got) != 1 || got[0] != a {
			t.Errorf("%s: apigift %v", name, got)
		}
	}
	for _, v := range []any{`["` + a + `"]`, []any{a}, a} {
		m, err := ParseConsumerRoleArns(v)
		if err != nil || len((Config{ConsumerRoleArns: m}).RolesFor("oslpay")) != 1 {
			t.Errorf("%v: %v %v", v, m, err)
		}
	}
	if m, err := ParseConsumerRoleArns(""); m != nil || err != nil {
		t.Errorf("empty: %v %v", m, err)
	}
}

func TestProvidersMatchTheContract(t *testing.T) {
	// GIVEN the route table WHEN compared with DESIGN.md THEN the providers and routes agree
	want := map[string][]string{
		"tiki":       {"/webhooks/tiki/{kind}"},
		"apigift":    {"/webhooks/apigift/{token}", "/webhooks/apigift/{token}/{event}"},
		"alchemypay": {"/webhooks/alchemypay/{token}"},
		"oslpay":     {"/webhooks/oslpay"},
	}
	// The contract's four providers keep their routes exactly; any provider
	// added later has routes of its own, under /webhooks/<name>.
	found := map[string]bool{}
	routes := map[string]string{}
	for _, p := range Providers {
		if w, ok := want[p.Name]; ok && strings.Join(p.Routes, " ") != strings.Join(w, " ") {
			t.Errorf("%s: routes %v, want %v", p.Name, p.Routes, w)
		}
		if found[p.Name] {
			t.Errorf("provider %s listed twice", p.Name)
		}
		found[p.Name] = true
		for _, r := range p.Routes {
			if r != "/webhooks/"+p.Name && !strings.HasPrefix(r, "/webhooks/"+p.Name+"/") {
				t.Errorf("%s: route %s is not under /webhooks/%s", p.Name, r, p.Name)
			}
			if other, dup := routes[r]; dup {
				t.Errorf("route %s of %s and %s", r, p.Name, other)
			}
			routes[r] = p.Name
		}
	}
	for name := range want {
		if !found[name] {
			t.Errorf("provider %s missing from the table %v", name, ProviderNames())
		}
	}
}
