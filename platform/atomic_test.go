package platform

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

func TestWriteFileAtomic(t *testing.T) {
	tests := []struct {
		name     string
		existing []byte // nil: no file before the write
		data     []byte
		perm     fs.FileMode
	}{
		{"new file 0600", nil, []byte("example.com\n"), 0o600},
		{"new empty file", nil, []byte{}, 0o600},
		{"replace 0644 file with 0600", []byte("old.example\n"), []byte("new.example\n"), 0o600},
		{"replace longer file with shorter", bytes.Repeat([]byte("x"), 4096), []byte("y"), 0o644},
		{"perm 0640 is not narrowed by umask", nil, []byte("a\n"), 0o640},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := testtmp.Dir(t)
			path := filepath.Join(dir, "whitelist.txt")
			if tt.existing != nil {
				if err := os.WriteFile(path, tt.existing, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteFileAtomic(path, tt.data, tt.perm); err != nil {
				t.Fatalf("WriteFileAtomic: %v", err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.data) {
				t.Errorf("content = %q, want %q", got, tt.data)
			}
			if runtime.GOOS != "windows" {
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != tt.perm {
					t.Errorf("mode = %v, want %v", fi.Mode().Perm(), tt.perm)
				}
			}
			assertOnlyEntries(t, dir, "whitelist.txt")
		})
	}
}

// TestWriteFileAtomicRefusesNonRegularTarget runs on every OS, Wine
// included; the symlink cases are in TestWriteFileAtomicRefusesSymlink
// (Unix) and TestWriteFileAtomicRefusesSymlinkWindows.
func TestWriteFileAtomicRefusesNonRegularTarget(t *testing.T) {
	dir := testtmp.Dir(t)
	path := filepath.Join(dir, "whitelist.txt")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	assertRefusedTarget(t, dir, path)
}

// assertRefusedTarget checks that WriteFileAtomic refuses to replace path,
// names it, and changes nothing in dir.
func assertRefusedTarget(t *testing.T, dir, path string) {
	t.Helper()
	before := snapshot(t, dir)
	err := WriteFileAtomic(path, []byte("new\n"), 0o600)
	if err == nil {
		t.Fatal("WriteFileAtomic returned nil, want a refusal")
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "refusing to replace") {
		t.Errorf("error %q does not refuse naming %s", err, path)
	}
	if after := snapshot(t, dir); after != before {
		t.Errorf("directory changed:\nbefore %s\nafter  %s", before, after)
	}
}

func TestWriteFileAtomicRemovesTempOnFailure(t *testing.T) {
	injected := errors.New("injected write failure")
	tests := []struct {
		name     string
		existing bool
	}{
		{"no existing file", false},
		{"existing file", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := testtmp.Dir(t)
			path := filepath.Join(dir, "whitelist.txt")
			if tt.existing {
				if err := os.WriteFile(path, []byte("old\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			before := snapshot(t, dir)
			err := writeAtomic(path, 0o600, func(w io.Writer) error {
				w.Write([]byte("half of the new con"))
				return injected
			})
			if !errors.Is(err, injected) {
				t.Fatalf("writeAtomic: got %v, want it to wrap %v", err, injected)
			}
			if after := snapshot(t, dir); after != before {
				t.Errorf("directory changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func TestWriteFileAtomicMissingDirectory(t *testing.T) {
	path := filepath.Join(testtmp.Dir(t), "missing", "whitelist.txt")
	if err := WriteFileAtomic(path, []byte("x"), 0o600); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want fs.ErrNotExist", err)
	}
}

// TestWriteFileAtomicSurvivesKill kills a process that keeps rewriting a
// file at random moments, and checks after each kill that the file holds
// one complete version. A writer that truncates and writes in place fails
// this within a few rounds.
func TestWriteFileAtomicSurvivesKill(t *testing.T) {
	const rounds = 30
	maxDelay := 20 * time.Millisecond
	dir := testtmp.Dir(t)
	path := filepath.Join(dir, "whitelist.txt")
	a, b := crashContent(0), crashContent(1)
	if err := WriteFileAtomic(path, a, 0o644); err != nil {
		t.Fatal(err)
	}
	seen := map[byte]int{}
	for round := range rounds {
		h := startHelper(t, "rewrite", path)
		h.expect(t, "ready", acquired)
		// The kill lands at a random point in a rewrite: during the temp
		// file's write, its fsync, the rename or the directory fsync.
		<-time.After(rand.N(maxDelay))
		if err := h.cmd.Process.Kill(); err != nil {
			t.Fatalf("round %d: kill: %v", round, err)
		}
		h.cmd.Wait()

		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if !bytes.Equal(got, a) && !bytes.Equal(got, b) {
			t.Fatalf("round %d: torn file: %d bytes, starts %q, ends %q",
				round, len(got), got[:min(len(got), 8)], got[max(0, len(got)-8):])
		}
		seen[got[6]]++
	}
	t.Logf("after %d kills the file held A %d times and B %d times", rounds, seen['A'], seen['B'])

	// Leftover temp files from killed writers are expected; the target must
	// never be one of them, and they must all carry the temp prefix so a
	// later cleanup can find them.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "whitelist.txt" && !strings.HasPrefix(e.Name(), ".whitelist.txt.tmp-") {
			t.Errorf("unexpected file %s", e.Name())
		}
	}
}

// snapshot describes a directory's entries and contents, to check that a
// failed write changed nothing.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		sb.WriteString(e.Name() + " " + fi.Mode().String())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			sb.WriteString(" -> " + target)
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			sb.WriteString(" " + strings.TrimSpace(string(data)))
		}
		sb.WriteString("; ")
	}
	return sb.String()
}

func assertOnlyEntries(t *testing.T, dir string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("directory holds %v, want %v", got, want)
	}
}
