package main

// Where a run writes: its log directory and the state file other tools read.
// Two runs never share either: `make demo` beside `make run` writes its logs
// to .run/demo/logs and no state file; a run whose log directory a live run
// already holds writes to <dir>-<port> instead; a state file of a live run
// is never overwritten, nor removed by another run.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"webhooks/internal/localrun"
)

// Default log directories.
const (
	runLogDir  = ".run/logs"
	demoLogDir = ".run/demo/logs"
)

// ownerFile, in a log directory, names the run that writes there.
const ownerFile = ".owner"

// runOwner identifies a run: its process and its gateway (two runs in one
// process, as in tests, differ by their gateway).
type runOwner struct {
	Pid     int    `json:"pid"`
	Gateway string `json:"gateway"`
}

func self(gateway string) runOwner { return runOwner{Pid: os.Getpid(), Gateway: gateway} }

// otherLiveRun reports whether o is a run other than me that still runs.
func (o runOwner) otherLiveRun(me runOwner) bool {
	if o.Pid <= 0 || o == me {
		return false
	}
	if o.Pid == me.Pid {
		return true // another run in this process
	}
	err := syscall.Kill(o.Pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// claimLogDir makes dir (or, when a live run holds it, dir-<port>) this run's
// log directory and returns it, with a func that gives it up.
func claimLogDir(dir, port string, me runOwner) (string, func(), error) {
	b, _ := json.Marshal(me)
	for _, d := range []string{dir, dir + "-" + port} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", nil, err
		}
		lock := filepath.Join(d, ownerFile)
		for attempt := 0; attempt < 2; attempt++ {
			f, err := os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err == nil {
				_, werr := f.Write(b)
				if cerr := f.Close(); werr == nil {
					werr = cerr
				}
				if werr != nil {
					os.Remove(lock)
					return "", nil, werr
				}
				return d, func() { removeIfOwned(lock, me) }, nil
			}
			if !errors.Is(err, fs.ErrExist) {
				return "", nil, err
			}
			if readOwner(lock).otherLiveRun(me) {
				break // held: try the next directory
			}
			os.Remove(lock) // its run is gone
		}
	}
	return "", nil, fmt.Errorf("log directories %s and %s-%s are both held by running webhooks-local processes", dir, dir, port)
}

func readOwner(path string) runOwner {
	var o runOwner
	if b, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(b, &o)
	}
	return o
}

func removeIfOwned(path string, me runOwner) {
	if readOwner(path) == me {
		os.Remove(path)
	}
}

// writeStateFile writes st to path unless a live run's state is there; it
// returns a func that removes the file if it is still this run's, or the
// owner whose file it left alone.
func writeStateFile(path string, st localrun.State) (release func(), busy *runOwner, err error) {
	me := self(st.Gateway)
	if old, err := localrun.LoadState(path); err == nil {
		if o := (runOwner{Pid: old.Pid, Gateway: old.Gateway}); o.otherLiveRun(me) {
			return nil, &o, nil
		}
	}
	if err := localrun.WriteState(path, st); err != nil {
		return nil, nil, err
	}
	return func() {
		if cur, err := localrun.LoadState(path); err == nil && (runOwner{Pid: cur.Pid, Gateway: cur.Gateway}) == me {
			os.Remove(path)
		}
	}, nil, nil
}
