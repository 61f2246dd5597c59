package platform

import (
	"errors"
	"os"
	"path/filepath"
)

func adminDir() string { return "/etc/trustlaunch" }

func userConfigDir() (string, error) { return xdgDir("XDG_CONFIG_HOME", ".config") }

func userStateDir() (string, error) {
	return xdgDir("XDG_STATE_HOME", filepath.Join(".local", "state"))
}

// xdgDir applies the XDG Base Directory rule: use the variable when it holds
// an absolute path, otherwise $HOME/<fallback>; the specification says a
// relative value is invalid and must be ignored.
//
// The environment is read at every call rather than through
// github.com/adrg/xdg, whose package-level variables are computed once and
// can only be refreshed with xdg.Reload, a write to shared state that races
// with concurrent readers. Reading os.Getenv each time needs no lock and lets
// tests move the directory with t.Setenv.
func xdgDir(env, fallback string) (string, error) {
	if base := os.Getenv(env); filepath.IsAbs(base) {
		return filepath.Join(base, appName), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	// A relative $HOME would put the user's whitelist wherever the browser
	// happened to start us.
	if !filepath.IsAbs(home) {
		return "", errors.New("$HOME is not an absolute path")
	}
	return filepath.Join(home, fallback, appName), nil
}
