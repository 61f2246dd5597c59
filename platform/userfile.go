package platform

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// CheckUserFile verifies that path, a file trustlaunch reads from the
// current user's own directories (the user whitelist, profiles.toml, the
// detection state), can only have been written by that user. It is the
// one rule for those files: ReadUserFile applies it to every read, and the
// whitelist's writer calls it (after MkdirPrivate) before rewriting, so
// neither trusts a file the other would refuse.
//
// The directory holding path (a symlink to it is followed, as MkdirPrivate
// follows it) and path itself, which must be a regular file and not a
// symlink, must belong to the current user, and no other user may be able
// to write them. On Unix that is: owned by the effective uid, no group or
// other write bit (a POSIX ACL that grants write shows in the group bits).
// On Windows: owned by the current user (or SYSTEM, Administrators,
// TrustedInstaller), and the DACL grants write, append, delete or
// permission-changing access to no principal but the user, SYSTEM,
// Administrators and OWNER RIGHTS.
//
// A symlink in place of the file is refused whatever it points to. Its
// target lies outside the directory this rule inspects, where anyone who
// can write a directory on the way (a dotfiles share, /tmp) can swap it;
// and the writer would replace the link with a file (WriteFileAtomic
// refuses to). A directory of the user's configuration kept elsewhere is
// served by linking the directory, which is checked where it lives.
//
// Directories above the one holding path are not inspected: they belong
// to the user's profile (~/.config, %AppData%), not to trustlaunch, and
// the file is opened relative to the directory that was checked, so
// replacing one of them afterwards cannot put another file in its place.
//
// A policy failure is an *UnsafeFileError whose Reason names the object at
// fault and its owner or the principals that can write it, and whose Fix is
// a command for the user. A missing directory or file is returned as an
// error for which errors.Is(err, fs.ErrNotExist) is true: there is nothing
// to trust, and the writer may create it. Any other failure to read metadata
// is an error too: the check fails closed.
func CheckUserFile(path string) error {
	f, err := openUserFileChecked(path)
	if err != nil {
		return err
	}
	return f.Close()
}

// ReadUserFile reads path, at most limit bytes, only if it passes
// CheckUserFile's rule, which it applies to the very file it reads: the
// directory is opened and checked, the file is opened relative to it
// without following a symlink and without blocking, and the ownership and
// permissions checked are those of the opened file. Nothing can be swapped
// in between check and read.
//
// Errors are CheckUserFile's, and a *RefusedFileError for a file larger
// than limit. The caller ignores a file that fails, as a whole, and warns
// with the error and its Fix.
func ReadUserFile(path string, limit int64) ([]byte, error) {
	f, err := openUserFileChecked(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readCapped(f, path, limit)
}

// openUserFileChecked runs openUserFile, the per-OS rule, and words its
// errors.
func openUserFileChecked(path string) (*os.File, error) {
	f, err := openUserFile(path, nil)
	if err == nil {
		return f, nil
	}
	if u, ok := err.(*UnsafeFileError); ok {
		// The folder is checked first; say so when the file is not there
		// at all (wording only, as for CheckAdminFile).
		if _, lerr := os.Lstat(path); errors.Is(lerr, fs.ErrNotExist) {
			u.Missing = true
		}
		return nil, u
	}
	return nil, fmt.Errorf("check user file %s: %w", path, err)
}
