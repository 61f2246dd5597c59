//go:build unix

package platform

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// tryLock attempts flock(LOCK_EX) without blocking. flock locks belong to the
// open file description, so two opens of the lock file in one process
// exclude each other just as two processes do.
func tryLock(f *os.File) (bool, error) {
	err := controlFD(f, func(fd uintptr) error {
		return unix.Flock(int(fd), unix.LOCK_EX|unix.LOCK_NB)
	})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.EWOULDBLOCK), errors.Is(err, unix.EINTR):
		// Held by someone else, or interrupted: try again after the backoff.
		return false, nil
	default:
		return false, os.NewSyscallError("flock", err)
	}
}

func unlockFile(f *os.File) error {
	err := controlFD(f, func(fd uintptr) error { return unix.Flock(int(fd), unix.LOCK_UN) })
	if err != nil {
		return os.NewSyscallError("flock", err)
	}
	return nil
}
