package platform

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// The lock covers the lock file's first byte. LockFileEx locks are
// mandatory byte ranges, but nothing ever reads or writes the lock file, and
// every process locks the same range, which is all exclusion needs.
const lockOffset, lockLen = 0, 1

// tryLock attempts LockFileEx without blocking. Locks belong to the handle,
// so two opens in one process exclude each other as two processes do.
func tryLock(f *os.File) (bool, error) {
	err := controlFD(f, func(fd uintptr) error {
		ol := windows.Overlapped{Offset: lockOffset}
		return windows.LockFileEx(windows.Handle(fd),
			windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, lockLen, 0, &ol)
	})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, windows.ERROR_LOCK_VIOLATION):
		return false, nil
	default:
		return false, os.NewSyscallError("LockFileEx", err)
	}
}

func unlockFile(f *os.File) error {
	err := controlFD(f, func(fd uintptr) error {
		ol := windows.Overlapped{Offset: lockOffset}
		return windows.UnlockFileEx(windows.Handle(fd), 0, lockLen, 0, &ol)
	})
	if err != nil {
		return os.NewSyscallError("UnlockFileEx", err)
	}
	return nil
}
