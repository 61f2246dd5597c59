//go:build unix

package platform

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestCheckUserFileUnix covers the cases that need no second user (those
// are in whitelist's TestUserListOthersCouldWriteIgnored, with useradd):
// what passes, what is missing, and what is not a regular file.
func TestCheckUserFileUnix(t *testing.T) {
	base := t.TempDir()
	dir := mkdirMode(t, filepath.Join(base, "trustlaunch"), 0o700)
	file := writeMode(t, filepath.Join(dir, "whitelist.txt"), 0o600)
	if err := CheckUserFile(file); err != nil {
		t.Errorf("0700 dir, 0600 file: %v", err)
	}
	if err := CheckUserFile(filepath.Join(dir, "missing.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	if err := CheckUserFile(filepath.Join(base, "nodir", "whitelist.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing directory: %v, want fs.ErrNotExist", err)
	}
	fifo := filepath.Join(dir, "fifo.txt")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	var u *UnsafeFileError
	if err := CheckUserFile(fifo); !errors.As(err, &u) || !strings.Contains(err.Error(), "a named pipe, not a regular file") {
		t.Errorf("FIFO: %v", err)
	}
	link := symlink(t, file, filepath.Join(dir, "link.txt"))
	if err := CheckUserFile(link); !errors.As(err, &u) || !strings.Contains(err.Error(), "a symlink, not a regular file") || u.Fix == "" {
		t.Errorf("symlink: %v", err)
	}
	// A directory reached through a symlink is checked where it is, as
	// MkdirPrivate checks it.
	linkedDir := symlink(t, dir, filepath.Join(base, "linked"))
	if err := CheckUserFile(filepath.Join(linkedDir, "whitelist.txt")); err != nil {
		t.Errorf("through a symlinked directory: %v", err)
	}
	chmod(t, dir, 0o770)
	if err := CheckUserFile(file); !errors.As(err, &u) || !strings.Contains(err.Error(), "directory "+dir+" is writable by group") || !strings.Contains(u.Fix, "chmod go-w") {
		t.Errorf("group-writable directory: %v", err)
	} else if u.Missing {
		t.Errorf("group-writable directory, existing file: Missing set")
	}
	// A missing list there is still an unsafe verdict (others could have
	// removed or could plant it), worded as missing.
	if err := CheckUserFile(filepath.Join(dir, "missing.txt")); !errors.As(err, &u) || errors.Is(err, fs.ErrNotExist) || !u.Missing {
		t.Errorf("missing file in a group-writable directory: %v (Missing %v), want an *UnsafeFileError with Missing", err, u != nil && u.Missing)
	}
}
