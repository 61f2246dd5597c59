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
)

// checkUserFile is CheckUserFile on Unix.
func checkUserFile(path string) error {
	uid := os.Geteuid()
	dir := filepath.Dir(path)
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
	fi, err = os.Lstat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return &UnsafeFileError{Path: path, Reason: describeType(fi.Mode()) + ", not a regular file (trustlaunch reads and rewrites only a regular file here)",
			Fix: "replace " + shellQuote(path) + " with a regular file: cp -L " + shellQuote(path) + " " + shellQuote(path+".new") + " && mv -f " + shellQuote(path+".new") + " " + shellQuote(path)}
	}
	if what, fix := userNodeProblem(path, fi, uid, false); what != "" {
		return &UnsafeFileError{Path: path, Reason: what, Fix: fix}
	}
	return nil
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
