//go:build unix

package platform

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// openUserFile is CheckUserFile's rule on Unix, applied to what it opens:
// the directory is opened (following a symlink to it) and checked through
// its descriptor, then the file is opened relative to that descriptor
// with O_NOFOLLOW and O_NONBLOCK and checked through its own, so what is
// returned is the file that passed. beforeOpen, when not nil, runs between
// the directory's check and the file's open, for tests that swap the file
// there.
//
// Unlike ReadRegularFile, it does not look at the file before opening it:
// O_NOFOLLOW refuses a link in open(2) itself, O_NONBLOCK opens a FIFO
// without waiting, and a device node, the one kind of file whose open can
// do something, only root can make, and only the user (or root) can put
// anything in a directory that passed.
func openUserFile(path string, beforeOpen func()) (*os.File, error) {
	uid := os.Geteuid()
	dir := filepath.Dir(path)
	d, err := os.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, userDirOpenError(path, dir, uid, err)
	}
	defer d.Close()
	fi, err := d.Stat()
	if err != nil {
		return nil, err
	}
	if what, fix := userNodeProblem(dir, fi, uid, true); what != "" {
		return nil, &UnsafeFileError{Path: path, Reason: "directory " + dir + " is " + what, Fix: fix}
	}
	if beforeOpen != nil {
		beforeOpen()
	}
	fd, err := unix.Openat(int(d.Fd()), filepath.Base(path), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err == unix.ELOOP {
		return nil, userNotRegular(path, fs.ModeSymlink)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	if fi, err = f.Stat(); err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, userNotRegular(path, fi.Mode())
	}
	if what, fix := userNodeProblem(path, fi, uid, false); what != "" {
		f.Close()
		return nil, &UnsafeFileError{Path: path, Reason: what, Fix: fix}
	}
	return f, nil
}

// userDirOpenError explains why the directory of a user file could not be
// opened: looked at by path, it is missing, not a directory, or fails the
// rule; otherwise (no read permission on a directory of one's own) the
// open's error stands.
func userDirOpenError(path, dir string, uid int, openErr error) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return &UnsafeFileError{Path: path, Reason: "directory " + dir + " is " + describeType(fi.Mode()) + ", not a directory",
			Fix: "move " + shellQuote(dir) + " aside; trustlaunch creates the directory again"}
	}
	if what, fix := userNodeProblem(dir, fi, uid, true); what != "" {
		return &UnsafeFileError{Path: path, Reason: "directory " + dir + " is " + what, Fix: fix}
	}
	return openErr
}

// userNotRegular is the verdict on a user file of mode m that is not a
// regular file.
func userNotRegular(path string, m fs.FileMode) error {
	return &UnsafeFileError{Path: path, Reason: describeType(m) + ", not a regular file (trustlaunch reads and rewrites only a regular file here)",
		Fix: "replace " + shellQuote(path) + " with a regular file: cp -L " + shellQuote(path) + " " + shellQuote(path+".new") + " && mv -f " + shellQuote(path+".new") + " " + shellQuote(path)}
}

// userNodeProblem says what is wrong with one object under the user rule:
// not owned by uid, or writable by group or others. what reads after
// "<object> is"; both are "" when the object passes.
func userNodeProblem(path string, fi fs.FileInfo, uid int, isDir bool) (what, fix string) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "without owner information", "report this as a bug"
	}
	q := shellQuote(path)
	var whats, fixes []string
	if int(st.Uid) != uid {
		whats = append(whats, fmt.Sprintf("owned by %s, not by you (%s)", describeUID(int(st.Uid)), describeUID(uid)))
		switch {
		case uid == 0:
			fixes = append(fixes, "check what it holds, then: chown 0 "+q)
		case isDir:
			fixes = append(fixes, "check what it holds, then move it aside (mv "+q+" "+shellQuote(path+".old")+") and let trustlaunch create it again")
		default:
			fixes = append(fixes, "check its entries, then make it yours: cp "+q+" "+shellQuote(path+".new")+" && mv -f "+shellQuote(path+".new")+" "+q)
		}
	}
	groupW, otherW := fi.Mode()&0o020 != 0, fi.Mode()&0o002 != 0
	if groupW || otherW {
		switch {
		case groupW && otherW:
			whats = append(whats, "writable by group and others")
		case groupW:
			whats = append(whats, "writable by group "+describeGID(int(st.Gid)))
		default:
			whats = append(whats, "writable by others")
		}
		if isDir {
			fixes = append(fixes, "chmod go-w "+q+" (trustlaunch keeps it 0700)")
		} else {
			fixes = append(fixes, "chmod go-w "+q)
		}
	}
	return strings.Join(whats, " and "), strings.Join(fixes, "; ")
}

// describeUID names a uid for messages: "uid 1001 (alice)", or just the
// number when it has no account.
func describeUID(uid int) string {
	s := "uid " + strconv.Itoa(uid)
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		s += " (" + u.Username + ")"
	}
	return s
}

// describeGID names a gid the same way.
func describeGID(gid int) string {
	s := "gid " + strconv.Itoa(gid)
	if g, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil && g.Name != "" {
		s += " (" + g.Name + ")"
	}
	return s
}
