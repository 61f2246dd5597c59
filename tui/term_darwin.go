package tui

import "golang.org/x/sys/unix"

// flushInput discards the input queue of the terminal fd: TIOCFLUSH with
// FREAD (1), the BSD form of tcflush(TCIFLUSH).
func flushInput(fd int) error { return unix.IoctlSetPointerInt(fd, unix.TIOCFLUSH, 1) }

// foregroundGroup returns the process group in the foreground of the
// terminal fd (tcgetpgrp). TIOCGPGRP writes a 32-bit pid_t; macOS runs on
// little-endian CPUs only, where reading it into an int, zeroed, is exact.
func foregroundGroup(fd int) (int, error) {
	return unix.IoctlGetInt(fd, unix.TIOCGPGRP)
}
