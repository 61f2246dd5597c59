package platform

import (
	"fmt"
	"path/filepath"
)

const (
	appName       = "trustlaunch"
	whitelistName = "whitelist.txt"
	policyName    = "policy.toml"
)

// AdminDir returns the directory where administrators put trustlaunch's
// machine-wide files: /etc/trustlaunch on Linux,
// /Library/Application Support/trustlaunch on macOS and
// <Program Files>\trustlaunch on Windows.
//
// The path is fixed per OS and never read from XDG or other environment
// variables that a user controls; on Windows the Program Files folder comes
// from the Known Folder API, not from %ProgramFiles%.
func AdminDir() string { return adminDir() }

// AdminWhitelistPath returns the path of the admin whitelist inside AdminDir.
func AdminWhitelistPath() string { return filepath.Join(AdminDir(), whitelistName) }

// AdminPolicyPath returns the path of the admin policy
// (docs/design.md "Admin policy") inside AdminDir, beside the admin
// whitelist and under the same ownership rule.
func AdminPolicyPath() string { return filepath.Join(AdminDir(), policyName) }

// UserConfigDir returns the directory for the user's own trustlaunch
// configuration: $XDG_CONFIG_HOME/trustlaunch on Linux,
// ~/Library/Application Support/trustlaunch on macOS and
// %AppData%\trustlaunch on Windows. It does not create the directory; see
// MkdirPrivate.
func UserConfigDir() (string, error) {
	dir, err := userConfigDir()
	if err != nil {
		return "", fmt.Errorf("find user config directory: %w", err)
	}
	return dir, nil
}

// UserWhitelistPath returns the path of the user whitelist, the file that the
// trust prompt's "Always" answer adds to.
func UserWhitelistPath() (string, error) {
	dir, err := UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, whitelistName), nil
}

// UserStateDir returns the directory for state that trustlaunch keeps for the
// user, such as the audit log: $XDG_STATE_HOME/trustlaunch on Linux,
// ~/Library/Application Support/trustlaunch on macOS and
// %LocalAppData%\trustlaunch on Windows. It does not create the directory.
func UserStateDir() (string, error) {
	dir, err := userStateDir()
	if err != nil {
		return "", fmt.Errorf("find user state directory: %w", err)
	}
	return dir, nil
}
