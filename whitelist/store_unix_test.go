//go:build unix

package whitelist

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadFIFORefused: a FIFO in place of a list is refused at once; opening
// it would block until some writer came.
func TestReadFIFORefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "whitelist.txt")
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
