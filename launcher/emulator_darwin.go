package launcher

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/trustlaunch/trustlaunch/internal/proctree"
)

const ioctlGetTermios = unix.TIOCGETA

// setDeathSignal does nothing: macOS has no parent-death signal. If
// trustlaunch is killed without a teardown (SIGKILL), the emulator
// survives it, but the tunnel it used is gone with trustlaunch.
func setDeathSignal(*syscall.SysProcAttr) {}

// admitCheckAvailable: the kernel says which process holds a socket
// (libproc, in the connector) and who each process's parent is
// (kern.proc.pid).
const admitCheckAvailable = true

// admit returns nil when pid is the emulator, the recorder that reported
// itself, or one of their descendants, by its parent chain
// (kern.proc.pid's e_ppid), or, while this process tracks the emulator's
// processes (Options.Subreaper), a process the tracker saw below this one
// and that is still the same process (its start time): one that left the
// emulator's tree when its parent exited, and that launchd adopted. Any
// other process is refused, and so is one that cannot be traced.
func (t *emulatorTree) admit(pid int) error {
	self := os.Getpid()
	want := t.ids()
	for p, depth := pid, 0; p > 1 && depth < 4096; depth++ {
		if want[p] {
			return nil
		}
		if p == self {
			break
		}
		kp, err := unix.SysctlKinfoProc("kern.proc.pid", p)
		if err != nil {
			return fmt.Errorf("process %d (%s) cannot be traced to the emulator: %w", pid, procName(pid), err)
		}
		p = int(kp.Eproc.Ppid)
	}
	if t.reaper {
		if tr := proctree.Active(); tr != nil && tr.Saw(pid) {
			return nil
		}
	}
	return fmt.Errorf("process %d (%s) is not the emulator or one of its descendants", pid, procName(pid))
}

// roots are where the connector looks for the holder of a socket: the
// emulator and the recorder, and, while the tracker runs, every process it
// saw that is still alive (the emulator's orphans among them).
func (t *emulatorTree) roots() []int {
	var r []int
	for p := range t.ids() {
		r = append(r, p)
	}
	if t.reaper {
		if tr := proctree.Active(); tr != nil {
			r = append(r, tr.Alive()...)
		}
	}
	return r
}

// procName is the command name of pid (p_comm, at most 16 bytes), made
// safe for a log line.
func procName(pid int) string {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil {
		return "unknown"
	}
	return proctree.CommName(kp.Proc.P_comm[:])
}

// becomeSubreaper starts tracking this process's descendants: macOS has
// no child subreaper, so a process the emulator starts is adopted by
// launchd once its parent exits, and nothing of this process's could find
// it. The tracker (internal/proctree) records every descendant it sees, so
// that endDescendants can end them all, the orphans too.
func becomeSubreaper() error { return proctree.Start() }

// endDescendants stops the tracker and kills every descendant of this
// process, and every process the tracker saw that is still the same
// process, until none is left; it reaps this process's children.
func endDescendants() {
	tr := proctree.Stop()
	self := os.Getpid()
	for round := 0; round < 100; round++ {
		live := proctree.DescendantsOf(self)
		if tr != nil {
			live = append(live, tr.Alive()...)
		}
		if len(live) == 0 {
			break
		}
		for _, p := range live {
			_ = unix.Kill(p, unix.SIGKILL)
		}
		for _, p := range live {
			var ws unix.WaitStatus
			_, _ = unix.Wait4(p, &ws, 0, nil) // ECHILD for a process that is not ours
		}
		if tr != nil {
			tr.ForgetDead()
		}
	}
}
