package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"webhooks/internal/localrun"
)

func runSend(args []string, w, stderr io.Writer) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := addSignFlags(fs)
	sample := fs.String("sample", "", "send this payload-2.0 sample file as it is (instead of signing a body)")
	flagURL := fs.String("url", "", "gateway base URL (default: the running make run's, from -state; without one, send refuses)")
	state := fs.String("state", defaultStateFile, "state file of the running make run (written by make run while it runs)")
	verbose := fs.Bool("v", false, "print the request too")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// What to send first (a usage error is reported as such whatever runs),
	// then where: the running make run's gateway, or -url.
	var (
		sampleFile localrun.Sample
		s          signed
		err        error
	)
	if *sample != "" {
		sampleFile, err = localrun.LoadSampleFile(*sample)
	} else {
		s, err = f.sign(time.Now())
	}
	if err != nil {
		return err
	}
	base, err := gatewayURL(*flagURL, *state)
	if err != nil {
		return err
	}
	ctx := context.Background()
	var req *http.Request
	if *sample != "" {
		if req, err = sampleFile.Request(ctx, base); err != nil {
			return err
		}
	} else {
		if req, err = http.NewRequestWithContext(ctx, http.MethodPost, base+s.Path, bytes.NewReader(s.Body)); err != nil {
			return err
		}
		for _, h := range s.Headers {
			req.Header.Set(h[0], h[1])
		}
		if *verbose {
			_ = printSigned(w, s, "http", base)
		}
	}
	began := time.Now()
	status, h, body, err := localrun.Send(&http.Client{Timeout: 30 * time.Second}, req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", req.URL, err)
	}
	fmt.Fprintf(w, "%d %s  POST %s  (%s)\n", status, http.StatusText(status), req.URL, time.Since(began).Round(100*time.Microsecond))
	for _, k := range []string{"X-Webhook-Outcome", "X-Webhook-Event-Type", "X-Webhook-Event-Id"} {
		if v := h.Get(k); v != "" {
			fmt.Fprintf(w, "%s: %s\n", k, v)
		}
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, []byte(body), "", "  ") == nil {
		body = pretty.String()
	}
	fmt.Fprintln(w, body)
	if status/100 != 2 {
		return errors.New("not accepted")
	}
	return nil
}
