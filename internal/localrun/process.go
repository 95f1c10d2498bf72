package localrun

// Process helpers: stopping an emulator and its runtime, finding children, free loopback addresses.

import (
	"bytes"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// terminate ends an emulator by its pid: SIGTERM makes it kill its runtime
// and exit; SIGKILL after three seconds. Runtimes it leaves behind are killed
// by their pids.
func terminate(p *emulator) {
	if p.cmd.Process == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	pid := p.cmd.Process.Pid
	children := childPids(pid)
	_ = syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(pid, syscall.SIGKILL)
		<-p.exited
	}
	for _, c := range children {
		_ = syscall.Kill(c, syscall.SIGKILL)
	}
}

// childPids lists the processes whose parent is pid, from /proc (Linux; none elsewhere).
func childPids(pid int) []int {
	var out []int
	for child := range Children(func(ppid int) bool { return ppid == pid }) {
		out = append(out, child)
	}
	return out
}

// Children maps each process whose parent is one isParent accepts to that
// parent, reading /proc once (Linux; none elsewhere).
func Children(isParent func(ppid int) bool) map[int]int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := map[int]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil && isParent(ppid) {
			out[pid] = ppid
		}
	}
	return out
}

func twoFreeAddrs() (string, string, error) {
	a, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", err
	}
	defer a.Close()
	b, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", err
	}
	defer b.Close()
	return a.Addr().String(), b.Addr().String(), nil
}
