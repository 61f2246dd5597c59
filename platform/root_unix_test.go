//go:build unix

package platform

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// otherUID is the unprivileged owner that tests chown files to.
const otherUID = 1000

// requireRoot stops a test that must create root-owned files and chown them
// to another user. CI runs the tests as root, so there a missing root is a
// setup error and fails; a developer's unprivileged run skips with the reason.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("this test must run as root (euid is %d): it creates root-owned files and chowns them; CI runs tests as root", os.Geteuid())
	}
	t.Skipf("needs root (euid is %d) to create root-owned files and chown them; run the tests as root", os.Geteuid())
}

// realTempDir returns testtmp.Dir(t) with symlinks resolved (on macOS it lives
// below /var, a symlink to /private/var), so paths built on it are the
// paths that CheckAdminFile's walk produces.
func realTempDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(testtmp.Dir(t))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// mkdirMode creates dir with exactly mode, whatever the umask.
func mkdirMode(t *testing.T, dir string, mode os.FileMode) string {
	t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	chmod(t, dir, mode)
	return dir
}

// writeMode creates file with content and exactly mode, whatever the umask.
func writeMode(t *testing.T, file string, mode os.FileMode) string {
	t.Helper()
	if err := os.WriteFile(file, []byte("example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	chmod(t, file, mode)
	return file
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func chownOther(t *testing.T, path string) {
	t.Helper()
	if err := os.Lchown(path, otherUID, otherUID); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) string {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	return link
}
