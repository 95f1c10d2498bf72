package console

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"webhooks/shared/eventstore"
	"webhooks/shared/pipeline"
)

// readTimeout bounds a read of the table (a search scans all of it).
const readTimeout = 2 * time.Minute

// configReply is GET /api/config: what the page needs to draw its forms.
type configReply struct {
	Target    string   `json:"target"`
	Providers []string `json:"providers"`
	Statuses  []string `json:"statuses"`
	Limit     int      `json:"limit"`
	MaxLimit  int      `json:"maxLimit"`
}

func (s *Server) getConfig(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, configReply{
		Target: s.cfg.Target, Providers: s.cfg.Providers, Limit: DefaultLimit, MaxLimit: MaxLimit,
		Statuses: []string{string(eventstore.StatusStored), string(eventstore.StatusQueued), string(eventstore.StatusQuarantined)},
	})
}

func (s *Server) getEvents(w http.ResponseWriter, r *http.Request) {
	q, err := s.parseQuery(r.URL.Query())
	if err != nil {
		s.fail(w, "search", err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	reply, err := s.search(ctx, q)
	if err != nil {
		s.fail(w, "search", err)
		return
	}
	writeJSON(w, http.StatusOK, reply)
}

func (s *Server) getEvent(w http.ResponseWriter, r *http.Request) {
	p, id := r.PathValue("provider"), r.PathValue("id")
	if err := s.provider(p); err != nil {
		s.fail(w, "event", err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	d, err := s.detail(ctx, p, id)
	if err != nil {
		s.fail(w, "event "+id, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// Counts is one provider's line of GET /api/overview.
type Counts struct {
	Provider    string `json:"provider"`
	Quarantined int    `json:"quarantined"`
	// Stranded counts the unsent markers older than a minute: events stored
	// whose send failed (an event whose function died between storing and
	// sending it has no marker: the scheduled sweep, or a search for status
	// stored, finds it).
	Stranded     int    `json:"stranded"`
	DeadLettered int    `json:"deadLettered"`
	Error        string `json:"error,omitempty"`
}

// overviewReply is GET /api/overview.
type overviewReply struct {
	Providers []Counts `json:"providers"`
	Cost      Cost     `json:"cost"`
}

// strandedAge is how long an unsent marker must be before it counts as
// stranded: a send in flight is not.
const strandedAge = time.Minute

func (s *Server) getOverview(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	api := &costAPI{API: s.cfg.DynamoDB}
	st := eventstore.New(api, s.cfg.Table)
	reply := overviewReply{Providers: []Counts{}}
	for _, p := range s.cfg.Providers {
		c := Counts{Provider: p}
		var errs []error
		q, err := st.Quarantined(ctx, p)
		errs = append(errs, err)
		for _, it := range q {
			if it.Status == eventstore.StatusQuarantined {
				c.Quarantined++
			}
		}
		u, err := st.Unsent(ctx, p, s.cfg.Now().Add(-strandedAge))
		errs = append(errs, err)
		c.Stranded = len(u)
		c.DeadLettered, err = s.cfg.Backend.DeadLettered(ctx, p)
		errs = append(errs, err)
		if err := errors.Join(errs...); err != nil {
			s.cfg.Logf("console: overview of %s: %v", p, err)
			c.Error = err.Error()
		}
		reply.Providers = append(reply.Providers, c)
	}
	reply.Cost = api.Cost()
	writeJSON(w, http.StatusOK, reply)
}

// listReply is GET /api/quarantine and /api/stranded.
type listReply struct {
	Events []Event `json:"events"`
	Cost   Cost    `json:"cost"`
}

func (s *Server) providersParam(r *http.Request) ([]string, error) {
	p := r.URL.Query().Get("provider")
	if p == "" {
		return s.cfg.Providers, nil
	}
	return []string{p}, s.provider(p)
}

// getQuarantine lists the quarantined events (and released ones not yet
// queued) from the quarantine index, oldest first.
func (s *Server) getQuarantine(w http.ResponseWriter, r *http.Request) {
	s.listPerProvider(w, r, "quarantine", func(ctx context.Context, st *eventstore.Store, p string) ([]Event, error) {
		items, err := st.Quarantined(ctx, p)
		var out []Event
		for _, it := range items {
			out = append(out, eventOf(it))
		}
		return out, err
	})
}

// getStranded lists the events their unsent markers name, oldest first,
// each read back (a marker whose event is gone shows status "missing").
func (s *Server) getStranded(w http.ResponseWriter, r *http.Request) {
	s.listPerProvider(w, r, "stranded", func(ctx context.Context, st *eventstore.Store, p string) ([]Event, error) {
		refs, err := st.Unsent(ctx, p, s.cfg.Now())
		if err != nil {
			return nil, err
		}
		var out []Event
		for _, ref := range refs {
			it, err := st.Get(ctx, p, ref.EventID)
			switch {
			case errors.Is(err, eventstore.ErrNotFound):
				out = append(out, Event{ID: ref.EventID, Provider: p, Status: "missing", ReceivedAt: timePtr(ref.ReceivedAt)})
			case err != nil:
				return nil, err
			default:
				out = append(out, eventOf(it))
			}
		}
		return out, nil
	})
}

// listPerProvider answers a list of events gathered by list for each
// provider the request names (every provider when it names none), with what
// the reads cost.
func (s *Server) listPerProvider(w http.ResponseWriter, r *http.Request, what string, list func(context.Context, *eventstore.Store, string) ([]Event, error)) {
	providers, err := s.providersParam(r)
	if err != nil {
		s.fail(w, what, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	api := &costAPI{API: s.cfg.DynamoDB}
	st := eventstore.New(api, s.cfg.Table)
	reply := listReply{Events: []Event{}}
	for _, p := range providers {
		events, err := list(ctx, st, p)
		if err != nil {
			s.fail(w, what+" of "+p, err)
			return
		}
		reply.Events = append(reply.Events, events...)
	}
	reply.Cost = api.Cost()
	writeJSON(w, http.StatusOK, reply)
}

// MaxRateHours bounds the chart's window.
const MaxRateHours = 24

func (s *Server) getMetrics(w http.ResponseWriter, r *http.Request) {
	hours := 3
	if v := r.URL.Query().Get("hours"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxRateHours {
			writeError(w, http.StatusBadRequest, "bad_request", "hours must be 1 to 24")
			return
		}
		hours = n
	}
	to := s.cfg.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	from := to.Add(-time.Duration(hours) * time.Hour)
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	rates, err := s.cfg.Backend.Rates(ctx, s.cfg.Providers, from, to)
	if err != nil {
		s.fail(w, "metrics", err)
		return
	}
	writeJSON(w, http.StatusOK, rates)
}

// actionProvider is the provider every action's body names.
type actionProvider struct {
	Provider string `json:"provider"`
}

func (a actionProvider) provider() string { return a.Provider }

// decodeAction decodes an action's body and checks the provider it names;
// false when it has answered with the error.
func decodeAction[T interface{ provider() string }](s *Server, w http.ResponseWriter, r *http.Request, what string) (T, bool) {
	var req T
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, what, err)
		return req, false
	}
	if err := s.provider(req.provider()); err != nil {
		s.fail(w, what, err)
		return req, false
	}
	return req, true
}

// invoke runs an operator command on the provider's function and returns its
// reply; false when it has answered with the error.
func invoke[R any](s *Server, w http.ResponseWriter, r *http.Request, what, provider string, cmd pipeline.Command) (R, bool) {
	var res R
	if err := s.cfg.Backend.Invoke(r.Context(), provider, cmd, &res); err != nil {
		s.fail(w, what, err)
		return res, false
	}
	return res, true
}

// reprocessRequest is POST /api/reprocess.
type reprocessRequest struct {
	actionProvider
	EventID string `json:"eventId"`
}

func (s *Server) postReprocess(w http.ResponseWriter, r *http.Request) {
	req, ok := decodeAction[reprocessRequest](s, w, r, "reprocess")
	if !ok {
		return
	}
	if req.EventID == "" {
		s.fail(w, "reprocess", badf("eventId is required"))
		return
	}
	if res, ok := invoke[pipeline.ReprocessResult](s, w, r, "reprocess", req.Provider, pipeline.Command{Reprocess: &pipeline.ReprocessCommand{EventID: req.EventID}}); ok {
		writeJSON(w, http.StatusOK, res)
	}
}

// redriveRequest is POST /api/redrive.
type redriveRequest struct {
	actionProvider
	OlderThan string `json:"olderThan"` // a Go duration; default 5m
}

func (s *Server) postRedrive(w http.ResponseWriter, r *http.Request) {
	req, ok := decodeAction[redriveRequest](s, w, r, "redrive")
	if !ok {
		return
	}
	if req.OlderThan == "" {
		req.OlderThan = "5m"
	}
	if d, err := time.ParseDuration(req.OlderThan); err != nil || d < 0 {
		s.fail(w, "redrive", badf("olderThan %q is not a Go duration such as 5m", req.OlderThan))
		return
	}
	if res, ok := invoke[pipeline.RedriveResult](s, w, r, "redrive", req.Provider, pipeline.Command{Redrive: &pipeline.RedriveCommand{OlderThan: req.OlderThan}}); ok {
		writeJSON(w, http.StatusOK, res)
	}
}

// replayRequest is POST /api/replay: the replay command and its provider.
type replayRequest struct {
	actionProvider
	pipeline.ReplayCommand
}

func (s *Server) postReplay(w http.ResponseWriter, r *http.Request) {
	req, ok := decodeAction[replayRequest](s, w, r, "replay")
	if !ok {
		return
	}
	for name, v := range map[string]string{"from": req.From, "to": req.To} {
		if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
			s.fail(w, "replay", badf("%s %q is not an RFC 3339 time", name, v))
			return
		}
	}
	cmd := req.ReplayCommand
	res, ok := invoke[pipeline.ReplayResult](s, w, r, "replay", req.Provider, pipeline.Command{Replay: &cmd})
	if !ok {
		return
	}
	if !cmd.DryRun && res.ReplayID != "" {
		s.replays.add(req.Provider, cmd, res.ReplayID, s.cfg.Now())
	}
	writeJSON(w, http.StatusOK, res)
}

// dlqRequest is POST /api/dlq/redrive.
type dlqRequest struct {
	actionProvider
	Max    int  `json:"max"`
	DryRun bool `json:"dryRun"`
}

func (s *Server) postDLQRedrive(w http.ResponseWriter, r *http.Request) {
	req, ok := decodeAction[dlqRequest](s, w, r, "dlq redrive")
	if !ok {
		return
	}
	if req.Max < 0 {
		s.fail(w, "dlq redrive", badf("max must not be negative"))
		return
	}
	res, err := s.cfg.Backend.RedriveDLQ(r.Context(), req.Provider, req.Max, req.DryRun)
	if err != nil {
		s.fail(w, "dlq redrive", err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
