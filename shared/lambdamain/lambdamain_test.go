package lambdamain

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadEnv(t *testing.T) {
	base := map[string]string{"WEBHOOKS_TABLE": "t", "WEBHOOKS_QUEUE_URL": "https://sqs/q.fifo", "WEBHOOKS_SECRET_ID": "s"}
	e, err := LoadEnv(env(base))
	if err != nil || e.EventTTL != 720*time.Hour || e.Table != "t" {
		t.Fatalf("defaults: %+v %v", e, err)
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range base {
			m[a] = b
		}
		m[k] = v
		return m
	}
	if e, err := LoadEnv(env(with("WEBHOOKS_EVENT_TTL", "48h"))); err != nil || e.EventTTL != 48*time.Hour {
		t.Errorf("48h: %v %v", e.EventTTL, err)
	}
	for name, m := range map[string]map[string]string{
		"ttl too short":   with("WEBHOOKS_EVENT_TTL", "47h"),
		"ttl not a dur":   with("WEBHOOKS_EVENT_TTL", "30 days"),
		"no table":        with("WEBHOOKS_TABLE", ""),
		"no queue":        with("WEBHOOKS_QUEUE_URL", " "),
		"standard queue":  with("WEBHOOKS_QUEUE_URL", "https://sqs/q"),
		"no secret":       with("WEBHOOKS_SECRET_ID", ""),
		"nothing at all:": {},
	} {
		if _, err := LoadEnv(env(m)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	_, err = LoadEnv(env(map[string]string{}))
	for _, v := range []string{"WEBHOOKS_TABLE", "WEBHOOKS_QUEUE_URL", "WEBHOOKS_SECRET_ID"} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("error does not name %s: %v", v, err)
		}
	}
}
