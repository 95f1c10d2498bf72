package stack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// cfn-lint runs once per test binary, one process over every synthesised template and the
// fixture below: each process pays ~3 s of start-up, and one per template took twice the
// CPU time of the one run. Its JSON output names the file of each finding, so each is
// reported against its own template.

// cfnLintFixture holds one known finding, E3012 on line 8 (a string where the queue's
// VisibilityTimeout takes an integer). It is linted last, in the same process: its
// finding reported against it shows that the run reached the end of the list and that
// findings are told apart by file.
const cfnLintFixture = "testdata/cfnlint/bad-queue.template.json"

// lintFinding is one cfn-lint match.
type lintFinding struct {
	Rule, Level, Message, Path string
	Line                       int
}

func (f lintFinding) String() string {
	return fmt.Sprintf("line %d: %s %s: %s (%s)", f.Line, f.Level, f.Rule, f.Message, f.Path)
}

var (
	lintOnce   sync.Once
	lintByFile map[string][]lintFinding // findings by cleaned absolute template path
	lintErr    error
)

// cfnLintAll lints every synthesised template and the fixture in one cfn-lint process (the
// first caller runs it) and returns the findings by template path (filepath.Abs). Without
// cfn-lint the test skips, or fails when CI=true.
func cfnLintAll(t *testing.T) map[string][]lintFinding {
	t.Helper()
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("cfn-lint not installed (pip install cfn-lint)")
		}
		t.Skip("cfn-lint not installed; skipping (pip install cfn-lint); CI=true makes this a failure")
	}
	lintOnce.Do(func() {
		rc, err := filepath.Abs(filepath.Join("..", "..", ".cfnlintrc"))
		if err != nil {
			lintErr = err
			return
		}
		var files []string
		for _, s := range everyStack() {
			files = append(files, s.path)
		}
		lintByFile, lintErr = cfnLint(bin, rc, append(files, cfnLintFixture))
	})
	if lintErr != nil {
		t.Fatal(lintErr)
	}
	return lintByFile
}

// cfnLint runs one cfn-lint process over files with the given configuration (rules and
// ignores as in .cfnlintrc) and returns its findings by file (filepath.Abs of the name it
// was given). An error means cfn-lint itself failed, not that it found something.
func cfnLint(bin, rc string, files []string) (map[string][]lintFinding, error) {
	given := map[string]bool{}
	args := []string{"--config-file", rc, "--format", "json", "--"}
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		given[abs] = true
		args = append(args, abs)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code := 0
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return nil, fmt.Errorf("cfn-lint: %v", err)
		}
		code = exit.ExitCode()
	}
	// Its exit status ORs 2, 4 and 8 for error, warning and informational findings; any
	// other bit (1: a bad configuration or a crash) is cfn-lint failing.
	if code < 0 || code&^(2|4|8) != 0 {
		return nil, fmt.Errorf("cfn-lint failed (exit status %d):\n%s%s", code, &stdout, &stderr)
	}
	var matches []struct {
		Filename string
		Level    string
		Message  string
		Rule     struct{ Id string }
		Location struct {
			Start struct{ LineNumber int }
			Path  []any
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &matches); err != nil {
		return nil, fmt.Errorf("cfn-lint output is not its JSON format: %v\n%s%s", err, &stdout, &stderr)
	}
	if (code == 0) != (len(matches) == 0) {
		return nil, fmt.Errorf("cfn-lint exit status %d with %d findings:\n%s%s", code, len(matches), &stdout, &stderr)
	}
	found := map[string][]lintFinding{}
	for _, m := range matches {
		f, err := filepath.Abs(m.Filename)
		if err != nil || !given[f] {
			return nil, fmt.Errorf("cfn-lint reported %s %s against %q, a file it was not given", m.Rule.Id, m.Message, m.Filename)
		}
		path := make([]string, len(m.Location.Path))
		for i, p := range m.Location.Path {
			path[i] = fmt.Sprint(p)
		}
		found[f] = append(found[f], lintFinding{
			Rule: m.Rule.Id, Level: m.Level, Message: m.Message, Line: m.Location.Start.LineNumber,
			Path: strings.Join(path, "/"),
		})
	}
	return found, nil
}

func TestTemplatePassesCfnLint(t *testing.T) {
	// GIVEN the synthesised templates WHEN cfn-lint checks them (one process, with the
	// fixture) THEN it reports nothing against any of them
	needsSynth(t)
	found := cfnLintAll(t)
	for _, s := range everyStack() {
		// the context's directory and the stack's template: dflt/Webhooks-dev.template.json
		name := filepath.Join(filepath.Base(filepath.Dir(s.path)), filepath.Base(s.path))
		abs, err := filepath.Abs(s.path)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range found[abs] {
			t.Errorf("cfn-lint %s %s", name, f)
		}
	}
}

func TestCfnLintReportsAFindingAgainstItsTemplate(t *testing.T) {
	// GIVEN the fixture with one known finding, linted in the same cfn-lint process as the
	// synthesised templates
	needsSynth(t)
	found := cfnLintAll(t)
	fixture, err := filepath.Abs(cfnLintFixture)
	if err != nil {
		t.Fatal(err)
	}
	// THEN its finding is reported against it (a finding against any file it was not given
	// fails cfnLint; the synthesised templates have none, TestTemplatePassesCfnLint)
	got := found[fixture]
	if len(got) != 1 || got[0].Rule != "E3012" || got[0].Line != 8 || got[0].Path != "Resources/Queue/Properties/VisibilityTimeout" {
		t.Errorf("cfn-lint on %s: %v, want the one E3012 on line 8 at Resources/Queue/Properties/VisibilityTimeout", cfnLintFixture, got)
	}
}
