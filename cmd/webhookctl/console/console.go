// Package console is the events console that `webhookctl console` serves on a
// loopback address: one page (static files embedded here: plain HTML, CSS and
// JavaScript, no build step, nothing fetched from elsewhere) and a JSON API
// over the same targets as the other webhookctl commands. It runs with the
// operator's own credentials and stores nothing of its own.
//
// It reads events only through shared/eventstore (a filtered Scan for a
// search, Get for an event, the quarantine index and the unsent markers), so
// the path of a webhook keeps its calls and write units. Its actions are the
// operator commands, run by the Backend the command wires (Lambda Invoke on
// the provider's function; SQS for a dead-letter redrive).
//
// Every POST needs the page's anti-forgery token (a random value made when the
// server starts, in the page's markup) in the X-Console-Token header, and is
// refused from another origin (Origin, Sec-Fetch-Site); every request needs a
// loopback Host header (a site that rebinds its name to 127.0.0.1 is refused).
package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"webhooks/shared/eventstore"
	"webhooks/shared/pipeline"
)

//go:embed static
var staticFiles embed.FS

// TokenHeader carries the page's anti-forgery token on every POST.
const TokenHeader = "X-Console-Token"

const tokenPlaceholder = "__CONSOLE_TOKEN__"

var errReadOnly = errors.New("console: the console never writes to the table")

// Backend runs the actions and reads what is not in the table.
type Backend interface {
	// Invoke runs an operator command on the provider's function and
	// decodes its reply. A refusal by the function is a *CommandError.
	Invoke(ctx context.Context, provider string, cmd pipeline.Command, reply any) error
	// RedriveDLQ moves up to max messages (0: all) from the provider's
	// dead-letter queue back to its queue, each message group in order;
	// dryRun lists them instead. The reply is shown as it is.
	RedriveDLQ(ctx context.Context, provider string, max int, dryRun bool) (any, error)
	// DeadLettered is the approximate number of messages on the provider's
	// dead-letter queue.
	DeadLettered(ctx context.Context, provider string) (int, error)
	// Rates is webhooks per minute by outcome, per provider, over [from, to).
	Rates(ctx context.Context, providers []string, from, to time.Time) (*Rates, error)
}

// CommandError is an operator command the function refused or failed (its
// errorType and errorMessage).
type CommandError struct {
	Function  string
	ErrorType string
	Message   string
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("function %s: %s: %s", e.Function, e.ErrorType, e.Message)
}

// Config is what a Server works on.
type Config struct {
	Target    string   // what it works on, for the page ("make run (http://...)", "stack S (region)")
	Providers []string // in the order the page lists them
	DynamoDB  eventstore.API
	Table     string
	Backend   Backend
	// Token is the anti-forgery token (empty: a random one).
	Token string
	// Logf logs a failure whose detail the reply does not carry.
	Logf func(format string, args ...any)
	Now  func() time.Time
}

// Server serves the page and the API.
type Server struct {
	cfg     Config
	token   string
	page    []byte
	mux     *http.ServeMux
	replays replayLog
}

// New returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.DynamoDB == nil || cfg.Table == "" || cfg.Backend == nil || len(cfg.Providers) == 0 {
		return nil, errors.New("console: a table, its client, a backend and the providers are required")
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, token: cfg.Token}
	if s.token == "" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		s.token = hex.EncodeToString(b)
	}
	page, err := staticFiles.ReadFile("static/index.html")
	if err != nil {
		return nil, err
	}
	s.page = []byte(strings.Replace(string(page), tokenPlaceholder, s.token, 1))
	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, err
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.servePage)
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /api/config", s.getConfig)
	m.HandleFunc("GET /api/events", s.getEvents)
	m.HandleFunc("GET /api/events/{provider}/{id...}", s.getEvent)
	m.HandleFunc("GET /api/overview", s.getOverview)
	m.HandleFunc("GET /api/quarantine", s.getQuarantine)
	m.HandleFunc("GET /api/stranded", s.getStranded)
	m.HandleFunc("GET /api/metrics", s.getMetrics)
	m.HandleFunc("POST /api/reprocess", s.postReprocess)
	m.HandleFunc("POST /api/redrive", s.postRedrive)
	m.HandleFunc("POST /api/replay", s.postReplay)
	m.HandleFunc("POST /api/dlq/redrive", s.postDLQRedrive)
	s.mux = m
	return s, nil
}

// Token is the page's anti-forgery token.
func (s *Server) Token() string { return s.token }

// ServeHTTP checks the Host, and on a POST the origin and the token, sets
// the page's security headers and serves the request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	if !loopbackHost(r.Host) {
		writeError(w, http.StatusForbidden, "forbidden_host", "the console answers only requests addressed to a loopback host (127.0.0.1, [::1] or localhost)")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if code, msg := s.checkForgery(r); code != "" {
			writeError(w, http.StatusForbidden, code, msg)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// checkForgery refuses a state-changing request that did not come from the
// page: from another origin, or without the page's token.
func (s *Server) checkForgery(r *http.Request) (code, msg string) {
	if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
		return "forbidden_origin", "refused: a request from another origin (" + o + ")"
	}
	if sf := r.Header.Get("Sec-Fetch-Site"); sf != "" && sf != "same-origin" {
		return "forbidden_origin", "refused: a request from another site (Sec-Fetch-Site " + sf + ")"
	}
	got := r.Header.Get(TokenHeader)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) != 1 {
		return "forbidden_token", "refused: no valid anti-forgery token (" + TokenHeader + " header, from the console's page)"
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return "forbidden_content_type", "refused: a command is a JSON body (Content-Type: application/json)"
	}
	return "", ""
}

func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if page := s.renderSearch(r.Context(), r); page != nil {
		_, _ = w.Write(page)
		return
	}
	_, _ = w.Write(s.page)
}

// errorReply is every error the API answers.
type errorReply struct {
	Code  string `json:"code"`
	Error string `json:"error"`
	// ErrorType is the function's error type when it refused a command.
	ErrorType string `json:"errorType,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorReply{Code: code, Error: msg})
}

// fail answers err: 400 for a bad request, 404 for an unknown event, 422 for
// a command the function refused, 504 when the request's time ran out, 502
// otherwise (AWS, the function, the queue).
func (s *Server) fail(w http.ResponseWriter, what string, err error) {
	var ce *CommandError
	switch {
	case errors.Is(err, errBadQuery):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
	case errors.Is(err, eventstore.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no such event (never received, or expired since)")
	case errors.As(err, &ce):
		writeJSON(w, http.StatusUnprocessableEntity, errorReply{Code: "command_refused", Error: ce.Message, ErrorType: ce.ErrorType})
	case errors.Is(err, context.DeadlineExceeded):
		s.cfg.Logf("console: %s: %v", what, err)
		writeError(w, http.StatusGatewayTimeout, "timeout", what+": out of time: "+err.Error())
	default:
		s.cfg.Logf("console: %s: %v", what, err)
		writeError(w, http.StatusBadGateway, "upstream_failed", what+": "+err.Error())
	}
}

// decodeBody reads a command's JSON body (at most 64 KiB, no unknown fields).
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badf("body: %v", err)
	}
	return nil
}

func (s *Server) provider(p string) error {
	for _, q := range s.cfg.Providers {
		if p == q {
			return nil
		}
	}
	return badf("unknown provider %q (one of %s)", p, strings.Join(s.cfg.Providers, ", "))
}
