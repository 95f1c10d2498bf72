package awskit

import (
	"net"
	"runtime"
	"syscall"
	"testing"
)

// A server is moto's only when the socket answering on its port is held by
// moto's own process group: a port another process took in between is not.
func TestOwnsListeningPort(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	if !OwnsListeningPort(syscall.Getpgrp(), port) {
		t.Errorf("this process's own listening socket on %d is not found as its group's", port)
	}
	if OwnsListeningPort(syscall.Getpgrp()+1_000_000, port) {
		t.Errorf("another process group is said to hold the socket on %d", port)
	}
	ln.Close()
	if OwnsListeningPort(syscall.Getpgrp(), port) {
		t.Errorf("a closed port is said to be listening")
	}
}
