package tui

import (
	"os"

	"golang.org/x/sys/unix"
)

// discardTypeahead drops what was typed on the terminal before the question
// appeared (tcflush TCIFLUSH): a "y" and Enter meant for another window must
// not answer a prompt the user has not read.
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
	if err := rc.Control(func(fd uintptr) { ierr = unix.IoctlSetInt(int(fd), unix.TCFLSH, unix.TCIFLUSH) }); err != nil {
		return err
	}
	return ierr
}

// foregroundGroup returns the process group in the foreground of the
// terminal fd (tcgetpgrp): TIOCGPGRP writes a pid_t, 32 bits.
func foregroundGroup(fd int) (int, error) {
	pg, err := unix.IoctlGetUint32(fd, unix.TIOCGPGRP)
	return int(int32(pg)), err
}
