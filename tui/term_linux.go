package tui

import "golang.org/x/sys/unix"

// flushInput discards the input queue of the terminal fd (tcflush
// TCIFLUSH).
func flushInput(fd int) error { return unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCIFLUSH) }

// foregroundGroup returns the process group in the foreground of the
// terminal fd (tcgetpgrp): TIOCGPGRP writes a pid_t, 32 bits.
func foregroundGroup(fd int) (int, error) {
	pg, err := unix.IoctlGetUint32(fd, unix.TIOCGPGRP)
	return int(int32(pg)), err
}
