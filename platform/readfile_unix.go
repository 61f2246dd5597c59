//go:build unix

package platform

import (
	"os"
	"syscall"
)

// openNonblocking opens path for reading with O_NONBLOCK: a FIFO opens at
// once instead of waiting for a writer (the caller then refuses it), and a
// regular file reads as it always does, the flag has no effect on one.
func openNonblocking(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
