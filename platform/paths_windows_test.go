package platform

import (
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// TestAdminPathsIgnoreEnvironment checks that AdminDir comes from the Known
// Folder API even when %ProgramFiles% points elsewhere.
func TestAdminPathsIgnoreEnvironment(t *testing.T) {
	pf, err := windows.KnownFolderPath(windows.FOLDERID_ProgramFiles, windows.KF_FLAG_DEFAULT)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("ProgramFiles", `C:\Users\mallory\evil`)
	if got, want := AdminDir(), filepath.Join(pf, "trustlaunch"); got != want {
		t.Errorf("AdminDir() = %q, want %q", got, want)
	}
	if got := AdminWhitelistPath(); !strings.HasSuffix(got, `\trustlaunch\whitelist.txt`) || strings.Contains(got, "mallory") {
		t.Errorf("AdminWhitelistPath() = %q", got)
	}
}

func TestUserDirs(t *testing.T) {
	roaming, err := windows.KnownFolderPath(windows.FOLDERID_RoamingAppData, windows.KF_FLAG_DEFAULT)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := UserConfigDir(); got != filepath.Join(roaming, "trustlaunch") || err != nil {
		t.Errorf("UserConfigDir() = %q, %v", got, err)
	}
	if got, err := UserStateDir(); !strings.HasSuffix(got, `\trustlaunch`) || err != nil {
		t.Errorf("UserStateDir() = %q, %v", got, err)
	}
}
