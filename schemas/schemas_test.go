package schemas

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"sort"
	"strings"
	"testing"

	"webhooks/consumer"
)

var update = flag.Bool("update", false, "rewrite the schema files from the consumer package's types")

// TestSchemasAreTheConsumerTypes: the files are exactly what the consumer
// package's types give, one per event type of the contract and no other.
func TestSchemasAreTheConsumerTypes(t *testing.T) {
	types := consumer.EventTypes()
	if len(types) != 15 {
		t.Fatalf("%d event types, want the contract's 15: %v", len(types), types)
	}
	for _, typ := range types {
		want, err := consumer.Schema(typ)
		if err != nil {
			t.Fatal(err)
		}
		if *update {
			if err := os.WriteFile(typ+".json", want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := FS.ReadFile(typ + ".json")
		if err != nil {
			t.Errorf("%s: %v (go test ./schemas -update writes it)", typ, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("schemas/%s.json differs from consumer.Schema(%q): go test ./schemas -update", typ, typ)
		}
	}
	if *update {
		return
	}
	files, err := fs.Glob(FS, "*.json")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(f, ".json"))
	}
	sort.Strings(names)
	if strings.Join(names, " ") != strings.Join(types, " ") {
		t.Errorf("schema files %v, want one per event type %v", names, types)
	}
}
