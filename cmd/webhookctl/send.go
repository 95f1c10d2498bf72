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
	"strings"
	"time"

	"webhooks/internal/localrun"
)

func runSend(args []string, w, stderr io.Writer) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := addSignFlags(fs)
	sample := fs.String("sample", "", "send this payload-2.0 sample file as it is (instead of signing a body)")
	base := fs.String("url", "", "gateway base URL (default: the running make run, from -state; else http://127.0.0.1:3000)")
	state := fs.String("state", ".run/local.json", "state file written by webhooks-local")
	verbose := fs.Bool("v", false, "print the request too")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *base == "" {
		*base = "http://127.0.0.1:3000"
		if st, err := localrun.LoadState(*state); err == nil && st.Gateway != "" {
			*base = st.Gateway
		}
	}
	*base = strings.TrimSuffix(*base, "/")
	ctx := context.Background()

	var req *http.Request
	if *sample != "" {
		samples, err := localrun.LoadSampleFile(*sample)
		if err != nil {
			return err
		}
		if req, err = samples.Request(ctx, *base); err != nil {
			return err
		}
	} else {
		s, err := f.sign(time.Now())
		if err != nil {
			return err
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, *base+s.Path, bytes.NewReader(s.Body))
		if err != nil {
			return err
		}
		for _, h := range s.Headers {
			req.Header.Set(h[0], h[1])
		}
		if *verbose {
			_ = printSigned(w, s, "http", *base)
		}
	}
	began := time.Now()
	status, h, body, err := localrun.Send(&http.Client{Timeout: 30 * time.Second}, req)
	if err != nil {
		return fmt.Errorf("POST %s: %w (is make run up?)", req.URL, err)
	}
	fmt.Fprintf(w, "%d %s  %s  (%s)\n", status, http.StatusText(status), req.URL.Path, time.Since(began).Round(100*time.Microsecond))
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
