package platform

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// TestReadRegularFile covers the reader of files a user or an
// administrator names: the size cap at its edge, and what it refuses.
func TestReadRegularFile(t *testing.T) {
	dir := testtmp.Dir(t)
	write := func(name string, n int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Repeat("x", n)), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if data, err := ReadRegularFile(write("limit.txt", 1024), 1024); err != nil || len(data) != 1024 {
		t.Errorf("a file of exactly the limit: %d bytes, %v", len(data), err)
	}
	if data, err := ReadRegularFile(write("empty.txt", 0), 1024); err != nil || len(data) != 0 {
		t.Errorf("an empty file: %d bytes, %v", len(data), err)
	}
	var re *RefusedFileError
	big := write("big.txt", 1025)
	if _, err := ReadRegularFile(big, 1024); !errors.As(err, &re) || err.Error() != big+": larger than 1 KiB" {
		t.Errorf("one byte over the limit: %v", err)
	}
	if _, err := ReadRegularFile(dir, 1024); !errors.As(err, &re) || err.Error() != dir+": a directory, not a regular file" {
		t.Errorf("a directory: %v", err)
	}
	if _, err := ReadRegularFile(filepath.Join(dir, "missing.txt"), 1024); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v, want fs.ErrNotExist", err)
	}
}

// TestReadUserFileChecksTheDirectoryItReads swaps the user's directory
// between its check and the file's open, as someone who can write the
// directory above it could: the file read must be the one in the
// directory that was checked, never the one in its replacement.
func TestReadUserFileChecksTheDirectoryItReads(t *testing.T) {
	base := testtmp.Dir(t)
	dir := filepath.Join(base, "trustlaunch")
	if err := MkdirPrivate(dir); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "profiles.toml")
	if err := os.WriteFile(file, []byte("checked"), 0o600); err != nil {
		t.Fatal(err)
	}
	swap := func() {
		if err := os.Rename(dir, filepath.Join(base, "moved")); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte("planted"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f, err := openUserFile(file, swap)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, err := readCapped(f, file, 1<<10)
	if err != nil || string(data) != "checked" {
		t.Fatalf("read %q, %v; want the file of the checked directory, %q", data, err, "checked")
	}
}
