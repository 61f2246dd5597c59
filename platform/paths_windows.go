package platform

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// fallbackProgramFiles is used only if the Known Folder API fails, which it
// does not on a working system. A fixed path keeps AdminDir away from the
// environment and from a relative path (which would resolve against whatever
// directory the browser started us in).
const fallbackProgramFiles = `C:\Program Files`

// adminDir asks the Known Folder API, not %ProgramFiles%, because any user
// can set that variable for the processes they start.
//
// A 32-bit (windows/386) build running on 64-bit Windows is given
// "Program Files (x86)" here by WOW64; releases are 64-bit only, so this
// does not arise.
func adminDir() string {
	base, err := windows.KnownFolderPath(windows.FOLDERID_ProgramFiles, windows.KF_FLAG_DEFAULT)
	if err != nil || !filepath.IsAbs(base) {
		base = fallbackProgramFiles
	}
	return filepath.Join(base, appName)
}

// userConfigDir and userStateDir follow Go's os.UserConfigDir and
// os.UserCacheDir: %AppData% and %LocalAppData% first, which every Windows
// logon sets to the profile's Roaming and Local folders, so that a test or
// a script can move the user's own list and audit log as XDG_CONFIG_HOME
// and XDG_STATE_HOME move them on Linux (without it, tests under Wine, run
// in parallel, shared one real user list and audit log). This is a per-user
// location only: the user can edit that list anyway, so a variable the user
// sets gives them nothing they do not have. The admin directory above never
// reads the environment.
func userConfigDir() (string, error) {
	return userDir("APPDATA", windows.FOLDERID_RoamingAppData, "RoamingAppData")
}

func userStateDir() (string, error) {
	return userDir("LOCALAPPDATA", windows.FOLDERID_LocalAppData, "LocalAppData")
}

// userDir falls back to the Known Folder when the variable is unset, empty
// or not an absolute path, where Go's os.UserConfigDir returns an error: a
// launch from a browser whose environment lacks the variable should still
// find the user's list, and a relative value would resolve against whatever
// directory the browser started us in, so it is never used.
func userDir(env string, id *windows.KNOWNFOLDERID, name string) (string, error) {
	if base := os.Getenv(env); filepath.IsAbs(base) {
		return filepath.Join(base, appName), nil
	}
	base, err := windows.KnownFolderPath(id, windows.KF_FLAG_DEFAULT)
	if err != nil {
		return "", fmt.Errorf("known folder %s: %w", name, err)
	}
	return filepath.Join(base, appName), nil
}
