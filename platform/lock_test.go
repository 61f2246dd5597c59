package platform

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// stillBlocked is how long a test watches a waiting Lock to make sure it
// does not return early. It bounds a negative check, so it cannot be
// replaced by a channel; a wrong lock would return within a few ms.
const stillBlocked = 200 * time.Millisecond

// acquired is the upper bound for a Lock that should succeed promptly.
const acquired = 10 * time.Second

func TestLockExcludesGoroutines(t *testing.T) {
	path := filepath.Join(testtmp.Dir(t), "whitelist.txt")
	first, err := Lock(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}

	got := make(chan *FileLock)
	errc := make(chan error, 1)
	go func() {
		l, err := Lock(t.Context(), path)
		if err != nil {
			errc <- err
			return
		}
		got <- l
	}()

	select {
	case <-got:
		t.Fatal("second Lock returned while the first was held")
	case err := <-errc:
		t.Fatalf("second Lock: %v", err)
	case <-time.After(stillBlocked):
	}

	if err := first.Unlock(); err != nil {
		t.Fatal(err)
	}
	select {
	case second := <-got:
		if err := second.Unlock(); err != nil {
			t.Fatal(err)
		}
	case err := <-errc:
		t.Fatalf("second Lock: %v", err)
	case <-time.After(acquired):
		t.Fatalf("second Lock still waiting %v after the first was released", acquired)
	}
}

func TestLockExcludesOtherProcess(t *testing.T) {
	path := filepath.Join(testtmp.Dir(t), "whitelist.txt")
	mine, err := Lock(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}

	// The helper waits while we hold the lock...
	h := startHelper(t, "lock", path)
	h.expect(t, "waiting", acquired)
	select {
	case line := <-h.lines:
		t.Fatalf("helper said %q while we held the lock", line)
	case <-time.After(stillBlocked):
	}

	// ...gets it when we let go...
	if err := mine.Unlock(); err != nil {
		t.Fatal(err)
	}
	h.expect(t, "locked", acquired)

	// ...and keeps us out while it holds it.
	ctx, cancel := context.WithTimeout(t.Context(), stillBlocked)
	defer cancel()
	if l, err := Lock(ctx, path); !errors.Is(err, context.DeadlineExceeded) {
		if l != nil {
			l.Unlock()
		}
		t.Fatalf("Lock while the helper holds it: got %v, want context.DeadlineExceeded", err)
	}

	h.stdin.Close()
	h.expect(t, "unlocked", acquired)
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("helper: %v\n%s", err, h.err.String())
	}
	ctx, cancel = context.WithTimeout(t.Context(), acquired)
	defer cancel()
	l, err := Lock(ctx, path)
	if err != nil {
		t.Fatalf("Lock after the helper exited: %v", err)
	}
	l.Unlock()
}

func TestLockContext(t *testing.T) {
	tests := []struct {
		name string
		ctx  func(t *testing.T) context.Context
		want error
	}{
		{"deadline while waiting", func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}, context.DeadlineExceeded},
		{"cancelled while waiting", func(t *testing.T) context.Context {
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(50*time.Millisecond, cancel)
			t.Cleanup(cancel)
			return ctx
		}, context.Canceled},
		{"cancelled before the call", func(t *testing.T) context.Context {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return ctx
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(testtmp.Dir(t), "whitelist.txt")
			held, err := Lock(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer held.Unlock()

			ctx := tt.ctx(t)
			done := make(chan error, 1)
			go func() {
				l, err := Lock(ctx, path)
				if l != nil {
					l.Unlock()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, tt.want) {
					t.Fatalf("Lock: got %v, want %v", err, tt.want)
				}
			case <-time.After(acquired):
				t.Fatalf("Lock ignored its context for %v", acquired)
			}
		})
	}
}

func TestLockSidecar(t *testing.T) {
	dir := testtmp.Dir(t)
	path := filepath.Join(dir, "whitelist.txt")
	l, err := Lock(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(path + ".lock")
	if err != nil {
		t.Fatalf("lock file: %v", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file mode = %v, want 0600", fi.Mode().Perm())
	}
	if _, err := os.Lstat(path); err == nil {
		t.Errorf("Lock created the data file %s; it must lock only the sidecar", path)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); err == nil {
		t.Error("second Unlock returned nil, want an error")
	}
}

func TestLockMissingDirectory(t *testing.T) {
	path := filepath.Join(testtmp.Dir(t), "missing", "whitelist.txt")
	if l, err := Lock(t.Context(), path); err == nil {
		l.Unlock()
		t.Fatal("Lock in a missing directory returned nil error")
	}
}
