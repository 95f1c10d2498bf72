package schemas

import (
	"bytes"
	"fmt"
	"io/fs"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Compile compiles every schema file with a JSON Schema 2020-12 validator
// (formats asserted), by event type: what a Go consumer of this module, and
// the tests that hold the receivers to the schemas, validate messages with.
func Compile() (map[string]*jsonschema.Schema, error) {
	files, err := fs.Glob(FS, "*.json")
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	out := map[string]*jsonschema.Schema{}
	for _, f := range files {
		typ := strings.TrimSuffix(f, ".json")
		b, err := FS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("schemas/%s: %w", f, err)
		}
		url := "file:///schemas/" + f
		if err := c.AddResource(url, doc); err != nil {
			return nil, fmt.Errorf("schemas/%s: %w", f, err)
		}
		if out[typ], err = c.Compile(url); err != nil {
			return nil, fmt.Errorf("schemas/%s: %w", f, err)
		}
	}
	return out, nil
}
