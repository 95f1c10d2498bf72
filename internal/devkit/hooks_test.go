package devkit_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"webhooks/internal/devkit"
	"webhooks/internal/devkit/kits"
)

// Every generated webhook carries its own marker, at the end of a string,
// and no other webhook's: "-s1" is not found in a body made with "-s17".
func TestGeneratedWebhooksCarryTheirOwnMarkerOnly(t *testing.T) {
	for _, k := range kits.All {
		hooks, err := devkit.Generate(devkit.EventsDir(), k, "s", 120)
		if err != nil {
			t.Fatal(err)
		}
		markers := make([]string, len(hooks))
		for i, h := range hooks {
			if want := fmt.Sprintf("-s%d", i); h.Marker != want {
				t.Fatalf("%s %d: marker %q; want %q", k.Name, i, h.Marker, want)
			}
			markers[i] = h.Marker
		}
		m, err := devkit.NewMarkers(markers)
		if err != nil {
			t.Fatal(err)
		}
		for i, h := range hooks {
			if got := m.In(h.Body); !slices.Equal(got, []int{i}) {
				t.Errorf("%s %d: body %s carries markers %v; want [%d]", k.Name, i, h.Body, got, i)
			}
		}
	}
}

func TestMarkers(t *testing.T) {
	m, err := devkit.NewMarkers([]string{"-s1", "-s17", "-r1", "-s7"})
	if err != nil {
		t.Fatal(err)
	}
	for data, want := range map[string][]int{
		`{"id":"o-s17"}`:                      {1},
		`{"id":"o-s1"}`:                       {0},
		`{"id":"o-s1","x":"o-s17","y":"-s7"}`: {0, 1, 3},
		`{"id":"o-s1x"}`:                      nil, // not at the end of a string
		`{"id":"o-s17","subject":"o-s17"}`:    {1}, // once
		`{"id":"-r1"}`:                        {2},
		`-s1"`:                                {0},
		`"`:                                   nil,
		``:                                    nil,
	} {
		if got := m.In([]byte(data)); !slices.Equal(got, want) {
			t.Errorf("%s: %v; want %v", data, got, want)
		}
	}
	for _, bad := range [][]string{{"-s1", "-s1"}, {""}, {"-s7", "1-s7"}, {`-s"`}} {
		if _, err := devkit.NewMarkers(bad); err == nil {
			t.Errorf("%q accepted", bad)
		} else if !strings.HasPrefix(err.Error(), "devkit: ") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
