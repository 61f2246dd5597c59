package testtmp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Dir returns a new, empty directory that is removed when tb and its
// subtests finish; a failed removal fails tb. Each call returns a different
// directory. Use it wherever a test would call tb.TempDir().
func Dir(tb testing.TB) string {
	tb.Helper()
	return dir(tb)
}

// walkedDir is Dir's Windows implementation, compiled on every OS so that
// its tests run everywhere.
func walkedDir(tb testing.TB) string {
	tb.Helper()
	d, err := os.MkdirTemp("", pattern(tb.Name()))
	if err != nil {
		tb.Fatalf("testtmp: %v", err)
	}
	tb.Cleanup(func() {
		if err := removeTree(d); err != nil {
			tb.Errorf("testtmp: cleanup: %v", err)
		}
	})
	return d
}

// pattern makes a test name usable as an os.MkdirTemp pattern, as
// testing.T.TempDir does: subtest names carry '/' and may carry any
// character a file name cannot.
func pattern(name string) string {
	const max = 64
	var b strings.Builder
	for _, r := range name {
		if b.Len() >= max {
			break
		}
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// removeTree removes path and everything below it with os.Remove only.
// A symbolic link or junction is removed, never followed, so a test that
// links to a directory outside its own cannot make cleanup delete there.
func removeTree(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil // the test removed it itself
		}
		return err
	}
	if fi.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := removeTree(filepath.Join(path, e.Name())); err != nil {
				return err
			}
		}
	}
	return os.Remove(path) // a *PathError: it names the path
}
