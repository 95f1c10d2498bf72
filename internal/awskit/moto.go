package awskit

// moto_server: a local moto_server (a real AWS API implemented by the Python
// moto project) started and stopped on a free loopback port.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrMotoNotInstalled is returned by Start when no moto_server executable is on PATH.
var ErrMotoNotInstalled = errors.New(`moto_server not found on PATH (install it with: pip install "moto[server]")`)

// Server is a running moto_server process.
type Server struct {
	// Endpoint is the base URL, for example http://127.0.0.1:41234.
	Endpoint string
	cmd      *exec.Cmd
	done     chan struct{}
}

// StartMoto launches moto_server on 127.0.0.1 at a free port and waits until it answers.
// Output goes to logFile when it is non-nil.
//
// The port is chosen free and then handed to moto_server, so another process
// (another test binary's server) may take it in between: then moto_server
// cannot listen and exits, while the other process answers on its port. So a
// server counts as ready only when the answer comes from a socket its own
// process group holds (read from /proc on Linux), and one that exits before
// it is ready is started again on another port, three times in all.
func StartMoto(ctx context.Context, logFile *os.File) (*Server, error) {
	return StartMotoWith(ctx, MotoOptions{LogFile: logFile})
}

// MotoOptions say how StartMotoWith starts moto_server.
type MotoOptions struct {
	// LogFile receives the server's output when it is non-nil.
	LogFile *os.File
	// Env is added to the server's environment (moto reads its settings
	// from there), for example IAMEnforced().
	Env map[string]string
}

// StartMotoWith is StartMoto with options.
func StartMotoWith(ctx context.Context, opt MotoOptions) (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrMotoNotInstalled
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := startMoto(ctx, bin, opt)
		if err == nil || !errors.Is(err, errMotoExited) {
			return s, err
		}
		lastErr = err
	}
	return nil, lastErr
}

var errMotoExited = errors.New("moto_server exited before it was ready")

func startMoto(ctx context.Context, bin string, opt MotoOptions) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("motoserver: pick a port: %w", err)
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	if opt.LogFile != nil {
		cmd.Stdout, cmd.Stderr = opt.LogFile, opt.LogFile
	}
	if len(opt.Env) > 0 {
		cmd.Env = os.Environ()
		for k, v := range opt.Env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	// Own process group, so Stop also ends any child the Python launcher starts.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("motoserver: start %s: %w", bin, err)
	}
	s := &Server{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()

	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := s.ping(ctx); err == nil && OwnsListeningPort(cmd.Process.Pid, port) {
			return s, nil
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("%w (%v)", errMotoExited, cmd.ProcessState)
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, errors.New("moto_server did not answer within 30s")
		}
	}
}

func (s *Server) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.Endpoint+"/moto-api/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// Reset drops every resource moto holds.
func (s *Server) Reset(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.Endpoint+"/moto-api/reset", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("motoserver: reset: %w", err)
	}
	resp.Body.Close()
	return nil
}

// Stop ends the process group it started, by process id, and waits for it.
func (s *Server) Stop() {
	if s == nil || s.cmd.Process == nil {
		return
	}
	pgid := s.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.done
	}
}

// MotoForTests starts a server for a test binary's TestMain. When moto_server is not
// installed it returns (nil, reason): callers skip integration tests with that
// reason, except on CI (CI=true), where a missing tool must fail the run.
func MotoForTests() (*Server, string, error) {
	return MotoForTestsWith(MotoOptions{})
}

// MotoForTestsWith is MotoForTests with options.
func MotoForTestsWith(opt MotoOptions) (*Server, string, error) {
	s, err := StartMotoWith(context.Background(), opt)
	if errors.Is(err, ErrMotoNotInstalled) && os.Getenv("CI") != "true" {
		return nil, err.Error(), nil
	}
	return s, "", err
}

// Env is the environment that points the AWS SDK's standard configuration at this server.
func (s *Server) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL":      s.Endpoint,
		"AWS_ACCESS_KEY_ID":     "test",
		"AWS_SECRET_ACCESS_KEY": "test",
		"AWS_REGION":            "us-east-1",
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Pid is the moto_server process id (also its process group id).
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// OwnsListeningPort reports whether a process of the process group pgid
// holds the socket listening on 127.0.0.1:port (Linux: /proc/net/tcp gives
// the socket's inode, /proc/<pid>/fd the process holding it). Elsewhere it
// cannot tell, and says yes.
func OwnsListeningPort(pgid, port int) bool {
	if runtime.GOOS != "linux" {
		return true
	}
	inode := listeningInode("/proc/net/tcp", port)
	if inode == "" {
		return false
	}
	want := "socket:[" + inode + "]"
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if g, err := syscall.Getpgid(pid); err != nil || g != pgid {
			continue
		}
		fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && l == want {
				return true
			}
		}
	}
	return false
}

// listeningInode is the inode of the socket listening on 127.0.0.1:port in a
// /proc/net/tcp table ("" when there is none).
func listeningInode(table string, port int) string {
	b, err := os.ReadFile(table)
	if err != nil {
		return ""
	}
	local := fmt.Sprintf("0100007F:%04X", port)
	for _, line := range strings.Split(string(b), "\n") {
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
		f := strings.Fields(line)
		if len(f) > 9 && f[1] == local && f[3] == "0A" { // 0A: LISTEN
			return f[9]
		}
	}
	return ""
}
