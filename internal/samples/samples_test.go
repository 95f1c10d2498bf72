package samples

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The committed files under events/ are exactly what the generator makes from
// events/dev-secrets.json: regenerate with `go run ./cmd/gen-events`.
func TestCommittedSamplesMatchGenerator(t *testing.T) {
	const dir = "../../events"
	dev, err := LoadDevSecrets(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(Providers()) == 0 {
		t.Fatal("no generators registered")
	}
	for _, p := range Providers() {
		list, err := Generate(p, dir, dev)
		if err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, p, "*.json"))
		if len(files) != len(list) {
			t.Errorf("%s: %d files committed, generator makes %d (run go run ./cmd/gen-events)", p, len(files), len(list))
		}
		valid, rejected := 0, 0
		for _, s := range list {
			want, _ := Encode(s)
			got, err := os.ReadFile(filepath.Join(dir, p, s.Name+".json"))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s/%s.json differs from the generator (run go run ./cmd/gen-events)", p, s.Name)
			}
			if MustReject(s.Name) {
				rejected++
			} else {
				valid++
			}
		}
		if valid == 0 || rejected == 0 {
			t.Errorf("%s: %d valid and %d rejected samples; want both", p, valid, rejected)
		}
	}
}
