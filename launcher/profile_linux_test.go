//go:build linux

package launcher

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
	"github.com/trustlaunch/trustlaunch/internal/testuser"
)

// TestUserProfilesOthersCouldWriteIgnored checks, as root with a real
// second user, that a user's profiles.toml that someone else owns or can
// write, or whose directory they own or can write, or that is a symlink,
// is ignored as a whole with a warning naming the file, what is wrong and
// the fix: its c3270 would otherwise run the other user's command as this
// user from any listed portal's descriptor, without a prompt. It is the
// user whitelist's rule (whitelist's TestUserListOthersCouldWriteIgnored).
func TestUserProfilesOthersCouldWriteIgnored(t *testing.T) {
	other := testuser.New(t, "tlprof")
	asOther := func(t *testing.T, script string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "sh", "-c", script)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: other.Credential()}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("as %s: %q: %v\n%s", other.Name, script, err, out)
		}
	}
	chownOther := func(t *testing.T, path string) {
		t.Helper()
		if err := os.Lchown(path, int(other.UID), int(other.GID)); err != nil {
			t.Fatal(err)
		}
	}
	const evil = "[profile.c3270]\ncommand = [\"/bin/sh\", \"-c\", \"echo owned\"]\n"
	base := testtmp.Dir(t)
	// Let the other user reach the directories below (t.TempDir is 0700).
	os.Chmod(filepath.Dir(base), 0o711)
	os.Chmod(base, 0o711)
	n := 0
	setup := func(t *testing.T) (dir, file string) {
		n++
		dir = filepath.Join(base, "config"+strconv.Itoa(n), "trustlaunch")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Dir(dir), 0o711)
		file = filepath.Join(dir, "profiles.toml")
		if err := os.WriteFile(file, []byte("[profile.mine]\ncommand = [\"c3270\", \"{host}:{port}\"]\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return dir, file
	}
	tests := []struct {
		name   string
		change func(t *testing.T, dir, file string)
		want   []string // in the warning, {dir} for the directory; nil: the file is read
	}{
		{"own 0700 directory and 0600 file", func(*testing.T, string, string) {}, nil},
		{"own 0755 directory and 0644 file", func(t *testing.T, dir, file string) {
			os.Chmod(dir, 0o755)
			os.Chmod(file, 0o644)
		}, nil},
		{"file owned by another user", func(t *testing.T, dir, file string) {
			os.Chmod(dir, 0o711)
			chownOther(t, file)
			asOther(t, "printf '%s' '"+evil+"' > "+file)
		}, []string{"owned by uid " + strconv.Itoa(int(other.UID)) + " (" + other.Name + ")", "fix: "}},
		{"file writable by others", func(t *testing.T, dir, file string) {
			os.Chmod(dir, 0o711)
			os.Chmod(file, 0o606)
			asOther(t, "printf '%s' '"+evil+"' > "+file)
		}, []string{"writable by others", "fix: chmod go-w"}},
		{"file writable by the other user's group", func(t *testing.T, dir, file string) {
			os.Chmod(dir, 0o711)
			os.Chown(file, 0, int(other.GID))
			os.Chmod(file, 0o660)
			asOther(t, "printf '%s' '"+evil+"' > "+file)
		}, []string{"writable by group", "fix: chmod go-w"}},
		{"directory owned by another user", func(t *testing.T, dir, file string) {
			chownOther(t, dir)
			// Its owner can swap the file for one of their own...
			asOther(t, "mv "+file+" "+file+".old && printf '%s' '"+evil+"' > "+file)
			// ...even one that then looks like ours: the directory is the fault.
			os.Chown(file, 0, 0)
			os.Chmod(file, 0o600)
		}, []string{"directory {dir} is owned by uid " + strconv.Itoa(int(other.UID))}},
		{"directory writable by others", func(t *testing.T, dir, file string) {
			os.Chmod(dir, 0o777)
			asOther(t, "rm -f "+file+" && printf '%s' '"+evil+"' > "+file)
		}, []string{"directory {dir} is writable by group and others", "fix: chmod go-w"}},
		{"symlink to another user's file", func(t *testing.T, dir, file string) {
			// A shared dotfiles file, say, that its owner can rewrite.
			theirs := filepath.Join(filepath.Dir(dir), "shared.toml")
			os.WriteFile(theirs, nil, 0o644)
			chownOther(t, theirs)
			asOther(t, "printf '%s' '"+evil+"' > "+theirs)
			os.Remove(file)
			os.Symlink(theirs, file)
		}, []string{"a symlink, not a regular file", "fix: "}},
		{"symlink to a file of one's own", func(t *testing.T, dir, file string) {
			// Refused too (docs/admin.md, "The user's own files"): a
			// link's target is outside the directory the rule checks.
			mine := filepath.Join(dir, "elsewhere.toml")
			os.Rename(file, mine)
			os.Symlink(mine, file)
		}, []string{"a symlink, not a regular file", "cp -L"}},
		{"named pipe", func(t *testing.T, dir, file string) {
			// Refused without waiting for a writer.
			os.Remove(file)
			if err := syscall.Mkfifo(file, 0o600); err != nil {
				t.Fatal(err)
			}
		}, []string{"a named pipe, not a regular file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, file := setup(t)
			tt.change(t, dir, file)
			done := make(chan struct{})
			var ps *Profiles
			var err error
			go func() {
				defer close(done)
				ps, err = LoadProfiles(ProfileOptions{AdminFile: noAdminProfiles, UserFile: file})
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("LoadProfiles did not return")
			}
			if err != nil {
				t.Fatalf("LoadProfiles: %v", err)
			}
			c3270, err := ps.Resolve("c3270")
			if err != nil {
				t.Fatal(err)
			}
			if c3270.Source != "built-in" {
				t.Errorf("c3270 comes from %s, want the built-in", c3270.Source)
			}
			_, mineErr := ps.Resolve("mine")
			if tt.want == nil {
				if mineErr != nil || len(ps.Warnings) != 0 {
					t.Fatalf("a safe file: Resolve(mine) %v, warnings %q", mineErr, ps.Warnings)
				}
				return
			}
			if mineErr == nil {
				t.Errorf("a profile of the ignored file resolves")
			}
			if len(ps.Warnings) != 1 {
				t.Fatalf("warnings %q, want one", ps.Warnings)
			}
			w := ps.Warnings[0]
			for _, s := range append(tt.want, "ignoring your profiles file", file) {
				if s = strings.ReplaceAll(s, "{dir}", dir); !strings.Contains(w, s) {
					t.Errorf("warning %q lacks %q", w, s)
				}
			}
		})
	}
}
