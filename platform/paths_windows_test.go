package platform

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// TestAdminPathsIgnoreEnvironment checks that AdminDir comes from the Known
// Folder API even when %ProgramFiles% points elsewhere, and that the
// variables which now move the per-user directories (%AppData%,
// %LocalAppData%) do not move it either: a user can set any variable for the
// processes they start, and the admin list must not follow.
func TestAdminPathsIgnoreEnvironment(t *testing.T) {
	pf, err := windows.KnownFolderPath(windows.FOLDERID_ProgramFiles, windows.KF_FLAG_DEFAULT)
	if err != nil {
		t.Fatal(err)
	}
	evil := `C:\Users\mallory\evil`
	for _, v := range []string{"ProgramFiles", "ProgramW6432", "ProgramData", "APPDATA", "LOCALAPPDATA"} {
		t.Setenv(v, evil)
	}
	if got, want := AdminDir(), filepath.Join(pf, "trustlaunch"); got != want {
		t.Errorf("AdminDir() = %q, want %q", got, want)
	}
	for name, got := range map[string]string{"AdminWhitelistPath": AdminWhitelistPath(), "AdminPolicyPath": AdminPolicyPath()} {
		if !strings.HasPrefix(got, filepath.Join(pf, "trustlaunch")+`\`) || strings.Contains(got, "mallory") {
			t.Errorf("%s() = %q, want it below %q", name, got, pf)
		}
	}
}

// TestUserDirsFollowEnvironment: the per-user directories are where Go's
// os.UserConfigDir and os.UserCacheDir put them, %AppData% and
// %LocalAppData%, so a test or a script can move them as XDG_* moves them
// on Linux.
func TestUserDirsFollowEnvironment(t *testing.T) {
	roaming, local := testtmp.Dir(t), testtmp.Dir(t)
	t.Setenv("APPDATA", roaming)
	t.Setenv("LOCALAPPDATA", local)
	if got, err := UserWhitelistPath(); got != filepath.Join(roaming, "trustlaunch", "whitelist.txt") || err != nil {
		t.Errorf("UserWhitelistPath() = %q, %v; want it in %%AppData%% %s", got, err, roaming)
	}
	if got, err := UserConfigDir(); got != filepath.Join(roaming, "trustlaunch") || err != nil {
		t.Errorf("UserConfigDir() = %q, %v; want it in %%AppData%% %s", got, err, roaming)
	}
	if got, err := UserStateDir(); got != filepath.Join(local, "trustlaunch") || err != nil {
		t.Errorf("UserStateDir() = %q, %v; want it in %%LocalAppData%% %s", got, err, local)
	}
}

// TestUserDirsFallBackToKnownFolders: with %AppData% or %LocalAppData%
// unset, empty or relative (a relative one would resolve against whatever
// directory the browser started us in), the Known Folder is used.
func TestUserDirsFallBackToKnownFolders(t *testing.T) {
	roaming, err := windows.KnownFolderPath(windows.FOLDERID_RoamingAppData, windows.KF_FLAG_DEFAULT)
	if err != nil {
		t.Fatal(err)
	}
	local, err := windows.KnownFolderPath(windows.FOLDERID_LocalAppData, windows.KF_FLAG_DEFAULT)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		value string
		unset bool
	}{
		{name: "unset", unset: true},
		{name: "empty", value: ""},
		{name: "relative", value: `trustlaunch-relative`},
		{name: "drive-relative", value: `C:trustlaunch-relative`},
		{name: "rooted without drive", value: `\trustlaunch-rooted`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range []string{"APPDATA", "LOCALAPPDATA"} {
				t.Setenv(v, tc.value) // restores the variable after the test
				if tc.unset {
					if err := os.Unsetenv(v); err != nil {
						t.Fatal(err)
					}
				}
			}
			if got, err := UserWhitelistPath(); got != filepath.Join(roaming, "trustlaunch", "whitelist.txt") || err != nil {
				t.Errorf("UserWhitelistPath() = %q, %v; want the RoamingAppData folder %s", got, err, roaming)
			}
			if got, err := UserStateDir(); got != filepath.Join(local, "trustlaunch") || err != nil {
				t.Errorf("UserStateDir() = %q, %v; want the LocalAppData folder %s", got, err, local)
			}
		})
	}
}
