package testadmin

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
	"github.com/trustlaunch/trustlaunch/platform"
)

// RequireRealCheck is for the tests that need platform.CheckAdminFile
// to refuse a file this user just wrote in a temporary directory (on Unix:
// below world-writable /tmp; on Windows: a file owned by a non-admin user).
// One build does not refuse it: a Windows test binary built with -tags
// wineprefix and run under Wine, where every file belongs to the user and
// the tag lets the check accept the prefix's owner
// (platform/wineprefix_on_windows.go). There such a test cannot show its
// property, and says so; test.sh runs the same tests again without the tag,
// where the check refuses and they must pass. The probe is the check
// itself, so a check that wrongly accepts user files in a release build
// still fails those tests there.
func RequireRealCheck(t *testing.T) {
	t.Helper()
	probe := filepath.Join(testtmp.Dir(t), "probe.txt")
	if err := os.WriteFile(probe, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if platform.CheckAdminFile(probe) == nil {
		if runtime.GOOS != "windows" {
			t.Fatalf("platform.CheckAdminFile accepted %s, a user's file in a temporary directory", probe)
		}
		t.Skip("the wineprefix build accepts the Wine prefix owner's files; test.sh runs this test without the tag, where the check refuses")
	}
}

// UnsafeReason is what the admin-file check says of a user's
// temporary file: the Unix mode bits of /tmp, the owner on Windows.
func UnsafeReason() string {
	if runtime.GOOS == "windows" {
		return "owned by"
	}
	return "writable by others"
}
