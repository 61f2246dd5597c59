package platform

import (
	"fmt"
	"os"
)

// MkdirPrivate creates dir and any missing parents, and makes sure dir is a
// directory that belongs to the current user and that others cannot read or
// write (docs/design.md "Whitelist files": the user list's directory is
// 0700).
//
// On Unix new directories are created 0700; an existing dir owned by the
// current user with other bits is chmodded to 0700, and one owned by someone
// else is an error, since its owner could change it behind our back. On
// Windows, where a new folder inherits the ACL of %AppData% or
// %LocalAppData% (the user, SYSTEM and Administrators), dir must be owned by
// the current user or by an administrator principal.
func MkdirPrivate(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create private directory %s: %w", dir, err)
	}
	if err := securePrivateDir(dir); err != nil {
		return fmt.Errorf("create private directory %s: %w", dir, err)
	}
	return nil
}
