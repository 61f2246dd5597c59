package platform

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// CheckUserFile verifies that path, a file trustlaunch keeps for the current
// user (the user whitelist, written by Always), can only have been written
// by that user. It is the one rule for the user's own lists: the reader
// applies it before trusting what the file says, and the writer applies it
// (after MkdirPrivate) before rewriting, so neither trusts a file the other
// would refuse (issue 10).
//
// The directory holding path (a symlink to it is followed, as MkdirPrivate
// follows it) and path itself, which must be a regular file and not a
// symlink (WriteFileAtomic will not replace one), must belong to the
// current user, and no other user may be able to write them. On Unix that
// is: owned by the effective uid, no group or other write bit (a POSIX ACL
// that grants write shows in the group bits). On Windows: owned by the
// current user, and the DACL grants write, append, delete or
// permission-changing access to no principal but the user, SYSTEM,
// Administrators and OWNER RIGHTS.
//
// Directories above the one holding path are not inspected: the writer
// never did either, and they belong to the user's profile (~/.config,
// %AppData%), not to trustlaunch.
//
// A policy failure is an *UnsafeFileError whose Reason names the object at
// fault and its owner or the principals that can write it, and whose Fix is
// a command for the user. A missing directory or file is returned as an
// error for which errors.Is(err, fs.ErrNotExist) is true: there is nothing
// to trust, and the writer may create it. Any other failure to read
// metadata is an error too: the check fails closed.
func CheckUserFile(path string) error {
	if err := checkUserFile(path); err != nil {
		if u, ok := err.(*UnsafeFileError); ok {
			// The folder is checked first; say so when the list is not
			// there at all (wording only, as for CheckAdminFile).
			if _, lerr := os.Lstat(path); errors.Is(lerr, fs.ErrNotExist) {
				u.Missing = true
			}
			return u
		}
		return fmt.Errorf("check user file %s: %w", path, err)
	}
	return nil
}
