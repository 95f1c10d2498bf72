package samples

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The committed Alchemy Pay and OSL Pay samples are exactly what the generators
// produce (run `go run ./cmd/gen-events` after changing a generator).
func TestPaySamplesAreUpToDate(t *testing.T) {
	const dir = "../../events"
	dev, err := LoadDevSecrets(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"alchemypay", "oslpay"} {
		list, err := Generate(p, dir, dev)
		if err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, p, "*.json"))
		if len(files) != len(list) {
			t.Errorf("%s: %d files, %d generated samples", p, len(files), len(list))
		}
		for _, s := range list {
			want, err := Encode(s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(dir, p, s.Name+".json"))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s/%s.json is stale (%v): run go run ./cmd/gen-events", p, s.Name, err)
			}
		}
	}
}
