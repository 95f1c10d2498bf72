package stack

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	// AND redrive runs every 5 minutes for events over 5m old, and sweeps daily for over 15m
	if want := (RedriveRun{Schedule: Schedule{Expression: "rate(5 minutes)", Interval: 5 * time.Minute}, OlderThan: "5m"}); c.Redrive != want {
		t.Errorf("redrive %+v, want %+v", c.Redrive, want)
	}
	if want := (RedriveRun{Schedule: Schedule{Expression: "rate(1 day)", Interval: 24 * time.Hour}, OlderThan: "15m", Sweep: true}); c.RedriveSweep != want {
		t.Errorf("sweep %+v, want %+v", c.RedriveSweep, want)
	}
}

func TestThrottlingDefaultsCoverProviderPeaks(t *testing.T) {
	// GIVEN the context the CDK CLI reads (cdk.json), with no -c overrides
	raw, err := os.ReadFile(filepath.Join("..", "..", "cdk.json"))
	if err != nil {
		t.Fatal(err)
	}
	var app struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &app); err != nil {
		t.Fatal(err)
	}
	// WHEN it is read
	c, err := ConfigFromContext(ctx(app.Context))
	if err != nil {
		t.Fatal(err)
	}
	// THEN the API takes at least 1,000 requests/s steady with a burst of 2,000 (a
	// Tiki flash sale or an Alchemy Pay retry wave must not meet 429s: docs/DEPLOY.md)
	if c.RateLimit < 1000 || c.BurstLimit < 2000 {
		t.Errorf("default throttling %v/s, burst %v; want at least 1000/s and 2000", c.RateLimit, c.BurstLimit)
	}
	// AND a stage may set its own, lower or higher, as JSON numbers or -c strings
	for _, v := range []map[string]any{
		{CtxRateLimit: 20.0, CtxBurstLimit: 40.0},
		{CtxRateLimit: "20", CtxBurstLimit: "40"},
	} {
		if c, err := ConfigFromContext(ctx(v)); err != nil || c.RateLimit != 20 || c.BurstLimit != 40 {
			t.Errorf("%v: %v/%v %v", v, c.RateLimit, c.BurstLimit, err)
		}
	}
	if c, err := ConfigFromContext(ctx(map[string]any{CtxRateLimit: "5000", CtxBurstLimit: "5000"})); err != nil || c.RateLimit != 5000 {
		t.Errorf("5000/5000: %v/%v %v", c.RateLimit, c.BurstLimit, err)
	}
	// AND a burst below the rate is refused: the bucket would hold less than a second of traffic
	for _, v := range []map[string]any{
		{CtxRateLimit: "100", CtxBurstLimit: "50"},
		{CtxRateLimit: "3000"}, // above the default burst
	} {
		if _, err := ConfigFromContext(ctx(v)); err == nil || !strings.Contains(err.Error(), `"`+CtxBurstLimit+`"`) {
			t.Errorf("%v: error %v, want one naming %s", v, err, CtxBurstLimit)
		}
	}
}

func TestSafeDeployConfig(t *testing.T) {
	// GIVEN no context WHEN read THEN deployments are canaries
	if c, err := ConfigFromContext(ctx(nil)); err != nil || !c.SafeDeploy {
		t.Errorf("default: %v %v", c.SafeDeploy, err)
	}
	// AND JSON false and the -c string "false" turn them into all-at-once deployments
	for _, v := range []any{false, "false", " False "} {
		if c, err := ConfigFromContext(ctx(map[string]any{CtxSafeDeploy: v})); err != nil || c.SafeDeploy {
			t.Errorf("%#v: %v %v", v, c.SafeDeploy, err)
		}
	}
	// AND anything else is refused with an error naming the key
	for _, v := range []any{"no", 0.0} {
		if _, err := ConfigFromContext(ctx(map[string]any{CtxSafeDeploy: v})); err == nil || !strings.Contains(err.Error(), `"`+CtxSafeDeploy+`"`) {
			t.Errorf("%#v: error %v", v, err)
		}
	}
}

func TestConfigFromCLIStrings(t *testing.T) {
	// GIVEN context as `cdk -c key=value` passes it (strings) WHEN read THEN values are parsed
	c, err := ConfigFromContext(ctx(map[string]any{
		CtxStage: "prod", CtxEventTTL: "168h", CtxRateLimit: "10", CtxBurstLimit: "20",
		CtxLogRetentionDays: "365", CtxAlarmEmail: "a@example.com,b@example.com",
		CtxConsumerRoleArns: "arn:aws:iam::123456789012:role/a, arn:aws:iam::123456789012:role/b",
		CtxRedriveSchedule:  " rate(1 minute) ", CtxRedriveOlderThan: "90s",
		CtxRedriveSweepSchedule: "cron(0 3 * * ? *)", CtxRedriveSweepOlderThan: "1h",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.StackName != "Webhooks-prod" || c.MetricsNamespace != "Webhooks/prod" || c.RateLimit != 10 || c.BurstLimit != 20 ||
		c.LogRetentionDays != 365 || len(c.AlarmEmails) != 2 || len(c.RolesFor("oslpay")) != 2 {
		t.Errorf("parsed: %+v", c)
	}
	if c.Redrive != (RedriveRun{Schedule: Schedule{Expression: "rate(1 minute)", Interval: time.Minute}, OlderThan: "90s"}) ||
		c.RedriveSweep != (RedriveRun{Schedule: Schedule{Expression: "cron(0 3 * * ? *)"}, OlderThan: "1h", Sweep: true}) {
		t.Errorf("redrive %+v, sweep %+v", c.Redrive, c.RedriveSweep)
	}
	// AND "off" turns a run off
	c, err = ConfigFromContext(ctx(map[string]any{CtxRedriveSchedule: "off", CtxRedriveSweepSchedule: "OFF"}))
	if err != nil || !c.Redrive.Schedule.Off() || !c.RedriveSweep.Schedule.Off() {
		t.Errorf("off: %+v %+v %v", c.Redrive, c.RedriveSweep, err)
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
	// AND each bad redrive setting names its key
	for _, c := range []struct {
		key   string
		value any
	}{
		{CtxRedriveSchedule, "every 5 minutes"},
		{CtxRedriveSchedule, "rate(5 minute)"},      // EventBridge wants the plural
		{CtxRedriveSchedule, "rate(1 minutes)"},     // ... and the singular for 1
		{CtxRedriveSchedule, "rate(0 minutes)"},     // never
		{CtxRedriveSchedule, "rate(5 seconds)"},     // EventBridge's least unit is a minute
		{CtxRedriveSchedule, "rate(2 hours)"},       // a stranded event would wait too long
		{CtxRedriveSchedule, "cron(*/5 * * * *)"},   // Unix cron: 5 fields
		{CtxRedriveSchedule, "cron(0/5 * * * * *)"}, // neither day field is '?'
		{CtxRedriveSchedule, "cron(0/5 * ? * ? *)"}, // both are
		{CtxRedriveSchedule, "cron(0/5 * * * ? $)"}, // not a cron character
		{CtxRedriveSchedule, 5.0},                   // not a string
		{CtxRedriveSweepSchedule, "hourly"},
		{CtxRedriveOlderThan, "5"},   // no unit
		{CtxRedriveOlderThan, "30s"}, // under a minute
		{CtxRedriveOlderThan, "-5m"},
		{CtxRedriveSweepOlderThan, "720h"}, // not under the event TTL
		{CtxRedriveSweepOlderThan, "fifteen minutes"},
	} {
		_, err := ConfigFromContext(ctx(map[string]any{c.key: c.value}))
		if err == nil || !strings.Contains(err.Error(), `"`+c.key+`"`) {
			t.Errorf("%s=%v: error %v", c.key, c.value, err)
		}
	}
	// AND the olderThan is checked against the configured TTL, not the default
	if _, err := ConfigFromContext(ctx(map[string]any{CtxEventTTL: "1000h", CtxRedriveSweepOlderThan: "800h"})); err != nil {
		t.Errorf("800h under a 1000h TTL: %v", err)
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

func TestParseSchedule(t *testing.T) {
	// GIVEN EventBridge schedule expressions WHEN parsed THEN rates carry their interval, cron
	// expressions none, and "off" is the zero Schedule
	for in, want := range map[string]Schedule{
		"rate(1 minute)":           {Expression: "rate(1 minute)", Interval: time.Minute},
		"rate(15 minutes)":         {Expression: "rate(15 minutes)", Interval: 15 * time.Minute},
		"rate(1 hour)":             {Expression: "rate(1 hour)", Interval: time.Hour},
		"rate(2 days)":             {Expression: "rate(2 days)", Interval: 48 * time.Hour},
		"cron(0/5 * * * ? *)":      {Expression: "cron(0/5 * * * ? *)"},
		"cron(0  8 ? * MON-FRI *)": {Expression: "cron(0 8 ? * MON-FRI *)"},
		"cron(15 10 L * ? 2030)":   {Expression: "cron(15 10 L * ? 2030)"},
		"off":                      {},
		" Off ":                    {},
	} {
		got, err := ParseSchedule(in)
		if err != nil || got != want {
			t.Errorf("%q: %+v %v, want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "rate()", "rate(5)", "rate(5 weeks)", "rate(05 minutes)", "rate(-5 minutes)", "cron()", "cron(0 * * * ?)", "at(2030-01-01T00:00:00)"} {
		if _, err := ParseSchedule(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestRedriveAlarmPeriodHoldsOneRun(t *testing.T) {
	// GIVEN the frequent run's schedule WHEN the alarm period is derived THEN it is the
	// interval, but never under the 5 minutes of the other alarms
	for _, c := range []struct {
		s    Schedule
		want time.Duration
	}{
		{Schedule{Expression: "rate(5 minutes)", Interval: 5 * time.Minute}, 5 * time.Minute},
		{Schedule{Expression: "rate(1 minute)", Interval: time.Minute}, 5 * time.Minute},
		{Schedule{Expression: "rate(10 minutes)", Interval: 10 * time.Minute}, 10 * time.Minute},
		{Schedule{Expression: "rate(1 hour)", Interval: time.Hour}, time.Hour},
		{Schedule{Expression: "cron(0/5 * * * ? *)"}, 5 * time.Minute},
		{Schedule{}, 5 * time.Minute},
	} {
		if got := RedriveAlarmPeriod(c.s); got != c.want {
			t.Errorf("%+v: %s, want %s", c.s, got, c.want)
		}
	}
}

func TestExampleConsumerConfig(t *testing.T) {
	// GIVEN no context WHEN read THEN the example consumer is off, with its defaults
	c, err := ConfigFromContext(ctx(nil))
	if err != nil {
		t.Fatal(err)
	}
	if want := (ExampleConsumerConfig{BatchSize: 1, MaxConcurrency: 2, Idempotency: true, Replays: "deduplicate"}); c.ExampleConsumer != want {
		t.Errorf("defaults %+v, want %+v", c.ExampleConsumer, want)
	}
	// AND JSON values (cdk.json) and `-c` strings are read alike
	for name, m := range map[string]map[string]any{
		"json": {CtxExampleConsumer: true, CtxExampleConsumerBatchSize: 1.0, CtxExampleConsumerMaxConcurrency: 1000.0,
			CtxExampleConsumerIdempotency: false, CtxExampleConsumerReplays: "ignore"},
		"strings": {CtxExampleConsumer: " True ", CtxExampleConsumerBatchSize: "1", CtxExampleConsumerMaxConcurrency: "1000",
			CtxExampleConsumerIdempotency: "false", CtxExampleConsumerReplays: "ignore"},
	} {
		c, err := ConfigFromContext(ctx(m))
		if want := (ExampleConsumerConfig{Enabled: true, BatchSize: 1, MaxConcurrency: 1000, Replays: "ignore"}); err != nil || c.ExampleConsumer != want {
			t.Errorf("%s: %+v %v, want %+v", name, c.ExampleConsumer, err, want)
		}
	}
	for _, v := range []any{false, "false", ""} {
		if c, err := ConfigFromContext(ctx(map[string]any{CtxExampleConsumer: v})); err != nil || c.ExampleConsumer.Enabled {
			t.Errorf("exampleConsumer=%#v: %+v %v", v, c.ExampleConsumer, err)
		}
	}
	// AND an invalid value is refused with an error naming its key and what it wants, also
	// while the consumer is off
	for _, c := range []struct {
		key   string
		value any
		want  string
	}{
		{CtxExampleConsumer, "yes", "not true or false"},
		{CtxExampleConsumer, 1.0, "want true or false"},
		{CtxExampleConsumerIdempotency, "off", "not true or false"},
		{CtxExampleConsumerBatchSize, 0.0, "from 1 to 10"},
		{CtxExampleConsumerBatchSize, "11", "from 1 to 10"}, // a FIFO queue's limit
		{CtxExampleConsumerBatchSize, 2.5, "from 1 to 10"},
		{CtxExampleConsumerBatchSize, "ten", "not a number"},
		{CtxExampleConsumerMaxConcurrency, "1", "from 2 to 1000"},
		{CtxExampleConsumerMaxConcurrency, 1001.0, "from 2 to 1000"},
		{CtxExampleConsumerReplays, "drop", "deduplicate, reprocess or ignore"},
		{CtxExampleConsumerReplays, 1.0, "want a string"},
	} {
		_, err := ConfigFromContext(ctx(map[string]any{c.key: c.value}))
		if err == nil || !strings.Contains(err.Error(), `"`+c.key+`"`) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%#v: error %v, want one naming the key and %q", c.key, c.value, err, c.want)
		}
	}
}
