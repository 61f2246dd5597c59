package platform

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// TestAdminFileWinePrefixOwner pins what the wineprefix build tag may and
// may not relax. Under Wine every file belongs to the user running it and
// no owner can be changed, so a test build carries the tag to let the
// admin-file check (and through it register --system) accept the prefix's
// owner. The release build, without the tag, must still refuse that
// user-owned file; the Windows test phase of test.sh runs this test both
// ways. On real Windows the tag changes nothing either.
func TestAdminFileWinePrefixOwner(t *testing.T) {
	path := filepath.Join(testtmp.Dir(t), "whitelist.txt")
	if err := os.WriteFile(path, []byte("portal.example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := CheckAdminFile(path)
	t.Logf("wineprefix tag %v, under Wine %v: CheckAdminFile(user-owned file) = %v", winePrefixTag, underWine(), err)
	if winePrefixTag && underWine() {
		if err != nil {
			t.Fatalf("with the wineprefix tag under Wine, a file owned by the prefix's owner was refused: %v", err)
		}
		return
	}
	var u *UnsafeFileError
	if !errors.As(err, &u) || !strings.Contains(u.Reason, "owned by") {
		t.Fatalf("CheckAdminFile(a file this user owns) = %v, want an *UnsafeFileError saying who owns it", err)
	}
}
