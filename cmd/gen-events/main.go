// Command gen-events regenerates events/<provider>/*.json from the development
// secrets in events/dev-secrets.json. Local tooling only.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"webhooks/internal/samples"
)

func main() {
	dir := flag.String("dir", "events", "events directory")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "gen-events:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	dev, err := samples.LoadDevSecrets(dir)
	if err != nil {
		return err
	}
	for _, p := range samples.Providers() {
		list, err := samples.Generate(p, dir, dev)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			return err
		}
		for _, s := range list {
			b, err := samples.Encode(s)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, p, s.Name+".json"), b, 0o644); err != nil {
				return err
			}
		}
		fmt.Printf("%s: %d samples\n", p, len(list))
	}
	return nil
}
