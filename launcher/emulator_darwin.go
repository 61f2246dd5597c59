package launcher

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

const ioctlGetTermios = unix.TIOCGETA

// setDeathSignal does nothing: macOS has no parent-death signal. The tunnel
// the emulator used ends with trustlaunch, so it loses its connection.
func setDeathSignal(*syscall.SysProcAttr) {}

// admitCheckAvailable: macOS has no check (Launch refuses to run there
// before this matters).
const admitCheckAvailable = false

var errNoAdmitCheck = errors.New("admitting only the emulator's processes is not implemented on darwin")

// admit refuses every process: a security check never becomes a no-op.
func (t *emulatorTree) admit(int) error { return errNoAdmitCheck }

func (t *emulatorTree) roots() []int { return nil }

func becomeSubreaper() error { return errors.New("no child subreaper on darwin") }

func endDescendants() {}
