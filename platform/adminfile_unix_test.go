//go:build unix

package platform

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// adminTree is a root-owned copy of an admin layout below a test's trusted
// directory: trusted/etc (0755), trusted/etc/trustlaunch (0755),
// trusted/etc/trustlaunch/whitelist.txt (0644), plus trusted/opt (0755)
// for symlink targets.
type adminTree struct {
	trusted, etc, dir, file, opt string
}

func newAdminTree(t *testing.T) adminTree {
	t.Helper()
	var tr adminTree
	tr.trusted = realTempDir(t)
	tr.etc = mkdirMode(t, filepath.Join(tr.trusted, "etc"), 0o755)
	tr.dir = mkdirMode(t, filepath.Join(tr.etc, "trustlaunch"), 0o755)
	tr.file = writeMode(t, filepath.Join(tr.dir, "whitelist.txt"), 0o644)
	tr.opt = mkdirMode(t, filepath.Join(tr.trusted, "opt"), 0o755)
	return tr
}

func TestCheckAdminFile(t *testing.T) {
	requireRoot(t)

	// want describes the outcome: ok, not-exist, some other error, or an
	// *UnsafeFileError whose message and fix name the object `at`.
	type want struct {
		ok       bool
		notExist bool
		errText  string // other error: text it must contain
		at       string // unsafe: the file, directory or link at fault
		reason   string // unsafe: text the reason must contain
		missing  bool   // unsafe: the file itself does not exist (UnsafeFileError.Missing)
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, tr adminTree) (path string, w want)
	}{
		{"root-owned 0644 file in root-owned 0755 directories", func(t *testing.T, tr adminTree) (string, want) {
			return tr.file, want{ok: true}
		}},
		{"root-owned 0600 file", func(t *testing.T, tr adminTree) (string, want) {
			chmod(t, tr.file, 0o600)
			return tr.file, want{ok: true}
		}},
		{"file owned by uid 1000", func(t *testing.T, tr adminTree) (string, want) {
			chownOther(t, tr.file)
			return tr.file, want{at: tr.file, reason: "owned by uid 1000, not root"}
		}},
		{"group-writable file", func(t *testing.T, tr adminTree) (string, want) {
			chmod(t, tr.file, 0o664)
			return tr.file, want{at: tr.file, reason: "writable by group"}
		}},
		{"world-writable file", func(t *testing.T, tr adminTree) (string, want) {
			chmod(t, tr.file, 0o646)
			return tr.file, want{at: tr.file, reason: "writable by others"}
		}},
		{"file owned by uid 1000 and world-writable", func(t *testing.T, tr adminTree) (string, want) {
			chownOther(t, tr.file)
			chmod(t, tr.file, 0o666)
			return tr.file, want{at: tr.file, reason: "owned by uid 1000, not root and writable by group and others"}
		}},
		{"group-writable parent directory", func(t *testing.T, tr adminTree) (string, want) {
			chmod(t, tr.dir, 0o775)
			return tr.file, want{at: tr.dir, reason: "directory " + tr.dir + " is writable by group"}
		}},
		{"world-writable sticky parent directory", func(t *testing.T, tr adminTree) (string, want) {
			chmod(t, tr.dir, 0o777|os.ModeSticky)
			return tr.file, want{at: tr.dir, reason: "sticky bit"}
		}},
		{"parent directory owned by uid 1000", func(t *testing.T, tr adminTree) (string, want) {
			chownOther(t, tr.dir)
			return tr.file, want{at: tr.dir, reason: "directory " + tr.dir + " is owned by uid 1000"}
		}},
		{"grandparent directory owned by uid 1000", func(t *testing.T, tr adminTree) (string, want) {
			chownOther(t, tr.etc)
			return tr.file, want{at: tr.etc, reason: "owned by uid 1000"}
		}},
		{"symlink to a root-owned file in a safe directory", func(t *testing.T, tr adminTree) (string, want) {
			real := writeMode(t, filepath.Join(tr.opt, "real.txt"), 0o644)
			return symlink(t, real, filepath.Join(tr.dir, "link.txt")), want{ok: true}
		}},
		{"symlink to a file in a world-writable directory", func(t *testing.T, tr adminTree) (string, want) {
			evil := mkdirMode(t, filepath.Join(tr.trusted, "evil"), 0o777)
			real := writeMode(t, filepath.Join(evil, "real.txt"), 0o644)
			return symlink(t, real, filepath.Join(tr.dir, "link.txt")), want{at: evil, reason: "writable by group and others"}
		}},
		{"relative symlink up into a world-writable directory", func(t *testing.T, tr adminTree) (string, want) {
			evil := mkdirMode(t, filepath.Join(tr.trusted, "evil"), 0o777)
			writeMode(t, filepath.Join(evil, "real.txt"), 0o644)
			return symlink(t, "../../evil/real.txt", filepath.Join(tr.dir, "link.txt")), want{at: evil, reason: "writable"}
		}},
		{"symlink to a file owned by uid 1000", func(t *testing.T, tr adminTree) (string, want) {
			real := writeMode(t, filepath.Join(tr.opt, "real.txt"), 0o644)
			chownOther(t, real)
			return symlink(t, real, filepath.Join(tr.dir, "link.txt")), want{at: real, reason: "symlink target " + real + " is owned by uid 1000"}
		}},
		{"symlink owned by uid 1000", func(t *testing.T, tr adminTree) (string, want) {
			real := writeMode(t, filepath.Join(tr.opt, "real.txt"), 0o644)
			link := symlink(t, real, filepath.Join(tr.dir, "link.txt"))
			chownOther(t, link)
			return link, want{at: link, reason: "symlink " + link + " is owned by uid 1000"}
		}},
		{"symlinked parent directory inside a world-writable directory", func(t *testing.T, tr adminTree) (string, want) {
			evil := mkdirMode(t, filepath.Join(tr.trusted, "evil"), 0o777)
			conf := mkdirMode(t, filepath.Join(evil, "conf"), 0o755)
			writeMode(t, filepath.Join(conf, "whitelist.txt"), 0o644)
			symlink(t, conf, filepath.Join(tr.etc, "linked"))
			return filepath.Join(tr.etc, "linked", "whitelist.txt"), want{at: evil, reason: "writable"}
		}},
		{"dot-dot after a symlinked directory resolves physically", func(t *testing.T, tr adminTree) (string, want) {
			// etc/jump -> opt/sub, so etc/jump/../x.txt is opt/x.txt to the
			// kernel; a lexical clean would check the safe etc/x.txt instead.
			sub := mkdirMode(t, filepath.Join(tr.opt, "sub"), 0o755)
			symlink(t, sub, filepath.Join(tr.etc, "jump"))
			writeMode(t, filepath.Join(tr.etc, "x.txt"), 0o644)
			physical := writeMode(t, filepath.Join(tr.opt, "x.txt"), 0o664)
			// Not filepath.Join: it would clean the ".." away lexically.
			return tr.etc + "/jump/../x.txt", want{at: physical, reason: "symlink target " + physical + " is writable by group"}
		}},
		{"symlink loop", func(t *testing.T, tr adminTree) (string, want) {
			symlink(t, filepath.Join(tr.dir, "b"), filepath.Join(tr.dir, "a"))
			symlink(t, filepath.Join(tr.dir, "a"), filepath.Join(tr.dir, "b"))
			return filepath.Join(tr.dir, "a"), want{errText: "too many levels of symbolic links"}
		}},
		{"directory instead of a file", func(t *testing.T, tr adminTree) (string, want) {
			return tr.dir, want{at: tr.dir, reason: "a directory, not a regular file"}
		}},
		{"named pipe instead of a file", func(t *testing.T, tr adminTree) (string, want) {
			fifo := filepath.Join(tr.dir, "fifo")
			if err := unix.Mkfifo(fifo, 0o644); err != nil {
				t.Fatal(err)
			}
			chmod(t, fifo, 0o644)
			return fifo, want{at: fifo, reason: "a named pipe, not a regular file"}
		}},
		{"missing file", func(t *testing.T, tr adminTree) (string, want) {
			return filepath.Join(tr.dir, "missing.txt"), want{notExist: true}
		}},
		{"missing directory", func(t *testing.T, tr adminTree) (string, want) {
			return filepath.Join(tr.etc, "missing", "whitelist.txt"), want{notExist: true}
		}},
		{"dangling symlink", func(t *testing.T, tr adminTree) (string, want) {
			return symlink(t, filepath.Join(tr.opt, "nowhere"), filepath.Join(tr.dir, "link.txt")), want{notExist: true}
		}},
		{"missing file in a world-writable directory", func(t *testing.T, tr adminTree) (string, want) {
			// Whoever can write the directory could have deleted the admin
			// file to turn AllowAdminListOnly off: unsafe, not "no file".
			chmod(t, tr.dir, 0o777)
			return filepath.Join(tr.dir, "missing.txt"), want{at: tr.dir, reason: "writable by group and others", missing: true}
		}},
		{"missing directory below a directory owned by uid 1000", func(t *testing.T, tr adminTree) (string, want) {
			chownOther(t, tr.etc)
			return filepath.Join(tr.dir, "missing", "whitelist.txt"), want{at: tr.etc, reason: "owned by uid 1000", missing: true}
		}},
		{"dangling symlink in a world-writable directory", func(t *testing.T, tr adminTree) (string, want) {
			chmod(t, tr.dir, 0o777)
			return symlink(t, filepath.Join(tr.opt, "nowhere"), filepath.Join(tr.dir, "link.txt")), want{at: tr.dir, reason: "writable", missing: true}
		}},
		{"file below a regular file", func(t *testing.T, tr adminTree) (string, want) {
			return filepath.Join(tr.file, "x"), want{errText: "not a directory"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newAdminTree(t)
			path, w := tt.setup(t, tr)
			err := checkAdminFile(path, tr.trusted)

			var unsafe *UnsafeFileError
			isUnsafe := errors.As(err, &unsafe)
			switch {
			case w.ok:
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
			case w.notExist:
				if !errors.Is(err, fs.ErrNotExist) || isUnsafe {
					t.Fatalf("got %v, want an fs.ErrNotExist error", err)
				}
			case w.errText != "":
				if err == nil || isUnsafe || errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), w.errText) {
					t.Fatalf("got %v, want a plain error containing %q", err, w.errText)
				}
			default:
				if !isUnsafe {
					t.Fatalf("got %v, want *UnsafeFileError", err)
				}
				// Missing only changes the wording: an unsafe verdict must
				// never read as "no admin file" (that would fail open).
				if errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%v unwraps to fs.ErrNotExist: callers would take it for no admin file", err)
				}
				if unsafe.Missing != w.missing {
					t.Errorf("Missing = %v, want %v", unsafe.Missing, w.missing)
				}
				if unsafe.Path != path {
					t.Errorf("Path = %q, want the checked file %q", unsafe.Path, path)
				}
				if !strings.Contains(unsafe.Error(), w.at) {
					t.Errorf("error %q does not name %s", unsafe.Error(), w.at)
				}
				if !strings.Contains(unsafe.Reason, w.reason) {
					t.Errorf("Reason = %q, want it to contain %q", unsafe.Reason, w.reason)
				}
				if !strings.Contains(unsafe.Fix, w.at) {
					t.Errorf("Fix = %q, want a fix that names %s", unsafe.Fix, w.at)
				}
			}
		})
	}
}

// TestCheckAdminFileWalksToRoot checks that the exported function, which has
// no trusted directory, inspects every directory up to /: a file that is
// safe below the test's temp dir must still be refused if a directory above
// it (normally /tmp, mode 1777) is unsafe, and accepted if none is.
func TestCheckAdminFileWalksToRoot(t *testing.T) {
	requireRoot(t)
	tr := newAdminTree(t)

	// The walk goes from / down, so it reports the unsafe ancestor of the
	// test tree nearest to /: scan upwards and keep the last one found.
	var wantAt string
	for dir := tr.trusted; ; dir = filepath.Dir(dir) {
		fi, err := os.Lstat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Sys().(*syscall.Stat_t).Uid != 0 || fi.Mode()&0o022 != 0 {
			wantAt = dir
		}
		if dir == "/" {
			break
		}
	}
	t.Logf("unsafe ancestor of %s: %q", tr.trusted, wantAt)

	err := CheckAdminFile(tr.file)
	if wantAt == "" {
		if err != nil {
			t.Fatalf("got %v, want nil: no directory above %s is unsafe", err, tr.trusted)
		}
		return
	}
	var unsafe *UnsafeFileError
	if !errors.As(err, &unsafe) {
		t.Fatalf("got %v, want *UnsafeFileError naming %s", err, wantAt)
	}
	t.Logf("CheckAdminFile: %v (fix: %s)", err, unsafe.Fix)
	if !strings.Contains(unsafe.Reason, "directory "+wantAt+" is") {
		t.Errorf("Reason = %q, want it to name %s", unsafe.Reason, wantAt)
	}
}

// TestCheckAdminFileMissing needs no root: the missing file sits directly in
// the trusted directory, so nothing is inspected before the lookup fails.
func TestCheckAdminFileMissing(t *testing.T) {
	trusted := realTempDir(t)
	err := checkAdminFile(filepath.Join(trusted, "whitelist.txt"), trusted)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want fs.ErrNotExist", err)
	}
	var unsafe *UnsafeFileError
	if errors.As(err, &unsafe) {
		t.Fatalf("got *UnsafeFileError %v for a missing file", err)
	}
}

func TestUnsafeFileErrorMessage(t *testing.T) {
	e := &UnsafeFileError{Path: "/etc/trustlaunch/whitelist.txt", Reason: "writable by group", Fix: "sudo chmod go-w /etc/trustlaunch/whitelist.txt"}
	if got, want := e.Error(), "/etc/trustlaunch/whitelist.txt: writable by group"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/etc/trustlaunch/whitelist.txt", "/etc/trustlaunch/whitelist.txt"},
		{"/Library/Application Support/trustlaunch", "'/Library/Application Support/trustlaunch'"},
		{"/tmp/it's", `'/tmp/it'\''s'`},
		{"/tmp/$(reboot)", "'/tmp/$(reboot)'"},
	}
	for _, tt := range tests {
		if got := shellQuote(tt.in); got != tt.want {
			t.Errorf("shellQuote(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
