package devkit_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"webhooks/internal/devkit"
	"webhooks/internal/devkit/kits"
)

// The committed files under events/ are exactly what the generators make from
// events/dev-secrets.json: regenerate with `go run ./cmd/webhookctl gen-events`.
func TestCommittedSamplesMatchGenerator(t *testing.T) {
	dir := devkit.EventsDir()
	dev, err := devkit.LoadDevSecrets(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(kits.All) == 0 {
		t.Fatal("no providers")
	}
	for _, k := range kits.All {
		list, err := k.Samples(dir, dev)
		if err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, k.Name, "*.json"))
		if len(files) != len(list) {
			t.Errorf("%s: %d files committed, generator makes %d (run go run ./cmd/webhookctl gen-events)", k.Name, len(files), len(list))
		}
		valid, rejected := 0, 0
		for _, s := range list {
			want, _ := devkit.Encode(s)
			got, err := os.ReadFile(filepath.Join(dir, k.Name, s.Name+".json"))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s/%s.json differs from the generator (run go run ./cmd/webhookctl gen-events)", k.Name, s.Name)
			}
			if devkit.MustReject(s.Name) {
				rejected++
			} else {
				valid++
			}
		}
		if valid == 0 || rejected == 0 {
			t.Errorf("%s: %d valid and %d rejected samples; want both", k.Name, valid, rejected)
		}
	}
}
