package platform

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// TestWriteFileAtomicRefusesSymlinkWindows is the Windows counterpart of
// TestWriteFileAtomicRefusesSymlink: a symbolic link at the target is
// refused, not replaced. On real Windows it needs the right to make links
// (developer mode or an elevated run) and fails without it, rather than
// pass unchecked.
//
// Wine 8.0's CreateSymbolicLink reports success and makes nothing, so the
// property is on README's list of what only real Windows confirms. Under
// Wine this test pins that fact instead: if a Wine release makes the link,
// the test goes on to check the refusal for real, and if it neither makes
// the link nor behaves as 8.0 does, it fails.
func TestWriteFileAtomicRefusesSymlinkWindows(t *testing.T) {
	for _, tt := range []struct {
		name     string
		dangling bool
	}{
		{"symlink to a file", false},
		{"dangling symlink", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := testtmp.Dir(t)
			target := filepath.Join(dir, "nowhere")
			if !tt.dangling {
				target = filepath.Join(dir, "real.txt")
				if err := os.WriteFile(target, []byte("real\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			link := filepath.Join(dir, "whitelist.txt")
			if !windowsSymlink(t, target, link) {
				return
			}
			assertRefusedTarget(t, dir, link)
		})
	}
}

// windowsSymlink makes link -> target and reports whether it exists. Under
// Wine, a link that os.Symlink reported made but that is not there (Wine
// 8.0) is logged and reported false; any other failure fails t.
func windowsSymlink(t *testing.T, target, link string) bool {
	t.Helper()
	err := os.Symlink(target, link)
	if err != nil {
		t.Fatalf("cannot make a symbolic link (enable developer mode or run elevated): %v", err)
	}
	fi, err := os.Lstat(link)
	switch {
	case err == nil && fi.Mode()&fs.ModeSymlink != 0:
		return true
	case underWine() && errors.Is(err, fs.ErrNotExist):
		t.Logf("Wine made no symbolic link (os.Symlink returned nil, Lstat: %v): only real Windows confirms this (README)", err)
		return false
	case err != nil:
		t.Fatalf("os.Symlink reported success, but: %v", err)
	}
	t.Fatalf("os.Symlink made %s, not a symbolic link", fi.Mode())
	return false
}

// executableAlias returns another name for exe that registerExecutable
// must resolve: on Windows its 8.3 short name (a symlink would do on real
// Windows, but Wine 8.0 makes none). It fails t if the short name is the
// long one, so the test cannot pass without resolving anything.
func executableAlias(t *testing.T, exe string) string {
	t.Helper()
	p, err := windows.UTF16PtrFromString(exe)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]uint16, windows.MAX_LONG_PATH)
	n, err := windows.GetShortPathName(p, &buf[0], uint32(len(buf)))
	if err != nil || n == 0 || int(n) > len(buf) {
		t.Fatalf("GetShortPathName(%s) = %d, %v", exe, n, err)
	}
	short := windows.UTF16ToString(buf[:n])
	if strings.EqualFold(short, exe) {
		t.Fatalf("%s has no distinct 8.3 short name (is 8.3 name creation off on this volume?)", exe)
	}
	return short
}

// adminChecksRelaxed reports whether the admin-file check accepts the Wine
// prefix's owner: the wineprefix test build, under Wine.
func adminChecksRelaxed() bool { return winePrefixTag && underWine() }
