package localrun

import "syscall"

// emulatorProcAttr puts an emulator in its own process group, so a Ctrl-C at
// the terminal reaches the tool, which stops the emulators in order, and asks
// the kernel to send it SIGTERM should the tool die without stopping it (the
// emulator then kills its runtime and exits).
func emulatorProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
