package tui

import (
	"os"

	"golang.org/x/sys/unix"
)

// discardTypeahead drops what was typed on the terminal before the question
// appeared: TIOCFLUSH with FREAD (1), the BSD form of tcflush(TCIFLUSH).
//
// Through SyscallConn, not f.Fd: Fd switches f to blocking mode, and then
// closing the terminal no longer ends the plain prompter's pending read,
// which would stay behind and eat the emulator's first line of input.
func discardTypeahead(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ierr error
	if err := rc.Control(func(fd uintptr) { ierr = unix.IoctlSetPointerInt(int(fd), unix.TIOCFLUSH, 1) }); err != nil {
		return err
	}
	return ierr
}

// foregroundGroup returns the process group in the foreground of the
// terminal fd (tcgetpgrp). TIOCGPGRP writes a 32-bit pid_t; macOS runs on
// little-endian CPUs only, where reading it into an int, zeroed, is exact.
func foregroundGroup(fd int) (int, error) {
	return unix.IoctlGetInt(fd, unix.TIOCGPGRP)
}
