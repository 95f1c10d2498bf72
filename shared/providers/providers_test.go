package providers_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"webhooks/shared/providers"
)

// repoRoot is the repository root, found from this file.
func repoRoot(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// goFiles lists the non-test Go files of the repository's main module
// (relative, slash paths), skipping dependencies, build outputs and nested
// modules.
func goFiles(t *testing.T, root string) []string {
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "node_modules", "cdk.out", ".git", ".run", "build":
				return filepath.SkipDir
			}
			// Another module (consumer/: the consumers' view of every
			// provider's events, which names them all) is not this one's code.
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			rel, _ := filepath.Rel(root, path)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Adding a provider touches its own folders and the provider table: no other
// Go file may know a provider by name beyond a handful (the table itself and a
// few places that document or test the contract's four).
func TestProviderNamesStayInTheirFolders(t *testing.T) {
	const limit = 4
	root := repoRoot(t)
	files := goFiles(t, root)
	if len(files) < 20 {
		t.Fatalf("found only %d Go files under %s", len(files), root)
	}
	for _, k := range providers.All {
		name := strings.ToLower(k.Name)
		var outside []string
		for _, f := range files {
			if strings.HasPrefix(f, "shared/providers/"+k.Name+"/") || strings.HasPrefix(f, "functions/"+k.Name+"/") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(root, f))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(bytes.ToLower(b), []byte(name)) {
				outside = append(outside, f)
			}
		}
		if len(outside) > limit {
			t.Errorf("%s is named in %d non-test Go files outside its folders (at most %d): %s", k.Name, len(outside), limit, strings.Join(outside, ", "))
		}
	}
}

// internal/ holds at most six packages, each named for what it is.
func TestInternalPackages(t *testing.T) {
	const limit = 6
	root := repoRoot(t)
	pkgs := map[string]bool{}
	for _, f := range goFiles(t, root) {
		if strings.HasPrefix(f, "internal/") {
			pkgs[filepath.Dir(f)] = true
		}
	}
	// Packages of tests only count too.
	matches, _ := filepath.Glob(filepath.Join(root, "internal", "*", "*_test.go"))
	for _, m := range matches {
		rel, _ := filepath.Rel(root, filepath.Dir(m))
		pkgs[filepath.ToSlash(rel)] = true
	}
	if len(pkgs) > limit {
		t.Errorf("internal/ has %d packages (at most %d): %v", len(pkgs), limit, pkgs)
	}
}

// A function links its own provider and the shared pipeline only: never the
// tooling (internal/, the provider kits, this table).
func TestFunctionsLinkNoTooling(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	root := repoRoot(t)
	for _, k := range providers.All {
		cmd := exec.Command("go", "list", "-deps", "./functions/"+k.Name)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list %s: %v", k.Name, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, "webhooks/internal/") || strings.HasSuffix(dep, "dev") && strings.HasPrefix(dep, "webhooks/shared/providers/") ||
				dep == "webhooks/shared/providers" {
				t.Errorf("functions/%s links %s", k.Name, dep)
			}
		}
	}
}
