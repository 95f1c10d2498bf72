package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"webhooks/internal/localrun"
)

// A pid no process has (above Linux's largest pid_max).
const deadPid = 1 << 30

func TestClaimLogDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	a, b, c := self("http://127.0.0.1:1"), self("http://127.0.0.1:2"), self("http://127.0.0.1:3")
	gotA, releaseA, err := claimLogDir(dir, "1", a)
	if err != nil || gotA != dir {
		t.Fatalf("first run: %q %v", gotA, err)
	}
	gotB, releaseB, err := claimLogDir(dir, "2", b)
	if err != nil || gotB != dir+"-2" {
		t.Fatalf("second run beside it: %q %v, want %s-2", gotB, err, dir)
	}
	if _, _, err := claimLogDir(dir, "2", c); err == nil {
		t.Fatal("a third run got a held directory")
	}
	releaseA()
	releaseB()
	if _, err := os.Stat(filepath.Join(dir, ownerFile)); !os.IsNotExist(err) {
		t.Errorf("owner file left after release: %v", err)
	}
	// A run that died without releasing leaves its owner file: the next run takes over.
	stale, _ := json.Marshal(runOwner{Pid: deadPid, Gateway: "http://127.0.0.1:9"})
	if err := os.WriteFile(filepath.Join(dir, ownerFile), stale, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, release, err := claimLogDir(dir, "3", c); err != nil || got != dir {
		t.Fatalf("after a dead run: %q %v", got, err)
	} else {
		release()
	}
}

func TestWriteStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "local.json")
	stA := localrun.State{Gateway: "http://127.0.0.1:1", Pid: os.Getpid()}
	releaseA, busy, err := writeStateFile(path, stA)
	if err != nil || busy != nil {
		t.Fatalf("first: %v %v", busy, err)
	}
	stB := localrun.State{Gateway: "http://127.0.0.1:2", Pid: os.Getpid()}
	if release, busy, err := writeStateFile(path, stB); err != nil || busy == nil || busy.Gateway != stA.Gateway || release != nil {
		t.Fatalf("second run beside the first: busy %v err %v", busy, err)
	}
	if st, _ := localrun.LoadState(path); st.Gateway != stA.Gateway {
		t.Fatalf("state overwritten: %+v", st)
	}
	releaseA()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("state left after release: %v", err)
	}
	// A dead run's state is replaced.
	if err := localrun.WriteState(path, localrun.State{Gateway: "http://127.0.0.1:9", Pid: deadPid}); err != nil {
		t.Fatal(err)
	}
	releaseB, busy, err := writeStateFile(path, stB)
	if err != nil || busy != nil {
		t.Fatalf("after a dead run: %v %v", busy, err)
	}
	if st, _ := localrun.LoadState(path); st.Gateway != stB.Gateway {
		t.Fatalf("state %+v", st)
	}
	// A release does not remove a file another run wrote since.
	if err := localrun.WriteState(path, stA); err != nil {
		t.Fatal(err)
	}
	releaseB()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("another run's state removed: %v", err)
	}
}
