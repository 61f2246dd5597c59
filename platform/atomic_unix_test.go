//go:build unix

package platform

import (
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// TestWriteFileAtomicRefusesNamedPipe covers special files. It uses a FIFO
// in a temp dir rather than a device such as /dev/null: run as root, a
// regression would replace the real device node.
func TestWriteFileAtomicRefusesNamedPipe(t *testing.T) {
	dir := testtmp.Dir(t)
	fifo := filepath.Join(dir, "whitelist.txt")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)
	err := WriteFileAtomic(fifo, []byte("x"), 0o600)
	if err == nil || !strings.Contains(err.Error(), "refusing to replace a named pipe") {
		t.Fatalf("got %v, want a refusal naming the named pipe", err)
	}
	if after := snapshot(t, dir); after != before {
		t.Errorf("directory changed:\nbefore %s\nafter  %s", before, after)
	}
}
