package localrun

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
)

// ConsumerName is the example consumer's name: examples/consumer, built into
// <dir>/consumer/bootstrap, and its function's name.
const ConsumerName = "consumer"

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
	pkgs := make([]string, len(names))
	for i, n := range names {
		pkgs[i] = "./functions/" + n
	}
	return names, buildBootstraps(root, dir, names, pkgs)
}

// BuildConsumer builds the example consumer (examples/consumer) of the module
// at root for this machine into dir/consumer/bootstrap, with the same flags as
// the functions (what `make run-bin` does for it), and returns the binary's path.
func BuildConsumer(root, dir string) (string, error) {
	if err := buildBootstraps(root, dir, []string{ConsumerName}, []string{"./examples/" + ConsumerName}); err != nil {
		return "", err
	}
	return filepath.Join(dir, ConsumerName, "bootstrap"), nil
}

// buildBootstraps builds the main packages pkgs (each named after its last
// path element, names[i]) in one go build into dir/<name>/bootstrap.
func buildBootstraps(root, dir string, names, pkgs []string) error {
	out := filepath.Join(dir, ".build")
	args := []string{"build", "-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w -buildid=", "-o", out + string(filepath.Separator)}
	args = append(args, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("localrun: go build %v: %v\n%s", pkgs, err, b)
	}
	for _, n := range names {
		if err := os.MkdirAll(filepath.Join(dir, n), 0o755); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(out, n), filepath.Join(dir, n, "bootstrap")); err != nil {
			return err
		}
	}
	return os.Remove(out)
}
