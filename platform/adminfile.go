package platform

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// UnsafeFileError reports an admin file that someone other than an
// administrator could have written or replaced. It is a hard stop
// (docs/design.md "Fail closed"): the caller must refuse to launch, not fall
// back to prompting.
type UnsafeFileError struct {
	Path   string // the admin file that was checked, as the caller named it
	Reason string // what is wrong; names the directory, symlink or symlink target at fault when it is not Path itself
	Fix    string // a command or step for an administrator, e.g. "sudo chmod go-w /etc/trustlaunch"

	// Missing is true when the file itself does not exist and the fault is
	// in a directory (or symlink) above it. It changes only how the error
	// is worded ("does not exist, but ..."), never the verdict: whoever can
	// write that directory could have removed the file, so the caller
	// still stops. UnsafeFileError deliberately does not unwrap to
	// fs.ErrNotExist, which callers read as "no admin file, prompt mode".
	Missing bool
}

// Error returns "<path>: <reason>".
func (e *UnsafeFileError) Error() string { return e.Path + ": " + e.Reason }

// Hint returns Fix, the advice callers find by a Hint method on any error
// that carries one.
func (e *UnsafeFileError) Hint() string { return e.Fix }

// CheckAdminFile verifies that path, a file administrators push (the admin
// whitelist, later a CA bundle or profiles), can only have been written by
// an administrator.
//
// It resolves the path one component at a time from the root, as the kernel
// does, and checks everything that resolution touches: every directory, every
// symbolic link, and the final file, which must be a regular file. On Unix
// each must be owned by root and not writable by group or others; a
// world-writable directory is refused even with the sticky bit (as in /tmp),
// because others can still create entries in it. On Windows each must be
// owned by Administrators, SYSTEM or TrustedInstaller, and its DACL must give
// no one else write, append, delete or permission-changing access.
//
// This follows OpenSSH's safe_path, which checks the resolved file and every
// directory up to /, and adds the directories that hold symlinks met on the
// way: whoever can replace a link can point the admin path anywhere, after
// this check has passed.
//
// Policy failures are returned as *UnsafeFileError. A missing file (or
// missing directory on the way) is returned as an error for which
// errors.Is(err, fs.ErrNotExist) is true, so the caller can tell "no admin
// file" from "unsafe admin file"; but a directory that others can write is
// reported as unsafe even when the file is missing, because whoever can
// write it could have deleted the file (UnsafeFileError.Missing then says
// the file is absent, for the wording only). Any other failure to read metadata,
// such as permission denied, is returned as an error too: the check fails
// closed.
func CheckAdminFile(path string) error {
	return checkAdminFile(path, "")
}

// checkAdminFile is CheckAdminFile with one test-only relaxation:
// trustedDir, when not empty, names a directory that is accepted without
// inspection together with all its ancestors.
//
// Tests need it because t.TempDir() lives under /tmp, which is
// world-writable, so no file below it could ever pass; building the tree
// under /root or $HOME instead would tie the tests to one machine's layout.
// Everything below trustedDir is still checked by exactly the code that
// CheckAdminFile runs, and CheckAdminFile itself always passes "".
func checkAdminFile(path, trustedDir string) error {
	abs, err := absPath(path)
	if err != nil {
		return fmt.Errorf("check admin file %s: %w", path, err)
	}
	c := &adminCheck{file: path, abs: filepath.Clean(abs), trusted: trustedDir}
	return c.walk(abs)
}

// nodeRole is the part a path component plays in resolving an admin file.
type nodeRole int

const (
	roleFile    nodeRole = iota // the admin file itself, after symlinks are resolved
	roleDir                     // a directory that resolution passes through
	roleRootDir                 // the root of the file system or volume
	roleLink                    // a symbolic link that resolution follows
)

// problem is one policy failure found by inspectNode, the per-OS check of
// a single file, directory or link.
type problem struct {
	what string // e.g. "owned by uid 1000, not root"; reads after "<object> is"
	fix  string
}

// maxSymlinks bounds symlink resolution as Linux's MAXSYMLINKS does, so a
// loop ends with an error.
const maxSymlinks = 40

type adminCheck struct {
	file    string // as the caller named it, for messages
	abs     string // absolute and clean, to recognise the file itself
	trusted string // see checkAdminFile
	links   int    // symlinks followed so far
}

// walk resolves abs component by component from its root and inspects each
// object it passes. It handles ".." physically, as the Unix kernel does: the
// parent of a directory reached through a symlink is its real parent, which
// was inspected on the way down.
func (c *adminCheck) walk(abs string) error {
	cur, rest, err := c.enterRoot(abs, "")
	if err != nil {
		return err
	}
	for len(rest) > 0 {
		name := rest[0]
		rest = rest[1:]
		switch name {
		case ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, name)
		fi, err := os.Lstat(next)
		if err != nil {
			return fmt.Errorf("check admin file %s: %w", c.file, err)
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			if err := c.inspect(next, fi, roleLink); err != nil {
				return err
			}
			if c.links++; c.links > maxSymlinks {
				return fmt.Errorf("check admin file %s: too many levels of symbolic links at %s", c.file, next)
			}
			target, err := os.Readlink(next)
			if err != nil {
				return fmt.Errorf("check admin file %s: %w", c.file, err)
			}
			var parts []string
			if isRooted(target) {
				if cur, parts, err = c.enterRoot(target, filepath.VolumeName(cur)); err != nil {
					return err
				}
			} else {
				parts = splitPath(target)
			}
			rest = append(parts, rest...)
		case len(rest) == 0:
			return c.inspect(next, fi, roleFile)
		case fi.IsDir():
			if err := c.inspect(next, fi, roleDir); err != nil {
				return err
			}
			cur = next
		default:
			// Includes Windows junctions and mount points, which Go reports
			// as irregular files: we cannot follow them as the OS does, so
			// we refuse them rather than guess.
			return fmt.Errorf("check admin file %s: %s is %s, not a directory", c.file, next, describeType(fi.Mode()))
		}
	}
	// The path, or the last symlink target, ended in "/", "." or "..": it
	// names a directory, which is never an acceptable admin file.
	fi, err := os.Lstat(cur)
	if err != nil {
		return fmt.Errorf("check admin file %s: %w", c.file, err)
	}
	return c.inspect(cur, fi, roleFile)
}

// enterRoot starts resolution of p at the root of its volume (on Unix, "/")
// and returns that root, after inspecting it, and the components to resolve
// below it. A path rooted without a volume ("\x" on Windows) stays on
// curVol.
func (c *adminCheck) enterRoot(p, curVol string) (root string, parts []string, err error) {
	vol := filepath.VolumeName(p)
	if vol != "" && !filepath.IsAbs(p) {
		// "C:x" means "relative to the current directory of drive C", which
		// this process cannot know reliably.
		return "", nil, fmt.Errorf("check admin file %s: drive-relative path %q is not supported", c.file, p)
	}
	if vol == "" {
		vol = curVol
	}
	root = vol + string(filepath.Separator)
	fi, err := os.Lstat(root)
	if err != nil {
		return "", nil, fmt.Errorf("check admin file %s: %w", c.file, err)
	}
	if err := c.inspect(root, fi, roleRootDir); err != nil {
		return "", nil, err
	}
	return root, splitPath(p[len(filepath.VolumeName(p)):]), nil
}

// inspect runs the per-OS check on one object and turns a problem into an
// *UnsafeFileError that names both the admin file and the object at fault.
func (c *adminCheck) inspect(p string, fi fs.FileInfo, role nodeRole) error {
	if (role == roleDir || role == roleRootDir) && c.isTrusted(p) {
		return nil
	}
	prob, err := inspectNode(p, fi, role)
	if err != nil {
		return fmt.Errorf("check admin file %s: %w", c.file, err)
	}
	if prob == nil {
		return nil
	}
	var reason string
	switch {
	case role == roleFile && p == c.abs:
		reason = prob.what
	case role == roleFile:
		reason = fmt.Sprintf("symlink target %s is %s", p, prob.what)
	case role == roleLink:
		reason = fmt.Sprintf("symlink %s is %s", p, prob.what)
	default:
		reason = fmt.Sprintf("directory %s is %s", p, prob.what)
	}
	u := &UnsafeFileError{Path: c.file, Reason: reason, Fix: prob.fix}
	if role != roleFile {
		// The walk stops at the first unsafe directory or link, before it
		// reaches the file, so ask the OS whether the file is there at all:
		// only for the wording: "exists but cannot be used" would be wrong
		// for a file that does not exist. os.Stat follows links as
		// the later open would; any error but "not found" leaves Missing
		// false, the wording this error always had.
		if _, err := os.Stat(c.file); errors.Is(err, fs.ErrNotExist) {
			u.Missing = true
		}
	}
	return u
}

// isTrusted reports whether dir is c.trusted or one of its ancestors.
func (c *adminCheck) isTrusted(dir string) bool {
	if c.trusted == "" {
		return false
	}
	rel, err := filepath.Rel(dir, c.trusted)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// isRooted reports whether a symlink target starts again from a root
// rather than from the directory holding the link.
func isRooted(p string) bool {
	return filepath.IsAbs(p) || filepath.VolumeName(p) != "" || (p != "" && os.IsPathSeparator(p[0]))
}

// splitPath splits p into its non-empty components, keeping "." and ".."
// for walk to resolve.
func splitPath(p string) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r < 0x80 && os.IsPathSeparator(uint8(r)) })
}

// describeType names a non-regular file type for messages.
func describeType(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	default:
		return "an irregular file"
	}
}
