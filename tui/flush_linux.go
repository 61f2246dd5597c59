package tui

import (
	"os"

	"golang.org/x/sys/unix"
)

// discardTypeahead drops what was typed on the terminal before the question
// appeared (tcflush TCIFLUSH): a "y" and Enter meant for another window must
// not answer a prompt the user has not read.
func discardTypeahead(f *os.File) error {
	return unix.IoctlSetInt(int(f.Fd()), unix.TCFLSH, unix.TCIFLUSH)
}
