//go:build unix

package platform

import (
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// absPath makes p absolute without cleaning it: filepath.Clean would fold
// "link/.." lexically, while the kernel that later opens the file follows
// the link first. walk resolves "." and ".." the kernel's way.
func absPath(p string) (string, error) {
	if strings.HasPrefix(p, "/") {
		return p, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return wd + "/" + p, nil
}

// inspectNode checks one object on the way to an admin file: owned by root
// and, except for symlinks, not writable by group or others.
//
// On Linux a POSIX ACL that grants write to a named user or group shows up
// in the group write bit (which holds the ACL mask), so the mode check
// catches it. macOS ACLs are not reflected in the mode bits and are not
// inspected here; only root can add one to a root-owned file, but an
// administrator could still grant write to others that way.
func inspectNode(path string, fi fs.FileInfo, role nodeRole) (*problem, error) {
	mode := fi.Mode()
	if role == roleFile && !mode.IsRegular() {
		return &problem{
			what: describeType(mode) + ", not a regular file",
			fix:  "replace " + shellQuote(path) + " with a regular file owned by root",
		}, nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, fmt.Errorf("%s: no owner information", path)
	}

	var what, fix []string
	if st.Uid != 0 {
		what = append(what, fmt.Sprintf("owned by uid %d, not root", st.Uid))
		fix = append(fix, "sudo chown root "+shellQuote(path))
	}
	// A symlink's own mode bits are ignored by the kernel and nobody can
	// rewrite a link in place; replacing it needs write access to its
	// directory, which is inspected separately.
	if role != roleLink {
		groupW, otherW := mode&0o020 != 0, mode&0o002 != 0
		switch {
		case otherW && mode&fs.ModeSticky != 0:
			// The /tmp case. The sticky bit stops others deleting our
			// entries but not creating their own, so a missing file or
			// directory on the path could be planted. Such a directory is
			// shared on purpose, so the fix is to move, not to chmod it.
			what = append(what, "writable by others (the sticky bit still lets anyone create entries)")
			fix = append(fix, "keep admin files out of "+shellQuote(path)+"; use a directory that only root can write")
		case groupW || otherW:
			switch {
			case groupW && otherW:
				what = append(what, "writable by group and others")
			case groupW:
				what = append(what, "writable by group")
			default:
				what = append(what, "writable by others")
			}
			fix = append(fix, "sudo chmod go-w "+shellQuote(path))
		}
	}
	if len(what) == 0 {
		return nil, nil
	}
	return &problem{what: strings.Join(what, " and "), fix: strings.Join(fix, " && ")}, nil
}

// shellQuote quotes p for a POSIX shell when it holds anything beyond
// characters that are safe bare, so a Fix can be pasted into a terminal
// (macOS paths contain "Application Support").
func shellQuote(p string) string {
	safe := func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+,:@%=", r)
	}
	if p != "" && strings.IndexFunc(p, func(r rune) bool { return !safe(r) }) < 0 {
		return p
	}
	return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
}
