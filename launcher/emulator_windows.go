package launcher

import (
	"errors"
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

// admitCheckAvailable is false until the launch's Job Object is the rule
// (IsProcessInJob); see admit.
const admitCheckAvailable = false

var errNoAdmitCheck = errors.New("admitting only the emulator's processes is not implemented on windows")

// admit refuses every process for now (fail closed, never a no-op): the
// Windows rule, a process of the launch's Job Object, is still to come.
func (t *emulatorTree) admit(int) error { return errNoAdmitCheck }

// roots is unused on Windows: the TCP table names the owning process.
func (t *emulatorTree) roots() []int { return nil }

func startTime(int) (string, error) { return "", errNoAdmitCheck }

func becomeSubreaper() error { return errors.New("no child subreaper on windows") }

func endDescendants() {}
