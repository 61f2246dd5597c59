//go:build unix

package platform

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// readBounded runs read and fails the test if it has not returned within
// 10 s: a reader that opens a FIFO blocking waits for a writer for ever.
// At the end a writer opens each of fifos, so that a reader stuck there
// returns and the test can end.
func readBounded(t *testing.T, read func() ([]byte, error), fifos ...string) ([]byte, error) {
	t.Helper()
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := read()
		done <- result{data, err}
	}()
	select {
	case r := <-done:
		return r.data, r.err
	case <-time.After(10 * time.Second):
		for _, p := range fifos {
			if w, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				w.Close()
			}
		}
		<-done
		t.Fatal("the read blocked on a named pipe")
		return nil, nil
	}
}

func mkfifo(t *testing.T, path string) string {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReadRegularFileFIFO: a named pipe is refused at once, whether it is
// there when the file is looked at or swapped in just after, before the
// open; a symlink to a regular file is followed.
func TestReadRegularFileFIFO(t *testing.T) {
	dir := testtmp.Dir(t)
	fifo := mkfifo(t, filepath.Join(dir, "policy.toml"))
	var re *RefusedFileError
	if _, err := readBounded(t, func() ([]byte, error) { return ReadRegularFile(fifo, 1<<10) }, fifo); !errors.As(err, &re) || err.Error() != fifo+": a named pipe, not a regular file" {
		t.Errorf("a named pipe: %v", err)
	}

	swapped := filepath.Join(dir, "swapped.toml")
	if err := os.WriteFile(swapped, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	swap := func() {
		os.Remove(swapped)
		mkfifo(t, swapped)
	}
	if _, err := readBounded(t, func() ([]byte, error) { return readRegularFile(swapped, 1<<10, swap) }, swapped); !errors.As(err, &re) || !strings.Contains(err.Error(), "a named pipe, not a regular file") {
		t.Errorf("a named pipe swapped in after the look: %v", err)
	}

	target := filepath.Join(dir, "target.toml")
	if err := os.WriteFile(target, []byte("linked"), 0o644); err != nil {
		t.Fatal(err)
	}
	if data, err := ReadRegularFile(symlink(t, target, filepath.Join(dir, "link.toml")), 1<<10); err != nil || string(data) != "linked" {
		t.Errorf("a symlink to a regular file: %q, %v", data, err)
	}
}

// TestReadUserFileSwapped swaps the user's file, after its directory passed
// the rule, for what the rule refuses: the check is on the file opened, so
// each is refused, and none blocks.
func TestReadUserFileSwapped(t *testing.T) {
	requireRoot(t) // to chown a file to another user
	dir := mkdirMode(t, filepath.Join(testtmp.Dir(t), "trustlaunch"), 0o700)
	mine := writeMode(t, filepath.Join(dir, "mine.txt"), 0o600)
	tests := []struct {
		name string
		swap func(file string)
		want string
	}{
		{"symlink to a file of one's own", func(file string) { symlink(t, mine, file) }, "a symlink, not a regular file"},
		{"named pipe", func(file string) { mkfifo(t, file) }, "a named pipe, not a regular file"},
		{"file of another user", func(file string) {
			writeMode(t, file, 0o600)
			chownOther(t, file)
		}, "owned by uid 1000"},
		{"file writable by others", func(file string) { writeMode(t, file, 0o606) }, "writable by others"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeMode(t, filepath.Join(dir, "list"+string(rune('a'+i))+".txt"), 0o600)
			swap := func() {
				if err := os.Remove(file); err != nil {
					t.Fatal(err)
				}
				tt.swap(file)
			}
			_, err := readBounded(t, func() ([]byte, error) {
				f, err := openUserFile(file, swap)
				if err != nil {
					return nil, err
				}
				defer f.Close()
				return readCapped(f, file, 1<<10)
			}, file)
			var u *UnsafeFileError
			if !errors.As(err, &u) || !strings.Contains(u.Reason, tt.want) {
				t.Errorf("got %v, want an *UnsafeFileError saying %q", err, tt.want)
			}
		})
	}
}
