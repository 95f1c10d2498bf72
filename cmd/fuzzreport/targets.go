package main

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// target is one fuzz test.
type target struct {
	Module string // the module's directory, relative to the repository root ("." or "consumer")
	Dir    string // the package's directory, relative to the module ("." for its root)
	Func   string // FuzzXxx
}

// Pkg is the package's directory relative to the repository root, as the
// report and -targets name it: "shared/pan", "consumer/fieldname".
func (t target) Pkg() string { return filepath.ToSlash(filepath.Clean(filepath.Join(t.Module, t.Dir))) }

func (t target) String() string { return t.Pkg() + ":" + t.Func }

// discover finds every fuzz test of the modules (directories relative to
// root): each top-level func FuzzXxx(*testing.F) in a _test.go file that go
// test builds on this platform, in the directories go test ./... walks (not
// testdata, vendor, node_modules or names starting with . or _, nor a nested
// module's). Sorted by package, then name.
func discover(root string, modules []string) ([]target, error) {
	var out []target
	for _, m := range modules {
		modRoot := filepath.Join(root, m)
		if _, err := os.Stat(filepath.Join(modRoot, "go.mod")); err != nil {
			return nil, fmt.Errorf("module %s: %w", m, err)
		}
		err := filepath.WalkDir(modRoot, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				name := d.Name()
				if path != modRoot {
					if name == "testdata" || name == "vendor" || name == "node_modules" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
						return filepath.SkipDir
					}
					if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
						return filepath.SkipDir // another module
					}
				}
				return nil
			}
			if !strings.HasSuffix(path, "_test.go") {
				return nil
			}
			dir := filepath.Dir(path)
			if ok, err := build.Default.MatchFile(dir, d.Name()); err != nil || !ok {
				return err
			}
			funcs, err := fuzzFuncs(path)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(modRoot, dir)
			if err != nil {
				return err
			}
			for _, f := range funcs {
				out = append(out, target{Module: m, Dir: filepath.ToSlash(rel), Func: f})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pkg() != out[j].Pkg() {
			return out[i].Pkg() < out[j].Pkg()
		}
		return out[i].Func < out[j].Func
	})
	return out, nil
}

// fuzzFuncs lists the fuzz tests declared in one file, as go test finds
// them: a top-level function named Fuzz or FuzzXxx (Xxx not starting with a
// lower-case letter) whose one parameter is a *testing.F.
func fuzzFuncs(path string) ([]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	testing := "testing"
	for _, imp := range f.Imports {
		if imp.Path.Value == `"testing"` && imp.Name != nil {
			testing = imp.Name.Name
		}
	}
	var out []string
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv != nil || !isFuzzName(fn.Name.Name) {
			continue
		}
		params := fn.Type.Params.List
		if len(params) != 1 || len(params[0].Names) > 1 {
			continue
		}
		star, ok := params[0].Type.(*ast.StarExpr)
		if !ok {
			continue
		}
		sel, ok := star.X.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "F" {
			continue
		}
		if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == testing {
			out = append(out, fn.Name.Name)
		}
	}
	return out, nil
}

func isFuzzName(name string) bool {
	rest, ok := strings.CutPrefix(name, "Fuzz")
	if !ok {
		return false
	}
	if rest == "" {
		return true
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return !unicode.IsLower(r)
}

// selectTargets keeps the targets named in spec ("pkg:Func" separated by
// spaces or commas); every name must be a discovered target.
func selectTargets(all []target, spec string) ([]target, error) {
	byName := map[string]target{}
	for _, t := range all {
		byName[t.String()] = t
	}
	var out []target
	for _, s := range strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		t, ok := byName[strings.TrimPrefix(s, "./")]
		if !ok {
			return nil, fmt.Errorf("no fuzz target %s (make fuzz lists them with go run ./cmd/fuzzreport -list)", s)
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no target in %q", spec)
	}
	return out, nil
}
