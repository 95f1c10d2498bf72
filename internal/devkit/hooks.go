package devkit

// Webhooks derived from the samples: many distinct, valid webhooks per
// provider from the accepted samples under events/, each copy with its entity
// and id fields made unique, so every one is a new event (stored and enqueued,
// never a duplicate). The soak, load and cost runs use them.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Webhook is one unsigned webhook: a provider, its route variant (see
// Kit.Variant) and the exact body.
type Webhook struct {
	Provider string
	Variant  string
	Body     []byte
	// Marker is the suffix Generate appended to the body's id fields ("-s17"),
	// "" for a webhook it did not make. The receivers keep the fields that
	// form an event's key, subject or message group as sent, so the marker,
	// followed by a quote (Markers), is in the stored data and in the message
	// of this webhook's event, and in no other webhook's of the same Generate
	// call: a test identifies an event by its content, never by the id the
	// function hands back.
	Marker string
}

// ErrNoIDField means a sample body has no field that makes an event distinct.
var ErrNoIDField = errors.New("devkit: sample body has no id field to make unique")

// idFields are the fields the providers derive event keys and subjects from.
var idFields = map[string]bool{
	"order_code": true, "sku": true, "orderNo": true, "orderId": true, "userId": true,
	"takeoutInventoryId": true, "inventoryId": true, "supportTicketId": true, "id": true,
	"sourceOrderNumber": true, "replyId": true, "merchantOrderId": true, "requestDescription": true,
}

// Bases returns the accepted samples of provider that can be varied: rejected,
// quarantined, deprecated and base64-bodied samples are left out.
func Bases(eventsDir string, k Kit) ([]Webhook, error) {
	provider := k.Name
	list, err := Load(eventsDir, provider)
	if err != nil {
		return nil, err
	}
	var out []Webhook
	for _, s := range list {
		if MustReject(s.Name) || strings.HasPrefix(s.Name, "quarantined-") ||
			strings.Contains(s.Name, "deprecated") || s.Event.IsBase64Encoded {
			continue
		}
		variant := ""
		if k.Variant != "" {
			variant = s.Event.PathParameters[k.Variant]
		}
		out = append(out, Webhook{Provider: provider, Variant: variant, Body: []byte(s.Event.Body)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("devkit: no accepted samples for %s in %s", provider, eventsDir)
	}
	return out, nil
}

// Generate returns n distinct webhooks of provider, cycling through its
// samples; tag goes into every id so that runs with different tags never
// collide in one table. The i-th webhook's Marker is "-<tag><i>": a tag that
// ends in a letter makes no marker end another ("-s7" does not end "-s17"),
// so Markers tells them apart.
func Generate(eventsDir string, k Kit, tag string, n int) ([]Webhook, error) {
	provider := k.Name
	bases, err := Bases(eventsDir, k)
	if err != nil {
		return nil, err
	}
	out := make([]Webhook, 0, n)
	for i := 0; i < n; i++ {
		b := bases[i%len(bases)]
		marker := fmt.Sprintf("-%s%d", tag, i)
		body, err := Uniquify(b.Body, marker)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", provider, err)
		}
		out = append(out, Webhook{Provider: provider, Variant: b.Variant, Body: body, Marker: marker})
	}
	return out, nil
}

// Interleaved returns n webhooks of every kit's provider, interleaved (the
// first kit's, the second's, ..., the first's again), so every provider meets
// the same load.
func Interleaved(kits []Kit, eventsDir, tag string, n int) ([]Webhook, error) {
	per := make([][]Webhook, len(kits))
	for j, k := range kits {
		hooks, err := Generate(eventsDir, k, tag, n)
		if err != nil {
			return nil, err
		}
		per[j] = hooks
	}
	out := make([]Webhook, 0, n*len(kits))
	for i := 0; i < n; i++ {
		for j := range kits {
			out = append(out, per[j][i])
		}
	}
	return out, nil
}

// Uniquify appends suffix to every non-empty id field of a JSON body (numbers
// kept exactly). It fails when the body has no such field.
func Uniquify(body []byte, suffix string) ([]byte, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("devkit: sample body: %w", err)
	}
	changed := false
	var walk func(any)
	walk = func(x any) {
		switch t := x.(type) {
		case map[string]any:
			for k, val := range t {
				if s, ok := val.(string); ok && idFields[k] && s != "" {
					t[k] = s + suffix
					changed = true
					continue
				}
				walk(val)
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	walk(v)
	if !changed {
		return nil, ErrNoIDField
	}
	return json.Marshal(v)
}

// Markers finds which of a set of markers (Webhook.Marker) a JSON text
// carries: a marker counts where it ends a string, followed by a quote, so
// "-s1" is not found in `"o-s17"`. The text is a stored item's data or a
// message body. Linear in the text: one look-up per quote and marker length.
type Markers struct {
	index map[string]int
	lens  []int
}

// NewMarkers indexes markers. It refuses an empty marker, the same marker
// twice, and a marker that ends another (then a text carrying the longer one
// would seem to carry both).
func NewMarkers(markers []string) (*Markers, error) {
	m := &Markers{index: make(map[string]int, len(markers))}
	seen := map[int]bool{}
	for i, s := range markers {
		if s == "" || strings.Contains(s, `"`) {
			return nil, fmt.Errorf("devkit: marker %d is %q: not a marker", i, s)
		}
		if j, dup := m.index[s]; dup {
			return nil, fmt.Errorf("devkit: markers %d and %d are both %q", j, i, s)
		}
		m.index[s] = i
		if !seen[len(s)] {
			seen[len(s)] = true
			m.lens = append(m.lens, len(s))
		}
	}
	for s, i := range m.index {
		for k := 1; k < len(s); k++ {
			if j, ok := m.index[s[k:]]; ok {
				return nil, fmt.Errorf("devkit: marker %d (%q) ends marker %d (%q)", j, s[k:], i, s)
			}
		}
	}
	return m, nil
}

// In returns the positions (in the slice given to NewMarkers) of the markers
// data carries, each once, in ascending order.
func (m *Markers) In(data []byte) []int {
	var found []int
	for q := bytes.IndexByte(data, '"'); q >= 0; {
		for _, l := range m.lens {
			if l <= q {
				if i, ok := m.index[string(data[q-l:q])]; ok && !slices.Contains(found, i) {
					found = append(found, i)
				}
			}
		}
		next := bytes.IndexByte(data[q+1:], '"')
		if next < 0 {
			break
		}
		q += 1 + next
	}
	slices.Sort(found)
	return found
}

// HTTPRequest builds the signed HTTP request a provider would send to the
// gateway at base (e.g. "http://127.0.0.1:3000"), signed at now.
func HTTPRequest(keys Signers, base string, w Webhook, now time.Time) (*http.Request, error) {
	r, err := keys.Request(w.Provider, w.Variant, w.Body, now)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, strings.TrimSuffix(base, "/")+r.Path, bytes.NewReader(r.Body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	return req, nil
}

// Event builds the payload-2.0 event API Gateway would hand the function,
// signed at now.
func Event(keys Signers, w Webhook, now time.Time) ([]byte, error) {
	r, err := keys.Request(w.Provider, w.Variant, w.Body, now)
	if err != nil {
		return nil, err
	}
	return json.Marshal(HTTPEvent(r).Event)
}

// SigningClock hands out signing times at least a millisecond apart, to every
// sender in this process. A provider may sign only its app id and a
// millisecond timestamp, not the body (OSL Pay), and the receiver accepts each
// signature once: two different webhooks signed in the same millisecond would
// share a signature, and the second is rejected as a replay (401). A real
// sender signing concurrently hits the same limit.
var SigningClock = &UniqueClock{}

// UniqueClock hands out strictly increasing millisecond times, close to now.
type UniqueClock struct {
	mu   sync.Mutex
	last time.Time
}

// Next is now (to the millisecond), or a millisecond after the last time
// handed out when now is not later.
func (c *UniqueClock) Next() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := time.Now().Truncate(time.Millisecond)
	if !t.After(c.last) {
		t = c.last.Add(time.Millisecond)
	}
	c.last = t
	return t
}
