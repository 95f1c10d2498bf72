package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"webhooks/internal/awskit/awstest"
	"webhooks/internal/devkit"
	"webhooks/shared/eventstore"
)

// tikiOrder is a Tiki order webhook body; ref is kept in the event's data
// only (never its id, type or subject), so it shows whether data is printed.
func tikiOrder(code, ref string) string {
	return fmt.Sprintf(`{"data":{"date":"2022-10-26T14:22:05+07:00","ref_code":%q,"order_code":%q,"main_state":"processing","main_substate":"ready_for_pickup"}}`, ref, code)
}

// Every operator command against both targets: the make run (state file) and
// a deployed stack (CloudFormation outputs in moto, through the SDK's
// standard configuration), each invoking the real handlers through the
// Lambda Invoke API.
func TestOperatorCommands(t *testing.T) {
	for _, target := range []string{"make run", "stack"} {
		t.Run(target, func(t *testing.T) {
			f := newFixture(t)
			tgt := f.localTarget()
			fnTiki := "tiki"
			if target == "stack" {
				tgt = f.stackTarget(t)
				fnTiki = f.name + "-TikiFunction"
			}
			operatorCommands(t, f, tgt, fnTiki)
		})
	}
}

func operatorCommands(t *testing.T, f *fixture, tgt []string, fnTiki string) {
	ctx := t.Context()
	with := func(args ...string) []string { return append(args, tgt...) }
	start := time.Now().UTC().Add(-time.Second)

	// Events: Tiki orders, APIGift's samples (two of them quarantined).
	var tikiIDs []string
	for i := range 3 {
		id, outcome, status := f.deliver(t, "tiki", signedEvent(t, "-provider", "tiki", "-kind", "order", "-data", tikiOrder(fmt.Sprint(1000+i), "REF-IN-DATA-ONLY")))
		if status != 200 || outcome != "accepted" || id == "" {
			t.Fatalf("tiki order %d: %d %s %q", i, status, outcome, id)
		}
		tikiIDs = append(tikiIDs, id)
	}
	var quarantined []string
	for _, s := range awstest.Samples(t, eventsDir, "apigift", 10) {
		if devkit.MustReject(s.Name) {
			continue
		}
		id, outcome, _ := f.deliver(t, "apigift", s.Event)
		if outcome == "quarantined" {
			quarantined = append(quarantined, id)
		}
	}
	if len(quarantined) != 2 {
		t.Fatalf("%d quarantined apigift samples, want 2", len(quarantined))
	}
	store := eventstore.New(f.aws.DynamoDB, f.table)

	t.Run("status of a queued event", func(t *testing.T) {
		it, err := store.Get(ctx, "tiki", tikiIDs[0])
		if err != nil {
			t.Fatal(err)
		}
		if it.VerifiedBy == "" || it.MessageID == "" {
			t.Fatalf("stored item lacks verified_by or message_id: %+v", it)
		}
		out := mustCtl(t, with("status", tikiIDs[0])...)
		for _, want := range []string{"tiki", tikiIDs[0], "tiki.order", "1000", "queued", it.MessageID, "secret version " + it.VerifiedBy, fmtTime(it.ReceivedAt), fmtTime(it.QueuedAt), fmtTime(it.ExpiresAt)} {
			if !strings.Contains(out, want) {
				t.Errorf("status lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "REF-IN-DATA-ONLY") || strings.Contains(out, "ready_for_pickup") {
			t.Errorf("status shows the event's data:\n%s", out)
		}
		// -json, with -provider; the flags may follow the id.
		out = mustCtl(t, with("status", tikiIDs[0], "-provider", "tiki", "-json")...)
		if strings.Contains(out, "REF-IN-DATA-ONLY") || strings.Contains(out, `"data"`) {
			t.Errorf("status -json shows data: %s", out)
		}
		var got eventStatus
		dec := json.NewDecoder(strings.NewReader(out))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if got.Provider != "tiki" || got.EventID != tikiIDs[0] || got.Status != "queued" || got.MessageID != it.MessageID ||
			got.VerifiedBy != it.VerifiedBy || got.ReceivedAt == nil || !got.ReceivedAt.Equal(it.ReceivedAt) || got.ExpiresAt == nil {
			t.Errorf("status -json: %+v, item %+v", got, it)
		}
	})

	t.Run("status of a quarantined event and of none", func(t *testing.T) {
		out := mustCtl(t, with("status", quarantined[0])...)
		it, err := store.Get(ctx, "apigift", quarantined[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"apigift", "quarantined", it.Reason, "webhookctl reprocess -provider apigift " + quarantined[0]} {
			if want == "" || !strings.Contains(out, want) {
				t.Errorf("status lacks %q:\n%s", want, out)
			}
		}
		_, errOut, code := ctl(with("status", "no-such-event")...)
		if code != 1 || !strings.Contains(errOut, "no-such-event not found") {
			t.Errorf("unknown event: exit %d, %s", code, errOut)
		}
		// The event is APIGift's, not Tiki's.
		if _, _, code := ctl(with("status", "-provider", "tiki", quarantined[0])...); code != 1 {
			t.Errorf("status -provider tiki of an apigift event: exit %d", code)
		}
		if _, _, code := ctl(with("status")...); code != 2 {
			t.Errorf("status without an id: exit %d, want 2", code)
		}
	})

	t.Run("quarantine list", func(t *testing.T) {
		out := mustCtl(t, with("quarantine", "list")...)
		for _, id := range quarantined {
			it, err := store.Get(ctx, "apigift", id)
			if err != nil {
				t.Fatal(err)
			}
			line := lineWith(out, id)
			for _, want := range []string{"apigift", it.Type, fmtTime(it.ReceivedAt), "quarantined", it.Reason} {
				if !strings.Contains(line, want) {
					t.Errorf("quarantine list line of %s lacks %q: %q", id, want, line)
				}
			}
		}
		if !strings.Contains(out, "2 quarantined event(s)") {
			t.Errorf("quarantine list:\n%s", out)
		}
		if out := mustCtl(t, with("quarantine", "list", "-provider", "tiki")...); !strings.Contains(out, "0 quarantined") {
			t.Errorf("quarantine list -provider tiki:\n%s", out)
		}
	})

	t.Run("reprocess", func(t *testing.T) {
		// Still the wrong key: it stays quarantined, and says why.
		out := mustCtl(t, with("reprocess", "-provider", "apigift", quarantined[0])...)
		if !strings.Contains(out, "is quarantined") {
			t.Errorf("reprocess: %s", out)
		}
		// A queued event: the function refuses; its message, exit 1.
		_, errOut, code := ctl(with("reprocess", "-provider", "tiki", tikiIDs[1])...)
		if code != 1 || !strings.Contains(errOut, ": AlreadyQueued: ") || !strings.Contains(errOut, tikiIDs[1]) {
			t.Errorf("reprocess of a queued event: exit %d, %s", code, errOut)
		}
		// An unknown event: the function says so, by its stable error type.
		_, errOut, code = ctl(with("reprocess", "-provider", "tiki", "no-such-event")...)
		if code != 1 || !strings.Contains(errOut, ": EventNotFound: ") || !strings.Contains(errOut, "no-such-event") {
			t.Errorf("reprocess of an unknown event: exit %d, %s", code, errOut)
		}
		if _, _, code := ctl(with("reprocess", tikiIDs[1])...); code != 2 {
			t.Errorf("reprocess without -provider: exit %d, want 2", code)
		}
	})

	t.Run("redrive", func(t *testing.T) {
		out := mustCtl(t, with("redrive", "-all", "-older-than", "0s")...)
		for _, p := range []string{"tiki", "apigift", "alchemypay", "oslpay"} {
			if !strings.Contains(out, p+": found 0, sent 0, failed 0") {
				t.Errorf("redrive -all lacks %s:\n%s", p, out)
			}
		}
		// A queue outage: the event is stored, not queued.
		q := f.queues["tiki"]
		if err := f.aws.DeleteQueue(ctx, q.URL); err != nil {
			t.Fatal(err)
		}
		id, _, status := f.deliver(t, "tiki", signedEvent(t, "-provider", "tiki", "-kind", "order", "-data", tikiOrder("2000", "R")))
		if status != 503 {
			t.Fatalf("send to a missing queue: %d", status)
		}
		if out := mustCtl(t, with("status", id)...); !strings.Contains(out, "stored") || !strings.Contains(out, "redrive") {
			t.Errorf("status of a stranded event:\n%s", out)
		}
		// Still no queue: found, not sent, exit 1.
		out, _, code := ctl(with("redrive", "-provider", "tiki", "-older-than", "0s")...)
		if code != 1 || !strings.Contains(out, "tiki: found 1, sent 0, failed 1") {
			t.Errorf("redrive without a queue: exit %d\n%s", code, out)
		}
		name := strings.TrimSuffix(q.URL[strings.LastIndex(q.URL, "/")+1:], ".fifo")
		if _, err := f.aws.CreateQueue(ctx, name); err != nil {
			t.Fatal(err)
		}
		out = mustCtl(t, with("redrive", "-provider", "tiki", "-older-than", "0s", "-sweep")...)
		if !strings.Contains(out, "tiki: found 1, sent 1, failed 0") {
			t.Errorf("redrive:\n%s", out)
		}
		if out := mustCtl(t, with("status", id, "-provider", "tiki")...); !regexp.MustCompile(`status\s+queued`).MatchString(out) {
			t.Errorf("status after the redrive:\n%s", out)
		}
		msgs, err := f.aws.Drain(ctx, q.URL)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || msgs[0].Event.ID != id {
			t.Errorf("queue after the redrive: %+v", msgs)
		}
		if _, _, code := ctl(with("redrive", "-provider", "tiki", "-all")...); code != 2 {
			t.Errorf("redrive -provider and -all: exit %d, want 2", code)
		}
	})

	t.Run("replay", func(t *testing.T) {
		from, to := start.Format(time.RFC3339), time.Now().UTC().Add(time.Minute).Format(time.RFC3339)
		out := mustCtl(t, with("replay", "-provider", "tiki", "-from", from, "-to", to, "-dry-run")...)
		if !strings.Contains(out, "dry run: 4 event(s)") {
			t.Errorf("replay -dry-run:\n%s", out)
		}
		out = mustCtl(t, with("replay", "-provider", "tiki", "-from", from, "-to", to, "-subject", "1001", "-type", "tiki.order.status_changed")...)
		if !strings.Contains(out, "matched 1, sent 1") {
			t.Errorf("replay:\n%s", out)
		}
		msgs, err := f.aws.Drain(ctx, f.queues["tiki"].URL)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || msgs[0].Event.ID != tikiIDs[1] || !strings.Contains(msgs[0].Body, `"replayid"`) {
			t.Errorf("replayed messages: %+v", msgs)
		}
		// tail shows a replayed copy's replayid beside its id.
		out = mustCtl(t, with("replay", "-provider", "tiki", "-from", from, "-to", to, "-subject", "1001")...)
		m := regexp.MustCompile(`replay (\S+): matched 1, sent 1`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("replay:\n%s", out)
		}
		out = mustCtl(t, with("tail", "-provider", "tiki", "-consume")...)
		if !strings.Contains(out, "id "+tikiIDs[1]+"  replayid "+m[1]+"  source webhooks/tiki") || !strings.Contains(out, "1 message(s)") {
			t.Errorf("tail of a replayed copy does not show replayid %s:\n%s", m[1], out)
		}
		// The function refuses a type not of the provider: its message, exit 1.
		_, errOut, code := ctl(with("replay", "-provider", "tiki", "-from", from, "-to", to, "-type", "nope")...)
		if code != 1 || !strings.Contains(errOut, `: InvalidCommand: replay: type "nope"`) {
			t.Errorf("replay -type nope: exit %d, %s", code, errOut)
		}
		if _, _, code := ctl(with("replay", "-provider", "tiki", "-from", "yesterday", "-to", to)...); code != 2 {
			t.Errorf("replay -from yesterday: exit %d, want 2", code)
		}
	})

	// Operator commands went to the target's function names.
	seen := false
	for _, fn := range f.invocations() {
		seen = seen || fn == fnTiki
	}
	if !seen {
		t.Errorf("function %s never invoked: %v", fnTiki, f.invocations())
	}
}

func lineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}
