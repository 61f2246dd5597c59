package tui

import (
	"os"

	"golang.org/x/sys/unix"
)

// discardTypeahead drops what was typed on the terminal before the question
// appeared: TIOCFLUSH with FREAD (1), the BSD form of tcflush(TCIFLUSH).
func discardTypeahead(f *os.File) error {
	return unix.IoctlSetPointerInt(int(f.Fd()), unix.TIOCFLUSH, 1)
}
