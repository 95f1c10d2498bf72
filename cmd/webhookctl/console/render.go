package console

// The page rendered with a search's results already in it, for a GET / with
// search parameters (/?provider=<p>&subject=<id>): the results are in
// the markup itself, so the page shows them without running a script, and a
// link to a search can be shared. The script renders the same table for
// searches run from the form.

import (
	"bytes"
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

var resultsTemplate = template.Must(template.New("results").Funcs(template.FuncMap{
	"path": url.PathEscape,
	"when": func(e Event, queued bool) string {
		t := e.ReceivedAt
		if queued {
			t = e.QueuedAt
		}
		if t == nil {
			return "-"
		}
		return t.UTC().Format("2006-01-02T15:04:05.000Z")
	},
	"dash": orDash,
}).Parse(`{{if .Events}}<table><caption class="muted">Newest first</caption><thead><tr>` +
	`<th scope="col">Received</th><th scope="col">Provider</th><th scope="col">Type</th><th scope="col">Subject</th>` +
	`<th scope="col">Status</th><th scope="col">Queued</th><th scope="col">Event id</th></tr></thead><tbody>` +
	`{{range .Events}}<tr><td>{{when . false}}</td><td>{{.Provider}}</td><td>{{dash .Type}}</td><td>{{dash .Subject}}</td>` +
	`<td><span class="status status-{{.Status}}">{{.Status}}</span></td><td>{{when . true}}</td>` +
	`<td><a class="event-link" href="#/event/{{path .Provider}}/{{path .ID}}">{{.ID}}</a></td></tr>{{end}}</tbody></table>` +
	`{{else}}<p>No events.</p>{{end}}`))

var searchParams = []string{"provider", "subject", "type", "status", "from", "to", "limit"}

// renderSearch returns the page with the search of the request's query in
// it, or nil when the query holds no search.
func (s *Server) renderSearch(ctx context.Context, r *http.Request) []byte {
	v := r.URL.Query()
	asked := false
	for _, p := range searchParams {
		asked = asked || v.Get(p) != ""
	}
	if !asked {
		return nil
	}
	var results, cost string
	q, err := s.parseQuery(v)
	if err == nil {
		ctx, cancel := context.WithTimeout(ctx, readTimeout)
		defer cancel()
		var reply SearchReply
		if reply, err = s.search(ctx, q); err == nil {
			var b bytes.Buffer
			if err = resultsTemplate.Execute(&b, reply); err == nil {
				results = b.String()
				cost = costLine(reply)
			}
		}
	}
	if err != nil {
		s.cfg.Logf("console: search: %v", err)
		cost = "Search failed: " + err.Error()
	}
	page := string(s.page)
	page = strings.Replace(page, `<div id="results"></div>`, `<div id="results">`+results+`</div>`, 1)
	page = strings.Replace(page, `<p id="search-cost" class="cost" role="status" aria-live="polite"></p>`,
		`<p id="search-cost" class="cost" role="status" aria-live="polite">`+template.HTMLEscapeString(cost)+`</p>`, 1)
	return []byte(page)
}

// costLine is the search's cost in words, as the script writes it.
func costLine(r SearchReply) string {
	var b strings.Builder
	b.WriteString("Read ")
	b.WriteString(strconv.FormatInt(r.Cost.ItemsRead, 10))
	b.WriteString(" item(s) in ")
	b.WriteString(strconv.Itoa(r.Cost.Requests))
	b.WriteString(" request(s); ")
	b.WriteString(strconv.Itoa(r.Matched))
	b.WriteString(" event(s) matched")
	if r.Truncated {
		b.WriteString(", the newest " + strconv.Itoa(len(r.Events)) + " shown (narrow the window to see the rest)")
	}
	b.WriteString(".")
	return b.String()
}
