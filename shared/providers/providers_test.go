package providers_test

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
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

// Adding a provider touches its own folders and the two provider tables: no
// other Go file may know a provider by name beyond a handful (the tables
// themselves and a few places that document or test the contract's four).
func TestProviderNamesStayInTheirFolders(t *testing.T) {
	const limit = 4
	root := repoRoot(t)
	files := goFiles(t, root)
	if len(files) < 20 {
		t.Fatalf("found only %d Go files under %s", len(files), root)
	}
	for _, name := range providers.Names() {
		lower := strings.ToLower(name)
		var outside []string
		for _, f := range files {
			if strings.HasPrefix(f, "shared/providers/"+name+"/") || strings.HasPrefix(f, "functions/"+name+"/") ||
				strings.HasPrefix(f, "internal/devkit/"+name+"dev/") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(root, f))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(bytes.ToLower(b), []byte(lower)) {
				outside = append(outside, f)
			}
		}
		if len(outside) > limit {
			t.Errorf("%s is named in %d non-test Go files outside its folders (at most %d): %s", name, len(outside), limit, strings.Join(outside, ", "))
		}
	}
}

// internal/ holds at most six package trees (a top-level folder and the
// packages under it, such as devkit and its providers' kits), each named for
// what it is.
func TestInternalPackages(t *testing.T) {
	const limit = 6
	root := repoRoot(t)
	trees := map[string]bool{}
	for _, f := range goFiles(t, root) {
		if rest, ok := strings.CutPrefix(f, "internal/"); ok && strings.Contains(rest, "/") {
			trees[strings.SplitN(rest, "/", 2)[0]] = true
		}
	}
	// Packages of tests only count too.
	matches, _ := filepath.Glob(filepath.Join(root, "internal", "*", "*_test.go"))
	for _, m := range matches {
		rel, _ := filepath.Rel(filepath.Join(root, "internal"), m)
		trees[strings.SplitN(filepath.ToSlash(rel), "/", 2)[0]] = true
	}
	if len(trees) > limit {
		t.Errorf("internal/ has %d package trees (at most %d): %v", len(trees), limit, trees)
	}
}

// goList runs go list in the repository with args and returns its output's
// fields.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = repoRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.Fields(string(out))
}

// A function links its own provider and the shared pipeline only: never the
// tooling (internal/) nor the provider table.
func TestFunctionsLinkNoTooling(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, name := range providers.Names() {
		for _, dep := range goList(t, "-deps", "./functions/"+name) {
			if strings.HasPrefix(dep, "webhooks/internal/") || dep == "webhooks/shared/providers" || dep == "testing" {
				t.Errorf("functions/%s links %s", name, dep)
			}
		}
	}
}

// shared/ holds only what ships: none of its packages imports internal/ (its
// tests may: they are not shipped), and the CDK app links neither internal/
// nor the testing package.
func TestSharedShipsAndTheAppLinksNoTooling(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, line := range goList(t, "-f", `{{.ImportPath}}:{{join .Imports ","}}`, "./shared/...") {
		pkg, imports, _ := strings.Cut(line, ":")
		for _, imp := range strings.Split(imports, ",") {
			if strings.HasPrefix(imp, "webhooks/internal/") || imp == "testing" {
				t.Errorf("%s imports %s", pkg, imp)
			}
		}
	}
	for _, dep := range goList(t, "-deps", "./infra") {
		if strings.HasPrefix(dep, "webhooks/internal/") || dep == "testing" {
			t.Errorf("the CDK app (./infra) links %s", dep)
		}
	}
}

// The pipeline owns the body: it parses it once and redacts it once
// (pipeline.Provider's Classify and Decode get the parsed and the redacted
// document). No provider package calls the redactor or a JSON parser; the
// only JSON a provider reads itself is its secret (ParseSecret) and APIGift's
// decrypted goods (appendPlaintext: is the plaintext JSON?).
func TestProvidersNeitherParseNorRedact(t *testing.T) {
	allowed := map[string]map[string]bool{ // function → calls it may make
		"ParseSecret":     {"json.Unmarshal": true},
		"appendPlaintext": {"json.Valid": true},
	}
	forbidden := func(pkg, name string) bool {
		switch {
		case name == "Redact" || name == "RedactValue" || name == "Text" && pkg == "pan":
			return true
		case pkg == "jsonx":
			return name == "Parse" || name == "ParseValue" || name == "CheckObject" || name == "Canonical" || name == "Valid"
		case pkg == "json":
			return name == "Unmarshal" || name == "NewDecoder" || name == "Valid" || name == "Compact" || name == "Indent"
		}
		return false
	}
	root := repoRoot(t)
	fset := token.NewFileSet()
	checked := 0
	for _, name := range providers.Names() {
		files, _ := filepath.Glob(filepath.Join(root, "shared", "providers", name, "*.go"))
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			checked++
			for _, decl := range f.Decls {
				fn, ok := decl.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok {
						return true
					}
					sel, ok := call.Fun.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					pkg := ""
					if id, ok := sel.X.(*ast.Ident); ok {
						pkg = id.Name
					}
					callee := sel.Sel.Name
					if sel.Sel.Name == "Redact" || sel.Sel.Name == "RedactValue" || forbidden(pkg, callee) {
						if !allowed[fn.Name.Name][pkg+"."+callee] {
							t.Errorf("%s: %s calls %s.%s: the pipeline parses and redacts the body", fset.Position(call.Pos()), fn.Name.Name, pkg, callee)
						}
					}
					return true
				})
			}
		}
	}
	if checked < len(providers.Names()) {
		t.Fatalf("checked %d files", checked)
	}
}

// The tools that run (the local run, webhookctl, the soak, perfreport) link
// no testing package: the helpers that take a testing.TB sit apart
// (internal/awskit/awstest), and the arrows point from tests to tools.
func TestToolsLinkNoTesting(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	tools := []string{"./cmd/webhookctl", "./cmd/webhooks-local", "./internal/localrun", "./cmd/soak", "./cmd/perfreport"}
	deps := goList(t, append([]string{"-deps", "-f", `{{.ImportPath}}:{{join .Imports ","}}`}, tools...)...)
	if len(deps) < 50 {
		t.Fatalf("go list -deps %v gave only %d packages", tools, len(deps))
	}
	for _, line := range deps {
		pkg, imports, _ := strings.Cut(line, ":")
		if pkg == "testing" {
			t.Errorf("%v link the testing package", tools)
		}
		for _, imp := range strings.Split(imports, ",") {
			if imp == "testing" {
				t.Errorf("%s imports testing, and a tool links it", pkg)
			}
		}
	}
}
