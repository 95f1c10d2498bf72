package contract

import "testing"

func TestRouteKeysAndPaths(t *testing.T) {
	p := Provider{Name: "acme", Routes: []string{RoutePrefix + "acme/{token}", RoutePrefix + "acme/{token}/{event}"}}
	keys := p.RouteKeys()
	if len(keys) != 2 || keys[0] != "POST /webhooks/acme/{token}" || keys[1] != "POST /webhooks/acme/{token}/{event}" {
		t.Errorf("route keys %v", keys)
	}
	if got := Path(p.Routes[1], map[string]string{"token": "t0k", "event": "paid"}); got != "/webhooks/acme/t0k/paid" {
		t.Errorf("path %q", got)
	}
	if p.Source() != "webhooks/acme" {
		t.Errorf("source %q", p.Source())
	}
	if len(Outcomes) != 5 {
		t.Errorf("outcomes %v", Outcomes)
	}
}
