//go:build unix

package platform

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

func TestMkdirPrivate(t *testing.T) {
	tests := []struct {
		name     string
		needRoot bool
		setup    func(t *testing.T, base string) (dir string)
		wantErr  string      // empty: success, and the directory must end up 0700
		wantMode os.FileMode // on error: the mode the existing directory must keep
		check    func(t *testing.T, base string)
	}{
		{name: "missing nested directories", setup: func(t *testing.T, base string) string {
			return filepath.Join(base, "a", "b", "trustlaunch")
		}},
		{name: "existing 0700 directory", setup: func(t *testing.T, base string) string {
			return mkdirMode(t, filepath.Join(base, "trustlaunch"), 0o700)
		}},
		{name: "existing 0755 directory owned by us", setup: func(t *testing.T, base string) string {
			return mkdirMode(t, filepath.Join(base, "trustlaunch"), 0o755)
		}},
		{name: "existing 1777 directory owned by us", setup: func(t *testing.T, base string) string {
			return mkdirMode(t, filepath.Join(base, "trustlaunch"), 0o777|os.ModeSticky)
		}},
		{name: "symlink to a 0755 directory owned by us", setup: func(t *testing.T, base string) string {
			real := mkdirMode(t, filepath.Join(base, "real"), 0o755)
			return symlink(t, real, filepath.Join(base, "trustlaunch"))
		}},
		{name: "existing directory owned by uid 1000", needRoot: true, setup: func(t *testing.T, base string) string {
			dir := mkdirMode(t, filepath.Join(base, "trustlaunch"), 0o755)
			chownOther(t, dir)
			return dir
		}, wantErr: "owned by uid 1000", wantMode: 0o755},
		{name: "regular file in the way", setup: func(t *testing.T, base string) string {
			return writeMode(t, filepath.Join(base, "trustlaunch"), 0o644)
		}, wantErr: "not a directory", wantMode: 0o644},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needRoot {
				requireRoot(t)
			}
			dir := tt.setup(t, testtmp.Dir(t))
			err := MkdirPrivate(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), dir) {
					t.Fatalf("got %v, want an error naming %s and containing %q", err, dir, tt.wantErr)
				}
				if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != tt.wantMode {
					t.Errorf("after the error: mode %v (err %v), want it left at %v", fi.Mode().Perm(), err, tt.wantMode)
				}
				return
			}
			if err != nil {
				t.Fatalf("MkdirPrivate: %v", err)
			}
			fi, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode() & (os.ModePerm | os.ModeSticky | os.ModeSetgid | os.ModeSetuid); !fi.IsDir() || got != 0o700 {
				t.Errorf("mode = %v, want a directory with 0700 and no special bits", fi.Mode())
			}
		})
	}
}
