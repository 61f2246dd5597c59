package platform

import (
	"errors"
	"os"
	"path/filepath"
)

func adminDir() string { return "/Library/Application Support/trustlaunch" }

// On macOS configuration and state both belong in Application Support; Apple
// has no separate state folder, and XDG variables are not a macOS convention.
func userConfigDir() (string, error) { return userAppSupportDir() }

func userStateDir() (string, error) { return userAppSupportDir() }

func userAppSupportDir() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	if !filepath.IsAbs(home) {
		return "", errors.New("$HOME is not an absolute path")
	}
	return filepath.Join(home, "Library", "Application Support", appName), nil
}
