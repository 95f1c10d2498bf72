package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"webhooks/internal/devkit/kits"
	"webhooks/internal/localrun"
	"webhooks/shared/contract"
	"webhooks/shared/pipeline"
)

// The stack's outputs name the table and each provider's resources; a stack
// that is missing, or not this project's, is a clear error.
func TestStackResolution(t *testing.T) {
	f := newFixture(t)
	tgt := f.stackTarget(t)
	tf := &targetFlags{stack: tgt[1], region: "us-east-1"}
	got, err := tf.resolve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got.table != f.table || got.stack != tgt[1] || !strings.Contains(got.desc, "us-east-1") {
		t.Errorf("target %+v", got)
	}
	for _, k := range kits.All {
		fn, _ := got.function(k.Name)
		q, _ := got.queue(k.Name)
		dlq, _ := got.deadLetterQueue(k.Name)
		if fn != f.name+"-"+k.Title+"Function" || q != f.queues[k.Name].URL || dlq != f.queues[k.Name].DLQURL {
			t.Errorf("%s: function %q queue %q dlq %q", k.Name, fn, q, dlq)
		}
	}

	// WEBHOOKS_STACK selects the stack when -stack is not given.
	t.Setenv(EnvStack, tgt[1])
	if out := mustCtl(t, "quarantine", "list"); !strings.Contains(out, "stack "+tgt[1]) {
		t.Errorf("quarantine list with %s set:\n%s", EnvStack, out)
	}
	// -stack= overrides it: the make run (here: none).
	if _, errOut, code := ctl("quarantine", "list", "-stack=", "-state", filepath.Join(t.TempDir(), "none.json")); code != 1 || !strings.Contains(errOut, "no running make run") {
		t.Errorf("-stack= without a make run: exit %d, %s", code, errOut)
	}
	t.Setenv(EnvStack, "")

	_, errOut, code := ctl("status", "x", "-stack", "no-such-stack", "-region", "us-east-1")
	if code != 1 || !strings.Contains(errOut, "no-such-stack") {
		t.Errorf("missing stack: exit %d, %s", code, errOut)
	}
	// A stack of something else: no table output.
	other := f.name + "-other"
	createStack(t, f.aws, other, map[string]any{"Something": map[string]string{"Value": "x"}})
	_, errOut, code = ctl("status", "x", "-stack", other, "-region", "us-east-1")
	if code != 1 || !strings.Contains(errOut, "no output "+contract.OutputTable) {
		t.Errorf("stack without outputs: exit %d, %s", code, errOut)
	}
	// A stack without a provider's outputs: named in the error when used.
	partial := f.name + "-partial"
	createStack(t, f.aws, partial, map[string]any{contract.OutputTable: map[string]string{"Value": f.table}})
	k := kits.All[0]
	_, errOut, code = ctl("reprocess", "-provider", k.Name, "x", "-stack", partial, "-region", "us-east-1")
	if code != 1 || !strings.Contains(errOut, "no output "+k.Title+contract.OutputFunctionName) {
		t.Errorf("stack without function outputs: exit %d, %s", code, errOut)
	}
	if _, errOut, code := ctl("status", "x", "-region", "us-east-1"); code != 2 && code != 1 || !strings.Contains(errOut, "-stack") {
		t.Errorf("-region without -stack: exit %d, %s", code, errOut)
	}
}

// Without -stack and without a make run: the error says how to get a target.
func TestLocalResolution(t *testing.T) {
	t.Setenv(EnvStack, "")
	state := filepath.Join(t.TempDir(), "local.json")
	_, errOut, code := ctl("status", "x", "-state", state)
	if code != 1 || !strings.Contains(errOut, "no running make run") || !strings.Contains(errOut, "-stack") {
		t.Errorf("no state: exit %d, %s", code, errOut)
	}
	gw := newGatewayStub(t) // the run's gateway must be listening
	st := localrun.State{Gateway: gw.URL, Table: "t", AWS: localrun.AWSEnv{Endpoint: "http://127.0.0.1:1", Region: "eu-west-1"}, Queues: map[string]string{"a": "qa"}, DLQs: map[string]string{"a": "da"}}
	if err := localrun.WriteState(state, st); err != nil {
		t.Fatal(err)
	}
	got, err := (&targetFlags{state: state}).resolve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got.table != "t" || got.queues["a"] != "qa" || got.dlqs["a"] != "da" || got.stack != "" {
		t.Errorf("local target %+v", got)
	}
	for _, name := range kits.Names() {
		if fn, _ := got.function(name); fn != name {
			t.Errorf("local function of %s: %q", name, fn)
		}
	}
}

// A replay that does not finish prints the exact command that resumes it;
// -follow runs it until done, and stops when a round makes no progress.
func TestReplayResume(t *testing.T) {
	t.Setenv(EnvStack, "")
	var mu sync.Mutex
	var got []pipeline.ReplayCommand
	stuck := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var cmd pipeline.Command
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &cmd); err != nil || cmd.Replay == nil || !strings.HasSuffix(r.URL.Path, "/functions/"+kits.Names()[0]+"/invocations") {
			http.Error(w, "bad request", 400)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		got = append(got, *cmd.Replay)
		res := pipeline.ReplayResult{Matched: 3, Sent: 2, ReplayID: "r1"}
		switch {
		case stuck:
			res.Sent = 0
			res.Resume = &pipeline.ReplayCommand{From: cmd.Replay.From, To: cmd.Replay.To, ReplayID: "r1"}
		case cmd.Replay.ReplayID == "":
			next := *cmd.Replay
			next.From, next.ReplayID = "2026-01-01T10:30:00.5Z", "r1"
			res.Resume = &next
		default:
			res.Matched, res.Sent = 1, 1
		}
		_ = json.NewEncoder(w).Encode(res)
	}))
	defer srv.Close()
	dir := t.TempDir()
	state := filepath.Join(dir, "local.json")
	if err := localrun.WriteState(state, localrun.State{Gateway: srv.URL, Table: "t", AWS: localrun.AWSEnv{Endpoint: srv.URL}}); err != nil {
		t.Fatal(err)
	}
	p := kits.Names()[0]
	args := []string{"replay", "-state", state, "-provider", p, "-from", "2026-01-01T10:00:00Z", "-to", "2026-01-01T11:00:00Z", "-subject", "a b"}
	out := mustCtl(t, args...)
	want := "webhookctl replay -state " + shellArg(state) + " -provider " + p + " -from 2026-01-01T10:30:00.5Z -to 2026-01-01T11:00:00Z -subject 'a b' -replay-id r1"
	if !strings.Contains(out, "resume with:\n  "+want+"\n") {
		t.Fatalf("no resume command line %q in:\n%s", want, out)
	}
	// The printed command resumes it.
	resumeArgs := []string{"replay", "-state", state, "-provider", p, "-from", "2026-01-01T10:30:00.5Z", "-to", "2026-01-01T11:00:00Z", "-subject", "a b", "-replay-id", "r1"}
	if out := mustCtl(t, resumeArgs...); !strings.Contains(out, "replay r1: matched 1, sent 1") || strings.Contains(out, "resume") {
		t.Errorf("resumed:\n%s", out)
	}
	mu.Lock()
	if n := len(got); n != 2 || got[1].ReplayID != "r1" || got[1].From != "2026-01-01T10:30:00.5Z" || len(got[1].Subjects) != 1 {
		t.Errorf("commands sent: %+v", got)
	}
	got = nil
	mu.Unlock()

	out = mustCtl(t, append(args, "-follow")...)
	if !strings.Contains(out, "replay r1 done in 2 invocations: sent 3") {
		t.Errorf("-follow:\n%s", out)
	}
	mu.Lock()
	stuck = true
	mu.Unlock()
	_, errOut, code := ctl(append(args, "-follow")...)
	if code != 1 || !strings.Contains(errOut, "no progress") || !strings.Contains(errOut, "-replay-id r1") {
		t.Errorf("-follow without progress: exit %d, %s", code, errOut)
	}
}

// Every command is in the usage text; every command's -h exits 0.
func TestUsage(t *testing.T) {
	out, _, code := ctl("-h")
	if code != 0 {
		t.Fatalf("-h: exit %d", code)
	}
	cmds := [][]string{
		{"sign"}, {"send"}, {"gen-events"}, {"resign"}, {"status"}, {"quarantine", "list"}, {"reprocess"},
		{"redrive"}, {"replay"}, {"dlq", "redrive"}, {"tail"},
	}
	for _, c := range cmds {
		if !strings.Contains(out, "webhookctl "+strings.Join(c, " ")) {
			t.Errorf("usage lacks %q", strings.Join(c, " "))
		}
		stdout, stderr, code := ctl(append(c, "-h")...)
		if code != 0 || !strings.Contains(stdout+stderr, "-") {
			t.Errorf("%s -h: exit %d", strings.Join(c, " "), code)
		}
	}
	for _, c := range [][]string{{"quarantine", "-h"}, {"dlq", "-h"}, {"help"}} {
		if _, _, code := ctl(c...); code != 0 {
			t.Errorf("%s: exit %d", strings.Join(c, " "), code)
		}
	}
	for _, c := range [][]string{{}, {"nope"}, {"quarantine"}, {"dlq"}, {"dlq", "redrive"}, {"tail"}} {
		if _, _, code := ctl(c...); code != 2 {
			t.Errorf("%q: exit %d, want 2", c, code)
		}
	}
}
