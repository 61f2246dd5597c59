package testtmp

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// populate fills d with what tests leave behind: nested directories, a
// read-only file (os.Remove on Windows must clear the attribute) and an
// empty directory.
func populate(t *testing.T, d string) {
	t.Helper()
	deep := filepath.Join(d, "a", "b", "c")
	if err := os.MkdirAll(deep, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{filepath.Join(d, "top.txt"), filepath.Join(deep, "deep.txt")} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ro := filepath.Join(d, "a", "readonly.txt")
	if err := os.WriteFile(ro, []byte("x"), 0o400); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(d, "empty"), 0o700); err != nil {
		t.Fatal(err)
	}
}

// TestDirRemovedAfterTest is the reason the package exists: under Wine 8.0
// a t.TempDir cleanup fails ("unlinkat ...: Invalid function"), which makes
// the subtest fail here.
func TestDirRemovedAfterTest(t *testing.T) {
	var d string
	ok := t.Run("user", func(t *testing.T) {
		d = Dir(t)
		populate(t, d)
	})
	if !ok {
		t.Fatal("the subtest using Dir failed: its cleanup could not remove the directory")
	}
	if _, err := os.Lstat(d); !os.IsNotExist(err) {
		t.Fatalf("after the subtest, Lstat(%s) = %v, want not-exist", d, err)
	}
}

func TestDirEachCallNew(t *testing.T) {
	a, b := Dir(t), Dir(t)
	if a == b {
		t.Fatalf("two calls returned the same directory %s", a)
	}
	for _, d := range []string{a, b} {
		entries, err := os.ReadDir(d)
		if err != nil || len(entries) != 0 {
			t.Fatalf("ReadDir(%s) = %v, %v; want an empty directory", d, entries, err)
		}
	}
}

// fakeTB records what walkedDir asks of its testing.TB, so that the
// cleanup can be run and its verdict read without failing this test.
type fakeTB struct {
	testing.TB
	name     string
	cleanups []func()
	errs     []string
}

func (f *fakeTB) Helper()           {}
func (f *fakeTB) Name() string      { return f.name }
func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) Errorf(format string, args ...any) {
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

func (f *fakeTB) runCleanups() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

// TestWalkedDirDoesNotFollowLinks: a link to a directory outside the temp
// directory is removed, its target is kept. Runs on every OS where the
// link can be made (Windows needs developer mode or the symlink privilege;
// Wine grants it).
func TestWalkedDirDoesNotFollowLinks(t *testing.T) {
	outside := Dir(t)
	keep := filepath.Join(outside, "keep.txt")
	if err := os.WriteFile(keep, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &fakeTB{TB: t, name: "TestWalkedDirDoesNotFollowLinks"}
	d := walkedDir(f)
	populate(t, d)
	link := filepath.Join(d, "link")
	if err := os.Symlink(outside, link); err != nil {
		if runtime.GOOS == "windows" {
			t.Fatalf("os.Symlink: %v (this test needs the symlink privilege on Windows)", err)
		}
		t.Fatal(err)
	}
	if _, err := os.Lstat(link); err != nil {
		if runtime.GOOS != "windows" {
			t.Fatal(err)
		}
		// Wine 8.0's CreateSymbolicLink reports success and makes nothing;
		// the rest of the test still runs, the link part only on Windows.
		t.Logf("os.Symlink made no link (Wine 8.0 does this): %v", err)
	}
	f.runCleanups()
	if len(f.errs) != 0 {
		t.Fatalf("cleanup reported %d errors, want none", len(f.errs))
	}
	if _, err := os.Lstat(d); !os.IsNotExist(err) {
		t.Fatalf("after cleanup, Lstat(%s) = %v, want not-exist", d, err)
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != "keep" {
		t.Fatalf("the link's target %s: %q, %v; cleanup followed the link", keep, b, err)
	}
}

func TestWalkedDirNamedAfterTest(t *testing.T) {
	f := &fakeTB{TB: t, name: "TestX/sub case:1"}
	d := walkedDir(f)
	defer f.runCleanups()
	if base := filepath.Base(d); !strings.HasPrefix(base, "TestX_sub_case_1") {
		t.Fatalf("directory %s, want a name starting TestX_sub_case_1", d)
	}
}

func TestPattern(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"TestA", "TestA"},
		{"TestA/sub", "TestA_sub"},
		{`TestA/a\b:c*d?e"f<g>h|i`, "TestA_a_b_c_d_e_f_g_h_i"},
		{"TestÄ/é", "Test___"},
		{strings.Repeat("x", 100), strings.Repeat("x", 64)},
	} {
		if got := pattern(tc.in); got != tc.want {
			t.Errorf("pattern(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
