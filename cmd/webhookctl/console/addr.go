package console

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// ErrNotLoopback means an address the console was asked to listen on is not
// a loopback address: it serves the operator's own credentials' view of the
// table, so it never listens where another machine could reach it.
var ErrNotLoopback = errors.New("console: listens on a loopback address only")

// CheckAddr accepts host:port whose host is a loopback IP literal
// (127.0.0.0/8, ::1) or "localhost", and returns the address to listen on
// ("localhost" becomes 127.0.0.1: a name is not resolved).
func CheckAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%w: %q is not host:port (such as 127.0.0.1:8080): %w", ErrNotLoopback, addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return net.JoinHostPort("127.0.0.1", port), nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Unmap().IsLoopback() || ip.Zone() != "" {
		return "", fmt.Errorf("%w: %q is not (give 127.0.0.1:PORT or [::1]:PORT)", ErrNotLoopback, addr)
	}
	return net.JoinHostPort(ip.Unmap().String(), port), nil
}

// loopbackHost reports whether a request's Host header names this machine by
// a loopback address or "localhost" (any port): a page of another site that
// rebinds its own name to 127.0.0.1 sends its own name, and is refused.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
