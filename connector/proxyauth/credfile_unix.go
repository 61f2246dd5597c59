//go:build unix

package proxyauth

import (
	"fmt"
	"os"
)

// readableByOthers refuses a credentials file that a group or other
// users can read. ReadUserFile has checked who can write it, on the
// file it opened; this looks the path up again, which only the user can
// have changed since (its directory passed the same rule).
func readableByOthers(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s: readable by others (mode %04o): it holds a password (fix: chmod 600 %s)", path, fi.Mode().Perm(), path)
	}
	return nil
}
