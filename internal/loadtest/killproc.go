package loadtest

// Killing a function's runtime mid-request. The fault proxy sees a call on a
// loopback connection; the process that holds the client end of it is found
// from /proc (Linux: /proc/net/tcp gives the socket's inode, /proc/<pid>/fd
// the process holding it) among the children of the Lambda emulators only, so
// nothing but a runtime the soak started can be killed.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"webhooks/internal/localrun"
)

// ErrNotARuntime: the caller is not a process the killer may kill (not a
// child of the given parents), or it could not be found.
var ErrNotARuntime = errors.New("loadtest: the caller is not a function runtime")

// RuntimeKiller returns a Killer that kills (SIGKILL) the process at the
// client end of a loopback connection when it is a child of one of the pids
// parents lists (the emulators, whose children are the runtimes; each named,
// for example by its function), and waits until it is gone. onKill (may be
// nil) learns the parent's name of each process killed.
func RuntimeKiller(parents func() map[int]string, onKill func(parent string, pid int)) Killer {
	return func(remote, local string) (int, error) {
		inode, err := socketInode("/proc/net/tcp", remote, local)
		if err != nil {
			return 0, err
		}
		names := parents()
		for pid, parent := range childrenOf(names) {
			if !holdsSocket(pid, inode) {
				continue
			}
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				return 0, fmt.Errorf("kill %d: %w", pid, err)
			}
			waitGone(pid, 2*time.Second)
			if onKill != nil {
				onKill(names[parent], pid)
			}
			return pid, nil
		}
		return 0, fmt.Errorf("%w (connection %s → %s)", ErrNotARuntime, remote, local)
	}
}

// socketInode finds, in a /proc/net/tcp table, the socket whose local end is
// client and whose remote end is server (both IPv4 host:port), and returns
// its inode.
func socketInode(table, client, server string) (string, error) {
	c, err := procAddr(client)
	if err != nil {
		return "", err
	}
	s, err := procAddr(server)
	if err != nil {
		return "", err
	}
	f, err := os.Open(table)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNotARuntime, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
		fields := strings.Fields(sc.Text())
		if len(fields) > 9 && fields[1] == c && fields[2] == s {
			return fields[9], nil
		}
	}
	return "", fmt.Errorf("%w: no socket %s → %s in %s", ErrNotARuntime, client, server, table)
}

// procAddr writes an IPv4 host:port as /proc/net/tcp does: the address's
// four bytes in host (little-endian) order, then the port, in upper-case hex.
func procAddr(hostport string) (string, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", err
	}
	ip := net.ParseIP(host).To4()
	n, err := strconv.Atoi(port)
	if ip == nil || err != nil {
		return "", fmt.Errorf("%w: %s is not an IPv4 host:port", ErrNotARuntime, hostport)
	}
	return fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], n), nil
}

// childrenOf maps each process whose parent is one of parents to that
// parent, reading /proc once.
func childrenOf[V any](parents map[int]V) map[int]int {
	if len(parents) == 0 {
		return nil
	}
	return localrun.Children(func(ppid int) bool { _, ok := parents[ppid]; return ok })
}

// holdsSocket reports whether process pid has the socket inode open.
func holdsSocket(pid int, inode string) bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	want := "socket:[" + inode + "]"
	for _, e := range entries {
		if l, err := os.Readlink(dir + "/" + e.Name()); err == nil && l == want {
			return true
		}
	}
	return false
}

// waitGone waits until pid is dead (a zombie, or reaped by its parent).
func waitGone(pid int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return
		}
		if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) && (b[i+2] == 'Z' || b[i+2] == 'X') {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
