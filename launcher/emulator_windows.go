package launcher

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/windows"
)

// processGroup runs the emulator in a new console process group and in a
// Job Object of its own (job_windows.go), into which it is put before it
// runs: it is created suspended (CREATE_SUSPENDED), assigned, then resumed.
// Everything it starts is in the job too, so ending the job ends the whole
// tree, a detached grandchild included, and when this process dies without
// a teardown the kernel closes the job's handle and kill-on-close ends
// them. Windows has no signal to ask a console program to stop from
// outside, so ending it means killing it.
type processGroup struct {
	cmd *exec.Cmd
	err error // the job could not be made: started refuses to let it run

	mu  sync.Mutex // job: the owner check (contains) reads it while the launch ends it
	job *jobObject // nil once finished
}

// With newConsole it also gets a console window of its own
// (CREATE_NEW_CONSOLE), for a launch without a terminal (prepareWindow).
func newProcessGroup(cmd *exec.Cmd, newConsole bool) *processGroup {
	flags := uint32(windows.CREATE_NEW_PROCESS_GROUP | windows.CREATE_SUSPENDED)
	if newConsole {
		flags |= windows.CREATE_NEW_CONSOLE
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: flags}
	g := &processGroup{cmd: cmd}
	g.job, g.err = newJobObject()
	return g
}

// started puts the suspended emulator in its job and lets it run. On an
// error it has not run an instruction; the caller kills it.
func (g *processGroup) started() error {
	if g.err != nil {
		return g.err
	}
	return g.job.startSuspendedIn(g.cmd.Process.Pid)
}

// finished closes the job: with kill-on-close, nothing of it survives.
func (g *processGroup) finished() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.job == nil {
		return
	}
	g.job.close()
	g.job = nil
}

// contains reports whether pid is a process of the group's job; an error
// once the group has finished.
func (g *processGroup) contains(pid int) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.job == nil {
		return false, errEmulatorEnded
	}
	return g.job.contains(pid)
}

var errEmulatorEnded = errors.New("the emulator has ended")

func (g *processGroup) terminate() { g.kill() }

// jobKilledStatus is the exit status of the processes of a job ended by
// the teardown (what taskkill /f gives a process).
const jobKilledStatus = 1

// kill ends every process of the job, the emulator and whatever it
// started; the emulator alone when it is not in the job yet.
func (g *processGroup) kill() {
	g.mu.Lock()
	if g.job != nil {
		_ = g.job.terminate(jobKilledStatus)
	}
	g.mu.Unlock()
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

// admitCheckAvailable: the launch's Job Object says which processes are
// the emulator's.
const admitCheckAvailable = true

// admit returns nil when pid is a process of the running emulator's Job
// Object: the emulator or anything it started, however detached (the
// connector found pid in the TCP table as the owner of the client end).
// Any other process of this user is refused, and so is everything before
// the emulator runs and after it has ended, a PID that names no process
// any more, and a process that cannot be inspected: the check fails
// closed.
func (t *emulatorTree) admit(pid int) error {
	// The emulator runs from its resume in processGroup.started, before
	// runEmulator hands the tree its group and pid (running):
	// emulatorPID waits for them.
	if t.emulatorPID() == 0 {
		return fmt.Errorf("process %d (%s): the emulator has not started", pid, processName(pid))
	}
	g := t.group.Load()
	if g == nil {
		return fmt.Errorf("process %d (%s): the emulator's job object is not known", pid, processName(pid))
	}
	in, err := g.contains(pid)
	if errors.Is(err, errEmulatorEnded) {
		return fmt.Errorf("process %d (%s): the emulator has ended", pid, processName(pid))
	}
	if err != nil {
		return fmt.Errorf("process %d cannot be checked against the emulator's job object: %w", pid, err)
	}
	if !in {
		return fmt.Errorf("process %d (%s) is not in the emulator's job object", pid, processName(pid))
	}
	return nil
}

// roots is unused on Windows: the TCP table names the owning process.
func (t *emulatorTree) roots() []int { return nil }

func becomeSubreaper() error { return errors.New("no child subreaper on windows") }

func endDescendants() {}
