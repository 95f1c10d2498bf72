package kits_test

import (
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"webhooks/internal/devkit/kits"
	"webhooks/shared/providers"
)

// repoRoot is the repository root, found from this file.
func repoRoot(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// The tooling knows every shipped provider, in the shipped table's order,
// each kit describing its provider by the provider's own contract.
func TestKitsFollowTheProviderTable(t *testing.T) {
	if got, want := kits.Names(), providers.Names(); !slices.Equal(got, want) {
		t.Fatalf("kits %v, providers %v: add the kit to internal/devkit/kits in the table's order", got, want)
	}
	for i, p := range providers.Contracts() {
		k := kits.All[i]
		if k.Title != p.Title || !slices.Equal(k.Routes, p.Routes) || !slices.Equal(k.EventTypes, p.EventTypes) {
			t.Errorf("kit %s does not describe its provider by the provider's contract", p.Name)
		}
	}
	if _, err := kits.Get("nobody"); err == nil {
		t.Error("Get of an unknown provider: no error")
	}
}
