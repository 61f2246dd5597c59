package platform

import (
	"fmt"
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

func userConfigDir() (string, error) {
	return knownFolderDir(windows.FOLDERID_RoamingAppData, "RoamingAppData")
}

func userStateDir() (string, error) {
	return knownFolderDir(windows.FOLDERID_LocalAppData, "LocalAppData")
}

func knownFolderDir(id *windows.KNOWNFOLDERID, name string) (string, error) {
	base, err := windows.KnownFolderPath(id, windows.KF_FLAG_DEFAULT)
	if err != nil {
		return "", fmt.Errorf("known folder %s: %w", name, err)
	}
	return filepath.Join(base, appName), nil
}
