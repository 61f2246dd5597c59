package testtmp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWalkedDirReportsCleanupError: a file the test still holds open cannot
// be deleted on Windows (Go opens files without FILE_SHARE_DELETE), and the
// cleanup must fail the test saying which file, not shrug it off.
func TestWalkedDirReportsCleanupError(t *testing.T) {
	f := &fakeTB{TB: t, name: "TestWalkedDirReportsCleanupError"}
	d := walkedDir(f)
	held := filepath.Join(d, "held.txt")
	h, err := os.Create(held)
	if err != nil {
		t.Fatal(err)
	}
	f.runCleanups()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := removeTree(d); err != nil {
			t.Errorf("removing %s after the handle closed: %v", d, err)
		}
	})
	if len(f.errs) != 1 || !strings.Contains(f.errs[0], "held.txt") {
		t.Fatalf("cleanup with an open file reported %q, want one error naming held.txt", f.errs)
	}
	if _, err := os.Stat(held); err != nil {
		t.Fatalf("Stat(%s) after the failed cleanup: %v; the file should still be there", held, err)
	}
}
