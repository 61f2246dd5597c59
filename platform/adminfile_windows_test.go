package platform

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// TestAdminFileMissingWindows: a missing admin file below folders the user
// owns (the test's temp folder; under Wine also C:\, which belongs to the
// prefix's owner) is an unsafe-folder verdict that says the file is missing
// (not that it "exists", as `paths` and `explain` once said), and never reads
// as "no admin file": that would turn AllowAdminListOnly off for whoever can
// write the folder. In the wineprefix test build under Wine the folders pass,
// and the same path is plainly missing. test.sh's untagged run covers the
// release way.
func TestAdminFileMissingWindows(t *testing.T) {
	dir := testtmp.Dir(t)
	existing := filepath.Join(dir, "whitelist.txt")
	if err := os.WriteFile(existing, []byte("portal.example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	relaxed := winePrefixTag && underWine()
	for _, tt := range []struct {
		name, path string
		missing    bool
	}{
		{"missing file", filepath.Join(dir, "missing.txt"), true},
		{"missing folder", filepath.Join(dir, "missing", "whitelist.txt"), true},
		{"existing file", existing, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckAdminFile(tt.path)
			t.Logf("wineprefix tag %v, under Wine %v: %v", winePrefixTag, underWine(), err)
			var u *UnsafeFileError
			isUnsafe := errors.As(err, &u)
			switch {
			case relaxed && tt.missing:
				if !errors.Is(err, fs.ErrNotExist) || isUnsafe {
					t.Fatalf("got %v, want fs.ErrNotExist: the prefix owner's folders pass in this build", err)
				}
			case relaxed:
				if err != nil {
					t.Fatalf("got %v, want nil in the wineprefix build", err)
				}
			default:
				if !isUnsafe {
					t.Fatalf("got %v, want an *UnsafeFileError about a folder the user owns", err)
				}
				if errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%v unwraps to fs.ErrNotExist: callers would take it for no admin file", err)
				}
				if u.Missing != tt.missing {
					t.Errorf("Missing = %v, want %v", u.Missing, tt.missing)
				}
			}
		})
	}
}
