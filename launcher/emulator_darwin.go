package launcher

import (
	"syscall"

	"golang.org/x/sys/unix"
)

const ioctlGetTermios = unix.TIOCGETA

// setDeathSignal does nothing: macOS has no parent-death signal. The tunnel
// the emulator used ends with trustlaunch, so it loses its connection.
func setDeathSignal(*syscall.SysProcAttr) {}
