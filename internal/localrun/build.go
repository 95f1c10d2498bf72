package localrun

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
)

// BuildFunctions builds functions/<name> of the module at root for this
// machine into dir/<name>/bootstrap with the Lambda build's flags (what
// `make run-bin` does), in one go build, which links them in parallel. With no
// names it builds every function. It returns the names built, sorted.
func BuildFunctions(root, dir string, names ...string) ([]string, error) {
	if len(names) == 0 {
		mains, _ := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
		for _, m := range mains {
			names = append(names, filepath.Base(filepath.Dir(m)))
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("localrun: no function under %s", filepath.Join(root, "functions"))
	}
	out := filepath.Join(dir, ".build")
	args := []string{"build", "-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w -buildid=", "-o", out + string(filepath.Separator)}
	for _, n := range names {
		args = append(args, "./functions/"+n)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("localrun: go build the functions: %v\n%s", err, b)
	}
	for _, n := range names {
		if err := os.MkdirAll(filepath.Join(dir, n), 0o755); err != nil {
			return nil, err
		}
		if err := os.Rename(filepath.Join(out, n), filepath.Join(dir, n, "bootstrap")); err != nil {
			return nil, err
		}
	}
	return names, os.Remove(out)
}
