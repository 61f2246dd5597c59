package platform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// FileLock is an exclusive lock taken by Lock. It is held until Unlock, or
// until the process exits, when the OS drops it. One goroutine should own a
// FileLock; Unlock is not safe to call concurrently with itself.
type FileLock struct {
	f    *os.File
	path string // the sidecar lock file, for messages
}

// Backoff bounds for Lock's polling: short enough that a waiting launch
// follows promptly, long enough not to spin while another holds the lock.
const (
	lockPollMin = 2 * time.Millisecond
	lockPollMax = 100 * time.Millisecond
)

// Lock takes an exclusive lock that guards path against other processes and
// other goroutines, waiting until it is free or ctx is done; in that case it
// returns an error that wraps ctx.Err().
//
// The lock is on a sidecar file, path+".lock", created 0600 in the same
// directory, not on path itself: path is replaced by rename (see
// WriteFileAtomic), and a lock on the old inode would not stop a writer that
// opened the new one. The sidecar is never deleted, for the same reason: a
// process could be waiting on the inode we removed while a third creates a
// fresh one.
//
// On Unix the lock is flock(LOCK_EX); on Windows, LockFileEx.
//
// Neither call can be interrupted by a context once blocked, so Lock polls a
// non-blocking attempt with exponential backoff (2 ms up to 100 ms) and
// checks ctx in between. The alternative, a goroutine blocked in the
// syscall, could not be cancelled: it would take the lock after we had
// given up and hold it until the process exits.
func Lock(ctx context.Context, path string) (*FileLock, error) {
	lockPath := path + ".lock"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("lock %s: %w", lockPath, err)
	}
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", lockPath, err)
	}
	wait := lockPollMin
	for {
		locked, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", lockPath, err)
		}
		if locked {
			return &FileLock{f: f, path: lockPath}, nil
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", lockPath, ctx.Err())
		case <-timer.C:
		}
		wait = min(2*wait, lockPollMax)
	}
}

// Unlock releases the lock. Calling it again returns an error.
func (l *FileLock) Unlock() error {
	if l == nil || l.f == nil {
		return errors.New("unlock: lock is not held")
	}
	f := l.f
	l.f = nil
	// Closing alone would release the lock too; unlocking first reports a
	// failure instead of hiding it.
	err := unlockFile(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("unlock %s: %w", l.path, err)
	}
	return nil
}

// controlFD runs fn on f's descriptor through SyscallConn, which keeps the
// descriptor valid for the call, unlike f.Fd().
func controlFD(f *os.File, fn func(fd uintptr) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	if err := rc.Control(func(fd uintptr) { opErr = fn(fd) }); err != nil {
		return err
	}
	return opErr
}
