// Package schemas holds the JSON Schema (2020-12) of every event type's
// CloudEvent, one file per type: <event type>.json. The files are written by
// package webhooks/consumer (consumer.Schema), whose Decode applies the same
// rules; the test of this package fails when a file differs from what the
// consumer's types give (go test ./schemas -update rewrites them).
// Compile gives them compiled by a JSON Schema validator. docs/CONSUMERS.md
// explains them.
package schemas

import "embed"

// FS holds the schema files.
//
//go:embed *.json
var FS embed.FS
