//go:build unix

package whitelist

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// TestReadFIFORefused: a FIFO in place of a list is refused at once; opening
// it would block until some writer came.
func TestReadFIFORefused(t *testing.T) {
	path := filepath.Join(testtmp.Dir(t), "whitelist.txt")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan Source, 1)
	go func() { done <- LoadUser(path) }()
	select {
	case src := <-done:
		if src.Err == nil || !strings.Contains(src.Err.Error(), "not a regular file") {
			t.Errorf("LoadUser(FIFO) = %v", src.Err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("LoadUser blocked on a FIFO")
	}
}

// assertPrivateList checks what the writer leaves on Unix (docs/design.md "Whitelist files"):
// the list 0600, its directory 0700. The Windows counterpart is in
// store_windows_test.go.
func assertPrivateList(t *testing.T, path string) {
	t.Helper()
	for _, c := range []struct {
		path string
		want os.FileMode
	}{{path, 0o600}, {filepath.Dir(path), 0o700}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != c.want {
			t.Errorf("%s: mode %v, want %v", c.path, fi.Mode().Perm(), c.want)
		}
	}
}
