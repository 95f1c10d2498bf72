//go:build !linux

package localrun

import "syscall"

// emulatorProcAttr puts an emulator in its own process group, so a Ctrl-C at
// the terminal reaches the tool, which stops the emulators in order.
func emulatorProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
