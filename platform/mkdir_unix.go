//go:build unix

package platform

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// securePrivateDir makes an existing dir 0700 if we own it. It follows a
// symlink at dir, as MkdirAll did: users who keep their configuration in
// a linked dotfiles tree still get the check on the real directory.
func securePrivateDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return errors.New("not a directory")
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return errors.New("no owner information")
	}
	if uid := os.Geteuid(); int(st.Uid) != uid {
		return fmt.Errorf("owned by uid %d, not by the current user (uid %d)", st.Uid, uid)
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return err
		}
	}
	return nil
}
