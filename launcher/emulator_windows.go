package launcher

import (
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/windows"
)

// processGroup runs the emulator in a new console process group. Windows has
// no signal to ask a console program to stop from outside, so ending it
// means killing it.
type processGroup struct{ cmd *exec.Cmd }

func newProcessGroup(cmd *exec.Cmd) *processGroup {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
	return &processGroup{cmd: cmd}
}

func (g *processGroup) started()  {}
func (g *processGroup) finished() {}

func (g *processGroup) terminate() { g.kill() }

func (g *processGroup) kill() {
	if g.cmd.Process != nil {
		_ = g.cmd.Process.Kill()
	}
}

func statusOf(ee *exec.ExitError) int { return ee.ExitCode() }

// holdTerminalSignals keeps this process alive through Ctrl-C in its
// console (its command gets it too) until the returned func is called.
func holdTerminalSignals() (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt)
	return func() { signal.Stop(ch) }
}
