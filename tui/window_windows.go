//go:build windows

package tui

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/windows"
)

// windowCommands runs argv itself in a new console window.
func windowCommands(_ environ, argv []string, _ string) ([]windowCmd, []string) {
	if len(argv) == 0 {
		return nil, []string{"empty command"}
	}
	return []windowCmd{{
		name: "new console",
		path: argv[0],
		args: argv[1:],
		sys:  &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_CONSOLE},
	}}, nil
}

// checkPrivate refuses a hand-off path that is not owned by the current
// user. The directory is made under %TEMP%, which Windows keeps private to
// the user by its ACL.
func checkPrivate(path string, dir bool) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("%s is a link", path)
	case dir && !fi.IsDir():
		return fmt.Errorf("%s is not a directory", path)
	case !dir && !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file", path)
	}
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("%s: reading its owner: %w", path, err)
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return fmt.Errorf("%s: reading its owner: %w", path, err)
	}
	user, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return fmt.Errorf("reading the current user: %w", err)
	}
	if owner == nil || !owner.Equals(user.User.Sid) {
		return errors.New(path + " is not owned by the current user")
	}
	return nil
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

func executableNames(path string) []string {
	if strings.HasSuffix(strings.ToLower(path), ".exe") {
		return []string{path}
	}
	return []string{path, path + ".exe"}
}

// findTerminal finds none on Windows: a launch without a console gives
// its emulator a console window of its own (launcher.TerminalWindow).
func findTerminal(environ) (Terminal, error) {
	return Terminal{}, fmt.Errorf("%w: on Windows a launch opens a console window itself", ErrNoTerminalWindow)
}
