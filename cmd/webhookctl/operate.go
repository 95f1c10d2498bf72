package main

// Operator commands: status and quarantine list read the table; redrive,
// replay and reprocess invoke the provider's function with its command.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"webhooks/internal/devkit/kits"
	"webhooks/shared/eventstore"
	"webhooks/shared/pipeline"
)

// newFlagSet returns a flag set whose -h prints usage (the command line after
// "webhookctl") and about, then the flags.
func newFlagSet(name, usage, about string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: webhookctl %s\n\n%s\n\n", usage, strings.TrimSpace(about))
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses flags wherever they are among the arguments
// ("status ID -provider P" as well as "status -provider P ID") and returns the
// other arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		// After "--" everything is an argument.
		if n := len(args) - fs.NArg(); n > 0 && args[n-1] == "--" {
			return append(pos, fs.Args()...), nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// parseExactly is parseArgs for a command that takes exactly want other
// arguments (missing: what to say when they are not there).
func parseExactly(fs *flag.FlagSet, args []string, want int, missing string) ([]string, error) {
	pos, err := parseArgs(fs, args)
	switch {
	case err != nil:
		return nil, err
	case len(pos) > want:
		return nil, usageErr(fs, "unexpected argument %q", pos[want])
	case len(pos) < want:
		return nil, usageErr(fs, "%s", missing)
	}
	return pos, nil
}

// usageErr explains a usage error on the flag set's output.
func usageErr(fs *flag.FlagSet, format string, args ...any) error {
	fmt.Fprintf(fs.Output(), "webhookctl %s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fmt.Fprintf(fs.Output(), "Run \"webhookctl %s -h\" for its flags.\n", fs.Name())
	return errUsage
}

// providerList is -provider P, or every provider when P is empty.
func providerList(fs *flag.FlagSet, p string) ([]string, error) {
	if p == "" {
		return kits.Names(), nil
	}
	if _, err := kits.Get(p); err != nil {
		return nil, usageErr(fs, "%v", err)
	}
	return []string{p}, nil
}

// oneProvider is a required -provider P.
func oneProvider(fs *flag.FlagSet, p string) (string, error) {
	if p == "" {
		return "", usageErr(fs, "-provider is required (one of %s)", strings.Join(kits.Names(), ", "))
	}
	if _, err := kits.Get(p); err != nil {
		return "", usageErr(fs, "%v", err)
	}
	return p, nil
}

func commandContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// open starts a command: a context that Ctrl-C cancels, and its target.
func (tf *targetFlags) open() (context.Context, context.CancelFunc, *target, error) {
	ctx, stop := commandContext()
	t, err := tf.resolve(ctx)
	if err != nil {
		stop()
		return nil, nil, nil, err
	}
	return ctx, stop, t, nil
}

const timeLayout = "2006-01-02T15:04:05.000Z07:00"

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(timeLayout)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// eventStatus is what status tells of an event: never its data.
type eventStatus struct {
	Provider    string     `json:"provider"`
	EventID     string     `json:"eventId"`
	Type        string     `json:"type"`
	Subject     string     `json:"subject,omitempty"`
	Status      string     `json:"status"`
	ReceivedAt  *time.Time `json:"receivedAt,omitempty"`
	QueuedAt    *time.Time `json:"queuedAt,omitempty"`
	UpdatedAt   *time.Time `json:"updatedAt,omitempty"`
	MessageID   string     `json:"messageId,omitempty"`
	Reason      string     `json:"reason,omitempty"`
	VerifiedBy  string     `json:"verifiedBy,omitempty"` // the secret version id
	ExpiresAt   *time.Time `json:"expiresAt,omitempty"`
	Deprecated  bool       `json:"deprecated,omitempty"`
	DataDropped bool       `json:"dataDropped,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func statusOf(it *eventstore.Item) eventStatus {
	return eventStatus{
		Provider: it.Provider, EventID: it.EventID, Type: it.Type, Subject: it.Subject, Status: string(it.Status),
		ReceivedAt: timePtr(it.ReceivedAt), QueuedAt: timePtr(it.QueuedAt), UpdatedAt: timePtr(it.UpdatedAt),
		MessageID: it.MessageID, Reason: it.Reason, VerifiedBy: it.VerifiedBy, ExpiresAt: timePtr(it.ExpiresAt),
		Deprecated: it.Deprecated, DataDropped: it.DataDropped,
	}
}

// where says in a sentence where the event is and what moves it on.
func where(it *eventstore.Item) string {
	switch it.Status {
	case eventstore.StatusQueued:
		return "on the queue: sent as message " + dash(it.MessageID)
	case eventstore.StatusStored:
		return "stored, not confirmed on the queue: the scheduled redrive sends it (now: webhookctl redrive -provider " + it.Provider + " -older-than 0s)"
	case eventstore.StatusQuarantined:
		if it.DataDropped {
			return "quarantined, its data too large to keep: it cannot be re-processed from the table"
		}
		return "quarantined: fix the cause, then webhookctl reprocess -provider " + it.Provider + " " + it.EventID
	}
	return string(it.Status)
}

func printStatus(w io.Writer, it *eventstore.Item) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("provider", it.Provider)
	row("event id", it.EventID)
	row("type", dash(it.Type))
	row("subject", dash(it.Subject))
	row("status", string(it.Status))
	row("where", where(it))
	row("received", fmtTime(it.ReceivedAt))
	row("queued at", fmtTime(it.QueuedAt))
	row("updated", fmtTime(it.UpdatedAt))
	row("message id", dash(it.MessageID))
	row("reason", dash(it.Reason))
	row("verified by", "secret version "+dash(it.VerifiedBy))
	exp := fmtTime(it.ExpiresAt)
	if it.ExpiresAt.IsZero() {
		exp = "- (no TTL while quarantined)"
	}
	row("expires", exp)
	if it.Deprecated {
		row("deprecated", "yes (an event type the provider retired)")
	}
	_ = tw.Flush()
}

func runStatus(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("status", "status [-provider P] [-json] EVENT_ID", `
Where an event is: stored (not yet confirmed on the queue), queued (with its
message id) or quarantined (with the reason); when it was received, queued and
last updated, which secret version verified it and when it expires. Never its
data. Without -provider every provider's events are looked up in turn.
Exit status 1 when no provider has the event.`, stderr)
	tf := addTargetFlags(fs)
	provider := fs.String("provider", "", "the event's provider (default: look in each: "+strings.Join(kits.Names(), ", ")+")")
	asJSON := fs.Bool("json", false, "print one JSON object per event found")
	pos, err := parseExactly(fs, args, 1, "give one event id")
	if err != nil {
		return err
	}
	id := pos[0]
	list, err := providerList(fs, *provider)
	if err != nil {
		return err
	}
	ctx, stop, t, err := tf.open()
	if err != nil {
		return err
	}
	defer stop()
	st := t.store()
	found := 0
	for _, p := range list {
		it, err := st.Get(ctx, p, id)
		if errors.Is(err, eventstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if found > 0 && !*asJSON {
			fmt.Fprintln(stdout)
		}
		found++
		if *asJSON {
			if err := json.NewEncoder(stdout).Encode(statusOf(it)); err != nil {
				return err
			}
			continue
		}
		printStatus(stdout, it)
	}
	if found == 0 {
		return fmt.Errorf("event %s not found in %s (looked up as an event of %s): never received, or expired since", id, t.desc, strings.Join(list, ", "))
	}
	return nil
}

func runQuarantine(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "list" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fmt.Fprintln(stdout, "usage: webhookctl quarantine list [-provider P] [-json]")
			return flag.ErrHelp
		}
		fmt.Fprintln(stderr, "usage: webhookctl quarantine list [-provider P] [-json]")
		return errUsage
	}
	fs := newFlagSet("quarantine list", "quarantine list [-provider P] [-json]", `
The quarantined events (authentic, but not processable: see the reason), oldest
first, from the table's sparse quarantine index: id, type, received, status
and reason, never data. An event released for re-processing but not yet sent
shows status stored. Re-process one with webhookctl reprocess.`, stderr)
	tf := addTargetFlags(fs)
	provider := fs.String("provider", "", "only this provider's (default: every provider's)")
	asJSON := fs.Bool("json", false, "print one JSON object per event")
	if _, err := parseExactly(fs, args[1:], 0, ""); err != nil {
		return err
	}
	list, err := providerList(fs, *provider)
	if err != nil {
		return err
	}
	ctx, stop, t, err := tf.open()
	if err != nil {
		return err
	}
	defer stop()
	st := t.store()
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	if !*asJSON {
		fmt.Fprintln(tw, "PROVIDER\tEVENT ID\tTYPE\tRECEIVED\tSTATUS\tREASON")
	}
	total := 0
	for _, p := range list {
		items, err := st.Quarantined(ctx, p)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		for _, it := range items {
			total++
			if *asJSON {
				if err := json.NewEncoder(stdout).Encode(statusOf(it)); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p, it.EventID, dash(it.Type), fmtTime(it.ReceivedAt), it.Status, dash(it.Reason))
		}
	}
	if *asJSON {
		return nil
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d quarantined event(s) in %s\n", total, t.desc)
	return nil
}

func runRedrive(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("redrive", "redrive (-provider P | -all) [-older-than 5m] [-sweep] [-json]", `
Invokes the provider's function with {"redrive": {"olderThan": ..., "sweep": ...}}:
it sends every event stored but not confirmed queued for longer than
-older-than, then marks it queued (the stack also runs it every 5 minutes).
It reads the markers a failed send leaves; -sweep also scans the whole table
(for an event whose function was killed between storing and sending it: a
full read of the table, use it rarely). Prints found, sent and failed per
provider; exit status 1 when a function failed or an event stays unsent.`, stderr)
	tf := addTargetFlags(fs)
	provider := fs.String("provider", "", "the provider ("+strings.Join(kits.Names(), ", ")+")")
	all := fs.Bool("all", false, "every provider in turn")
	olderThan := fs.Duration("older-than", 5*time.Minute, "only events stored at least this long ago (a Go duration)")
	sweep := fs.Bool("sweep", false, "also scan the table for stored events no marker names")
	asJSON := fs.Bool("json", false, "print each function's reply as JSON (one line per provider)")
	if _, err := parseExactly(fs, args, 0, ""); err != nil {
		return err
	}
	if (*provider == "") == !*all {
		return usageErr(fs, "give -provider P or -all")
	}
	if *olderThan < 0 {
		return usageErr(fs, "-older-than must not be negative")
	}
	list, err := providerList(fs, *provider)
	if err != nil {
		return err
	}
	ctx, stop, t, err := tf.open()
	if err != nil {
		return err
	}
	defer stop()
	cmd := pipeline.Command{Redrive: &pipeline.RedriveCommand{OlderThan: olderThan.String(), Sweep: *sweep}}
	var failed []string
	stranded, missing := 0, 0
	for _, p := range list {
		var res pipeline.RedriveResult
		if err := t.invoke(ctx, p, cmd, &res); err != nil {
			fmt.Fprintf(stderr, "webhookctl: %s: %v\n", p, err)
			failed = append(failed, p)
			continue
		}
		stranded += res.Failed
		missing += res.Missing
		if *asJSON {
			if err := json.NewEncoder(stdout).Encode(struct {
				Provider string `json:"provider"`
				pipeline.RedriveResult
			}{p, res}); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(stdout, "%s: found %d, sent %d, failed %d", p, res.Found, res.Sent, res.Failed)
		if res.Quarantined > 0 {
			fmt.Fprintf(stdout, ", quarantined %d (see webhookctl quarantine list)", res.Quarantined)
		}
		if res.Remaining > 0 {
			fmt.Fprintf(stdout, ", %d not tried in the function's time (the next run takes them)", res.Remaining)
		}
		if res.Missing > 0 {
			fmt.Fprintf(stdout, ", %d missing (marked unsent, gone from the table: see the function's log)", res.Missing)
		}
		fmt.Fprintln(stdout)
	}
	switch {
	case len(failed) > 0:
		return fmt.Errorf("redrive failed for %s", strings.Join(failed, ", "))
	case missing > 0:
		return fmt.Errorf("%d event(s) marked unsent are gone from the table: the function's log names them (docs/OPERATIONS.md)", missing)
	case stranded > 0:
		return fmt.Errorf("%d event(s) still not sent: the function's log says why; the next run tries again", stranded)
	}
	return nil
}

// stringsFlag is a repeatable string flag.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

func runReplay(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("replay", "replay -provider P -from T -to T [-type X]... [-subject S]... [-dry-run] [-replay-id ID] [-follow]", `
Invokes the provider's function with {"replay": {...}}: every queued event
received in [-from, -to) (RFC 3339 times), optionally only of the given types
and subjects, is sent to the queue again, oldest first, with its original
CloudEvent id, subject and data and the extension attribute replayid.
Consumers de-duplicate on the id. It scans the whole table (a rare operator
action). -dry-run only counts. When the window does not finish in the
function's time the reply says how to resume: the exact command is printed,
and -follow runs it (again) until the replay is done.`, stderr)
	tf := addTargetFlags(fs)
	provider := fs.String("provider", "", "the provider ("+strings.Join(kits.Names(), ", ")+")")
	from := fs.String("from", "", "start of the window of receipt, inclusive (RFC 3339)")
	to := fs.String("to", "", "end of the window of receipt, exclusive (RFC 3339)")
	var types, subjects stringsFlag
	fs.Var(&types, "type", "only events of this CloudEvents type (repeatable)")
	fs.Var(&subjects, "subject", "only events of this subject (repeatable)")
	dryRun := fs.Bool("dry-run", false, "count the matching events, send nothing")
	replayID := fs.String("replay-id", "", "resume this replay (its id is printed by the run that did not finish)")
	follow := fs.Bool("follow", false, "keep invoking the resume command until the replay is done")
	asJSON := fs.Bool("json", false, "print each reply as JSON")
	if _, err := parseExactly(fs, args, 0, ""); err != nil {
		return err
	}
	p, err := oneProvider(fs, *provider)
	if err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return usageErr(fs, "-from and -to are required (RFC 3339 times, such as %s)", time.Now().UTC().Truncate(time.Hour).Format(time.RFC3339))
	}
	for _, v := range []string{*from, *to} {
		if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
			return usageErr(fs, "%q is not an RFC 3339 time (such as %s)", v, time.Now().UTC().Truncate(time.Hour).Format(time.RFC3339))
		}
	}
	ctx, stop, t, err := tf.open()
	if err != nil {
		return err
	}
	defer stop()
	cmd := &pipeline.ReplayCommand{From: *from, To: *to, Types: types, Subjects: subjects, DryRun: *dryRun, ReplayID: *replayID}
	var total pipeline.ReplayResult
	for round := 1; ; round++ {
		var res pipeline.ReplayResult
		if err := t.invoke(ctx, p, pipeline.Command{Replay: cmd}, &res); err != nil {
			if round > 1 {
				fmt.Fprintf(stderr, "webhookctl: resume it with:\n  %s\n", replayCommandLine(tf, p, cmd))
			}
			return err
		}
		total.Sent += res.Sent
		total.Failed += res.Failed
		if round == 1 {
			total.Matched = res.Matched
		}
		total.ReplayID = res.ReplayID
		if *asJSON {
			if err := json.NewEncoder(stdout).Encode(res); err != nil {
				return err
			}
		} else {
			printReplay(stdout, p, cmd, res)
		}
		if res.Resume == nil {
			if round > 1 && !*asJSON {
				fmt.Fprintf(stdout, "replay %s done in %d invocations: sent %d, failed %d\n", total.ReplayID, round, total.Sent, total.Failed)
			}
			return nil
		}
		next := res.Resume
		line := replayCommandLine(tf, p, next)
		if !*follow {
			fmt.Fprintf(stdout, "not finished in the function's time; resume with:\n  %s\n", line)
			return nil
		}
		// A round that sent nothing and did not move on would repeat forever
		// (SQS failing): stop and say how to resume.
		if res.Sent == 0 && res.Failed == 0 && next.From == cmd.From {
			return fmt.Errorf("replay %s made no progress (the function's log says why); resume later with:\n  %s", res.ReplayID, line)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted; resume with:\n  %s", line)
		}
		cmd = next
	}
}

func printReplay(w io.Writer, provider string, cmd *pipeline.ReplayCommand, res pipeline.ReplayResult) {
	if cmd.DryRun {
		fmt.Fprintf(w, "%s: dry run: %d event(s) received in [%s, %s) match; nothing sent\n", provider, res.Matched, cmd.From, cmd.To)
		return
	}
	fmt.Fprintf(w, "%s: replay %s: matched %d, sent %d", provider, res.ReplayID, res.Matched, res.Sent)
	if res.Failed > 0 {
		fmt.Fprintf(w, ", failed %d (the function's log names them)", res.Failed)
	}
	fmt.Fprintln(w)
}

// replayCommandLine is the webhookctl command that runs cmd.
func replayCommandLine(tf *targetFlags, provider string, cmd *pipeline.ReplayCommand) string {
	args := append([]string{"webhookctl", "replay"}, tf.args()...)
	args = append(args, "-provider", provider, "-from", cmd.From, "-to", cmd.To)
	for _, t := range cmd.Types {
		args = append(args, "-type", t)
	}
	for _, s := range cmd.Subjects {
		args = append(args, "-subject", s)
	}
	if cmd.DryRun {
		args = append(args, "-dry-run")
	}
	if cmd.ReplayID != "" {
		args = append(args, "-replay-id", cmd.ReplayID)
	}
	for i, a := range args {
		args[i] = shellArg(a)
	}
	return strings.Join(args, " ")
}

// shellArg quotes s for a POSIX shell when it needs it.
func shellArg(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=+,@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func runReprocess(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("reprocess", "reprocess -provider P [-json] EVENT_ID", `
Invokes the provider's function with {"reprocess": {"eventId": ...}}: a
quarantined event (or one stored but not queued) is processed again with the
current secret and queued when it now succeeds. Prints its new status; exit
status 1 when the function refuses (an event already queued, one whose data
was not kept) or fails.`, stderr)
	tf := addTargetFlags(fs)
	provider := fs.String("provider", "", "the event's provider ("+strings.Join(kits.Names(), ", ")+")")
	asJSON := fs.Bool("json", false, "print the reply as JSON")
	pos, err := parseExactly(fs, args, 1, "give one event id")
	if err != nil {
		return err
	}
	p, err := oneProvider(fs, *provider)
	if err != nil {
		return err
	}
	ctx, stop, t, err := tf.open()
	if err != nil {
		return err
	}
	defer stop()
	var res pipeline.ReprocessResult
	if err := t.invoke(ctx, p, pipeline.Command{Reprocess: &pipeline.ReprocessCommand{EventID: pos[0]}}, &res); err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "%s: event %s is %s", p, res.EventID, res.Status)
	if res.Reason != "" {
		fmt.Fprintf(stdout, " (%s)", res.Reason)
	}
	fmt.Fprintln(stdout)
	return nil
}
