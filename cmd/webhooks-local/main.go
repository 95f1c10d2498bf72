// Command webhooks-local runs the whole webhook system on this machine, as
// `sam local start-api` would: a local AWS API (moto_server, or the endpoint
// in AWS_ENDPOINT_URL), the table, queues and development secrets, every
// function's real bootstrap under the official AWS Lambda Runtime Interface
// Emulator, and the API gateway on 127.0.0.1:3000. `make run` builds the host
// binaries, installs the emulator and starts it; `make demo` also sends every
// sample in events/ and exits. With -consumer it also runs the example
// consumer (examples/consumer) on every provider queue through a local SQS
// event source mapping.
//
// It builds and installs nothing itself: -bin must hold <provider>/bootstrap
// binaries built for this machine (make run-bin), and the emulator must be
// where WEBHOOKS_RIE says or where `make tools` puts it.
package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"webhooks/infra/spec"
	"webhooks/internal/devkit/kits"
	"webhooks/internal/localrun"
	"webhooks/shared/contract"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout)
	stop()
	os.Exit(code)
}

// run is the whole command; it returns when ctx ends (or after the demo with
// -exit) with every child stopped, and gives the exit status.
func run(ctx context.Context, args []string, out io.Writer) int {
	fs := flag.NewFlagSet("webhooks-local", flag.ContinueOnError)
	fs.SetOutput(out)
	addr := fs.String("addr", "127.0.0.1:3000", "address the gateway listens on (loopback)")
	bin := fs.String("bin", ".run/bin", "directory holding <provider>/bootstrap built for this machine")
	eventsDir := fs.String("events", "events", "directory of sample events and dev-secrets.json")
	logDirFlag := fs.String("logs", "", "directory for function and moto_server logs (default "+runLogDir+"; "+demoLogDir+" with -demo -exit)")
	verbose := fs.Bool("v", false, "also print the functions' own log lines on the console")
	demo := fs.Bool("demo", false, "after start, send every sample in -events and print a summary")
	exit := fs.Bool("exit", false, "with -demo: stop after the demo (exit status 1 when a sample failed)")
	timeout := fs.Duration("timeout", spec.FunctionTimeout, "per-invocation timeout of each function (whole seconds, as on Lambda; default the stack's)")
	stage := fs.String("stage", spec.DefaultStage, "the stage whose metrics namespace the functions emit in (Webhooks/<stage>, as the stack's alarms read)")
	scheduleSpeed := fs.Float64("schedule-speed", 1, "divide the stack's redrive schedules by this (1: every 5 minutes and every day, as deployed; 60 for a demo: every 5 s and every 24 min)")
	withConsumer := fs.Bool("consumer", false, "also run the example consumer (examples/consumer, built into -bin/consumer/bootstrap) on every provider queue, through a local SQS event source mapping")
	consumerBatch := fs.Int("consumer-batch", spec.DefaultConsumerBatchSize, "with -consumer: the event source mapping's batch size (1 to 10; the stack's default 1 keeps a poison message's group out of the dead-letter queue)")
	consumerIdempotency := fs.Bool("consumer-idempotency", spec.DefaultConsumerIdempotency, "with -consumer: give the example its idempotency table, as the stack does")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	oneShot := *demo && *exit
	// A one-shot demo never writes where `make run` does: not its logs, not its state file.
	wantLogDir := *logDirFlag
	if wantLogDir == "" {
		wantLogDir = runLogDir
		if oneShot {
			wantLogDir = demoLogDir
		}
	}

	var outMu sync.Mutex
	out = lockedWriter{&outMu, out}
	logf := func(format string, args ...any) {
		fmt.Fprintf(out, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}

	// Take the port first: a busy port should fail before anything starts.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		logf("cannot listen on %s: %v (another `make run`? use -addr)", *addr, err)
		return 1
	}
	baseURL := "http://" + ln.Addr().String()

	_, port, _ := net.SplitHostPort(ln.Addr().String())
	logDir, releaseLogs, err := claimLogDir(wantLogDir, port, self(baseURL))
	if err != nil {
		ln.Close()
		logf("log directory: %v", err)
		return 1
	}
	defer releaseLogs()
	if logDir != wantLogDir {
		logf("another webhooks-local writes to %s: this run's logs go to %s", wantLogDir, logDir)
	}
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	openLog := func(name string) *os.File {
		f, err := os.Create(filepath.Join(logDir, name+".log"))
		if err != nil {
			logf("log file: %v", err)
			return nil
		}
		files = append(files, f)
		return f
	}

	awsEnv := localrun.AWSEnvFromEnvironment(os.Getenv)
	cfg := localrun.Config{
		SecretsFile: filepath.Join(*eventsDir, "dev-secrets.json"),
		BinDir:      *bin,
		AWS:         awsEnv,
		Logf:        logf,
		GatewayLog:  out,
		Timeout:     *timeout,
		Stage:       *stage,
		FunctionOutput: func(provider string) io.Writer {
			f := openLog(provider)
			if f == nil {
				return io.Discard
			}
			if *verbose {
				return io.MultiWriter(f, prefixWriter{w: out, prefix: provider + " | "})
			}
			return f
		},
	}
	if awsEnv.Endpoint == "" {
		cfg.MotoLog = openLog("moto")
		logf("starting moto_server (set AWS_ENDPOINT_URL to use another endpoint, e.g. LocalStack)")
	}
	began := time.Now()
	stack, err := localrun.Start(ctx, cfg)
	if err != nil {
		ln.Close()
		logf("start failed: %v", err)
		logf("function logs are in %s", logDir)
		return 1
	}
	defer func() {
		// Event invocations of the Invoke API run to their end first (an
		// invocation lasts at most the timeout); what is left is reported.
		dctx, cancel := context.WithTimeout(context.Background(), *timeout+5*time.Second)
		if n := stack.Gateway.Drain(dctx); n > 0 {
			logf("stopping with %d Event invocation(s) unfinished", n)
		}
		cancel()
		pids := stack.Pids()
		stack.Stop()
		logf("stopped %d child processes %v", len(pids), pids)
	}()

	var cons *localrun.Consumer
	if *withConsumer {
		if cons, err = startConsumer(ctx, stack, *bin, *consumerBatch, *consumerIdempotency, logf, func(name string) io.Writer {
			f := openLog(name)
			if f == nil {
				return io.Discard
			}
			if *verbose {
				return io.MultiWriter(f, prefixWriter{w: out, prefix: name + " | "})
			}
			return f
		}); err != nil {
			ln.Close()
			logf("consumer: %v", err)
			return 1
		}
		defer func() {
			pids := cons.Pids()
			cons.Stop()
			logf("stopped the consumer: pollers, and %d child processes %v", len(pids), pids)
		}()
	}

	srv := &http.Server{Handler: stack.Gateway, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	// Tell webhookctl where everything is; removed again on the way out. Not
	// for a one-shot demo, which may run beside `make run`, and never over the
	// state of another run that is still up.
	if !oneShot {
		statePath := filepath.Join(filepath.Dir(wantLogDir), "local.json")
		release, busy, err := writeStateFile(statePath, stack.State(baseURL))
		switch {
		case err != nil:
			logf("state file: %v", err)
		case busy != nil:
			logf("%s belongs to the webhooks-local at %s (pid %d), which still runs: left as it is, so webhookctl talks to that one", statePath, busy.Gateway, busy.Pid)
		default:
			defer release()
		}
	}

	printBanner(out, stack, baseURL, logDir, time.Since(began))
	if !oneShot {
		// The stack's scheduled redrive runs (spec.DefaultRedrive, spec.DefaultRedriveSweep),
		// as the template's rules fire them.
		sch, err := stack.StartSchedules(ctx, localrun.ScheduleOptions{
			Speed: *scheduleSpeed,
			Report: func(provider string, run spec.RedriveRun, reply []byte, err error) {
				switch {
				case err != nil:
					logf("scheduled %s on %s: %v", run.Schedule.Expression, provider, err)
				case !bytes.Contains(reply, []byte(`"found":0,`)):
					logf("scheduled %s on %s: %s", run.Schedule.Expression, provider, reply)
				}
			},
		})
		if err != nil {
			logf("schedules: %v", err)
			return 1
		}
		defer sch.Stop()
		frequent, _ := json.Marshal(spec.DefaultRedrive.Command())
		sweep, _ := json.Marshal(spec.DefaultRedriveSweep.Command())
		fmt.Fprintf(out, "\nRedrive schedules (the stack's): %s every %s and %s every %s on every function (-schedule-speed %g).\n",
			frequent, sch.Intervals[0], sweep, sch.Intervals[1], *scheduleSpeed)
	}
	if cons != nil {
		printConsumerBanner(out, cons, logDir)
	}

	code := 0
	if *demo {
		if !runDemo(ctx, out, stack, baseURL, *eventsDir, cons) {
			code = 1
		}
		if *exit {
			return code
		}
	}
	fmt.Fprintf(out, "\nListening on %s. Ctrl-C stops everything.\n\n", baseURL)
	select {
	case <-ctx.Done():
		fmt.Fprintln(out)
		logf("shutting down")
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			logf("gateway: %v", err)
			code = 1
		}
	}
	return code
}

func printBanner(w io.Writer, s *localrun.Stack, baseURL, logDir string, took time.Duration) {
	var running []string
	for _, name := range s.Running() {
		f := s.Providers[name].Function
		running = append(running, fmt.Sprintf("%s (emulator pid %v, up in %s)", name, f.EmulatorPids(), f.StartDuration().Round(100*time.Microsecond)))
	}
	fmt.Fprintf(w, "\nwebhooks-local is up in %s: functions %s\n", took.Round(time.Millisecond), strings.Join(running, ", "))
	fmt.Fprintln(w, "Each function runs under the AWS Lambda Runtime Interface Emulator; its bootstrap starts on its first request (a cold start).")
	fmt.Fprintf(w, "Deployed as tested: the stack's settings (infra/spec): %s timeout, %d MB, metrics namespace %s, queues with %s visibility.\n",
		s.FunctionTimeout, s.FunctionMemoryMB, spec.MetricsNamespace(s.Stage), spec.Queue.VisibilityTimeout)

	fmt.Fprintln(w, "\nWebhook URLs (POST, development tokens filled in):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, name := range localrun.Providers {
		p := s.Providers[name]
		state := ""
		if p.Function == nil {
			state = "\t(not running: " + p.Missing + ")"
		}
		for _, u := range providerURLs(baseURL, p) {
			fmt.Fprintf(tw, "  %s\t%s%s\n", name, u, state)
			state = ""
		}
	}
	tw.Flush()

	fmt.Fprintln(w, "\nDevelopment secrets (Secrets Manager; same as events/dev-secrets.json, which events/ is signed with):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, name := range localrun.Providers {
		p := s.Providers[name]
		fmt.Fprintf(tw, "  %s\t%s\n", p.SecretID, compactJSON(p.Secret))
	}
	tw.Flush()

	origin := "external, from AWS_ENDPOINT_URL"
	if s.Moto != nil {
		origin = fmt.Sprintf("moto_server, pid %d, log %s", s.Moto.Pid(), filepath.Join(logDir, "moto.log"))
	}
	fmt.Fprintf(w, "\nAWS endpoint: %s (%s), region %s, access key %s\n", s.AWS.Endpoint, origin, s.AWS.Region, s.AWS.AccessKeyID)
	fmt.Fprintf(w, "Table: %s\n", s.Table)
	fmt.Fprintln(w, "Queues (FIFO, each with a FIFO dead-letter queue, maxReceiveCount 5):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, name := range localrun.Providers {
		p := s.Providers[name]
		fmt.Fprintf(tw, "  %s\t%s\tDLQ %s\n", name, p.QueueURL, p.DLQURL)
	}
	tw.Flush()

	awsCLI := fmt.Sprintf("AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_DEFAULT_REGION=%s aws --endpoint-url %s",
		s.AWS.AccessKeyID, s.AWS.SecretAccessKey, s.AWS.Region, s.AWS.Endpoint)
	fmt.Fprintln(w, "\nRead a queue as a consumer (each receive counts toward the dead-letter queue: consume what you read):")
	fmt.Fprintf(w, "  go run ./cmd/webhookctl tail -provider %s -consume   (or -f to follow)\n", localrun.Providers[0])
	fmt.Fprintln(w, "Where is an event, without reading a queue:")
	fmt.Fprintln(w, "  go run ./cmd/webhookctl status <event id>")
	fmt.Fprintln(w, "See what is stored:")
	fmt.Fprintf(w, "  %s dynamodb scan --table-name %s\n", awsCLI, s.Table)
	fmt.Fprintln(w, "Operator commands: the Lambda Invoke API is on the same address, each function named by its provider")
	fmt.Fprintln(w, "(any credentials do, the signature is not checked; AWS CLI v2: add --cli-binary-format raw-in-base64-out):")
	fmt.Fprintf(w, "  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=%s aws lambda invoke --endpoint-url %s --function-name %s --payload '{\"redrive\":{\"olderThan\":\"5m\"}}' out.json && cat out.json\n",
		s.AWS.Region, baseURL, localrun.Providers[0])
	fmt.Fprintf(w, "Function logs: %s/<provider>.log (or run with -v)\n", logDir)
	fmt.Fprintln(w, "Sign, send and tail from another terminal: go run ./cmd/webhookctl help")
	fmt.Fprintln(w, "\nOne line per request: time, provider, event type, outcome, status, duration, request.")
}

// providerURLs are the provider's webhook URLs with the development tokens.
func providerURLs(baseURL string, p *localrun.Provider) []string {
	var sec struct {
		URLToken string `json:"urlToken"`
	}
	_ = json.Unmarshal(p.Secret, &sec)
	kit, err := kits.Get(p.Name)
	if err != nil {
		return nil
	}
	var out []string
	for _, route := range kit.Routes {
		params := map[string]string{}
		for _, seg := range strings.Split(route, "/") {
			if name, ok := strings.CutPrefix(seg, "{"); ok {
				name = strings.TrimSuffix(name, "}")
				// A token parameter is the secret's urlToken; others stay placeholders.
				params[name] = "{" + name + "}"
				if name == "token" {
					params[name] = cmp.Or(sec.URLToken, "{token}")
				}
			}
		}
		if kit.Variant != "" && kit.VariantRequired && strings.Contains(route, "{"+kit.Variant+"}") {
			for _, v := range kit.Variants { // one URL to register per variant
				params[kit.Variant] = v
				out = append(out, baseURL+contract.Path(route, params))
			}
			continue
		}
		out = append(out, baseURL+contract.Path(route, params))
	}
	return out
}

func runDemo(ctx context.Context, w io.Writer, s *localrun.Stack, baseURL, eventsDir string, cons *localrun.Consumer) bool {
	samples, err := localrun.LoadSamples(eventsDir)
	if err != nil {
		fmt.Fprintf(w, "demo: %v\n", err)
		return false
	}
	fmt.Fprintf(w, "\nDemo: sending %d samples from %s/ (valid ones first)\n\n", len(samples), eventsDir)
	client := &http.Client{Timeout: 30 * time.Second}
	results := localrun.RunSamples(ctx, client, baseURL, samples, s.Running())

	fmt.Fprintln(w, "\nDemo summary")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  sample\texpected\tstatus\toutcome\tevent type\tresult\twhy")
	failed := 0
	for _, r := range results {
		name := r.Sample.Provider + "/" + r.Sample.Name
		switch {
		case r.Skipped != "":
			fmt.Fprintf(tw, "  %s\t%s\t-\t-\t-\tskipped\t%s\n", name, r.Expected(), r.Skipped)
			continue
		case r.Err != nil:
			fmt.Fprintf(tw, "  %s\t%s\t-\t-\t-\tFAIL\t%v\n", name, r.Expected(), r.Err)
			failed++
			continue
		}
		verdict := "ok"
		if !r.OK() {
			verdict = "FAIL"
			failed++
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t%s\t%s\n", name, r.Expected(), r.Status, r.Outcome, r.EventType, verdict, why(r))
	}
	tw.Flush()

	if cons != nil {
		// The example consumer reads the queues: no peek (it would take
		// messages from it); wait until it has received them all.
		if !waitConsumed(ctx, w, s, cons, 30*time.Second) {
			failed++
		}
	} else if !peekQueues(ctx, w, s) {
		failed++
	}
	if failed > 0 {
		fmt.Fprintf(w, "\nDemo: %d of %d checks FAILED\n", failed, len(results))
		return false
	}
	fmt.Fprintf(w, "\nDemo: all %d samples behaved as expected\n", len(results))
	return true
}

// peekQueues prints what landed on each queue, leaving it there.
func peekQueues(ctx context.Context, w io.Writer, s *localrun.Stack) bool {
	ok := true
	fmt.Fprintln(w, "\nWhat landed on the queues (peeked: the messages stay for your consumers)")
	for _, name := range s.Running() {
		p := s.Providers[name]
		msgs, err := s.ReadQueue(ctx, p.QueueURL, false)
		if err != nil {
			fmt.Fprintf(w, "  %s: %v\n", name, err)
			ok = false
			continue
		}
		fmt.Fprintf(w, "  %s (%s): %d message(s)\n", name, filepath.Base(p.QueueURL), len(msgs))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, m := range msgs {
			fmt.Fprintf(tw, "    %s\tsubject %s\tid %s\n", m.Event.Type, m.Event.Subject, m.Event.ID)
		}
		tw.Flush()
	}
	return ok
}

// why is a short reason for a non-2xx answer, from the usual error shapes:
// {"error":{"code","message"}}, {"code","msg","error":"<code>"} or {"message"}.
func why(r localrun.SampleResult) string {
	if r.Status >= 200 && r.Status < 300 {
		return ""
	}
	var b struct {
		Error   json.RawMessage `json:"error"`
		Code    any             `json:"code"`
		Msg     string          `json:"msg"`
		Message string          `json:"message"`
	}
	if json.Unmarshal([]byte(r.Body), &b) != nil {
		return truncate(r.Body, 60)
	}
	var obj struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	var code string
	switch {
	case json.Unmarshal(b.Error, &obj) == nil && obj.Code != "":
		return truncate(obj.Code+": "+obj.Message, 80)
	case json.Unmarshal(b.Error, &code) == nil && code != "" && b.Msg != "":
		return truncate(code+": "+b.Msg, 80)
	case b.Msg != "":
		return truncate(fmt.Sprint(b.Code)+": "+b.Msg, 80)
	case b.Message != "":
		return truncate(b.Message, 80)
	}
	return truncate(r.Body, 60)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

// prefixWriter prefixes every line written through it.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line == "" {
			continue
		}
		if _, err := io.WriteString(p.w, p.prefix+line); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

// lockedWriter serialises writes from the gateway, the runtimes and the demo.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
