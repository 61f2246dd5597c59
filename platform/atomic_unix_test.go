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

// TestWriteFileAtomicRefusesSymlink: a symlink at the target (the user
// linked their list elsewhere, or it dangles) is refused, not replaced.
// The Windows counterpart is TestWriteFileAtomicRefusesSymlinkWindows;
// Wine 8.0 makes no symlinks, so there only real Windows confirms it
// (README).
func TestWriteFileAtomicRefusesSymlink(t *testing.T) {
	for _, tt := range []struct {
		name   string
		target func(t *testing.T, dir string) string
	}{
		{"symlink to a file", func(t *testing.T, dir string) string {
			return writeMode(t, filepath.Join(dir, "real.txt"), 0o600)
		}},
		{"dangling symlink", func(_ *testing.T, dir string) string { return filepath.Join(dir, "nowhere") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := testtmp.Dir(t)
			link := symlink(t, tt.target(t, dir), filepath.Join(dir, "whitelist.txt"))
			assertRefusedTarget(t, dir, link)
		})
	}
}

// executableAlias returns another name for exe that registerExecutable
// must resolve: on Unix a symlink beside it.
func executableAlias(t *testing.T, exe string) string {
	t.Helper()
	return symlink(t, exe, filepath.Join(filepath.Dir(exe), "link"))
}

// adminChecksRelaxed is the wineprefix test relaxation, which exists on
// Windows only.
func adminChecksRelaxed() bool { return false }
