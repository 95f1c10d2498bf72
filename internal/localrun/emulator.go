package localrun

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The official AWS Lambda Runtime Interface Emulator, the one the SAM CLI runs
// inside its containers. It is never committed: `make tools` (a prerequisite
// of make run, demo, test, soak and bench, and run by .ci/run) builds it from
// its Go module at exactly this version into the git-ignored .run/tools/.
const (
	// EmulatorPackage is the emulator's main package.
	EmulatorPackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
	// EmulatorVersion is the pinned module version (the Makefile's RIE_VERSION).
	EmulatorVersion = "v0.0.0-20261030222936-bef5c4ba774d"
	// EmulatorEnv names the variable through which make hands the emulator's
	// path to everything it runs.
	EmulatorEnv = "WEBHOOKS_RIE"
)

// ErrNoEmulator is returned by FindEmulator when the emulator is not installed.
var ErrNoEmulator = errors.New("localrun: the Lambda Runtime Interface Emulator (aws-lambda-rie) is not installed: run `make tools`, or set " + EmulatorEnv)

// EmulatorInstallCommand installs the pinned emulator into dir.
func EmulatorInstallCommand(dir string) string {
	return fmt.Sprintf("GOBIN=%s go install %s@%s", dir, EmulatorPackage, EmulatorVersion)
}

// FindEmulator locates the emulator: the path in WEBHOOKS_RIE (which make
// sets) when that variable is set, else where `make tools` installs it in the
// module this process runs in (found from the working directory upwards).
func FindEmulator() (string, error) {
	if p := os.Getenv(EmulatorEnv); p != "" {
		if err := executable(p); err != nil {
			return "", fmt.Errorf("%w (%s=%s: %v)", ErrNoEmulator, EmulatorEnv, p, err)
		}
		return p, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", fmt.Errorf("%w (%v)", ErrNoEmulator, err)
	}
	p := filepath.Join(root, EmulatorRelPath)
	if err := executable(p); err != nil {
		return "", fmt.Errorf("%w (looked for %s)", ErrNoEmulator, p)
	}
	return p, nil
}

// EmulatorRelPath is where `make tools` puts the emulator, relative to the
// module root (the Makefile's RIE).
var EmulatorRelPath = filepath.Join(".run", "tools", "aws-lambda-rie-"+EmulatorVersion, "aws-lambda-rie")

// EmulatorForTests is FindEmulator for tests that need the emulator. When it
// is missing it returns a reason to skip, except on CI (CI=true), where a
// missing emulator is an error that must fail the run.
func EmulatorForTests() (path, skip string, err error) {
	p, err := FindEmulator()
	if err == nil {
		return p, "", nil
	}
	if os.Getenv("CI") == "true" {
		return "", "", err
	}
	return "", err.Error(), nil
}

func executable(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", p)
	}
	return nil
}

// moduleRoot is the nearest directory upwards holding this project's go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if first, _, _ := strings.Cut(string(b), "\n"); err == nil && strings.TrimSpace(first) == "module webhooks" {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the webhooks module")
		}
		dir = parent
	}
}
