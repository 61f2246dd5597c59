package platform

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"
)

// helperEnv selects a helper role when the test binary re-executes itself
// (see startHelper); helperPathEnv passes the file the helper works on.
const (
	helperEnv     = "TRUSTLAUNCH_PLATFORM_TEST_HELPER"
	helperPathEnv = "TRUSTLAUNCH_PLATFORM_TEST_PATH"
)

// helperLifetime bounds every helper process, so that one whose parent died
// stops by itself.
const helperLifetime = 30 * time.Second

// TestMain runs the tests, or one helper role when re-executed by
// startHelper. A helper that fails panics, which exits non-zero with a trace
// that the parent reports; returning from TestMain without m.Run exits 0.
func TestMain(m *testing.M) {
	switch role := os.Getenv(helperEnv); role {
	case "":
		m.Run()
	case "lock":
		lockHelper(os.Getenv(helperPathEnv))
	case "rewrite":
		rewriteHelper(os.Getenv(helperPathEnv))
	default:
		panic("unknown helper role " + role)
	}
}

// lockHelper takes the lock on path, says "locked", holds it until its stdin
// closes, then unlocks and says "unlocked". It says "waiting" just before it
// asks for the lock, so the parent knows when it is contending.
func lockHelper(path string) {
	ctx, cancel := context.WithTimeout(context.Background(), helperLifetime)
	defer cancel()
	fmt.Println("waiting")
	l, err := Lock(ctx, path)
	if err != nil {
		panic(err)
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	if err := l.Unlock(); err != nil {
		panic(err)
	}
	fmt.Println("unlocked")
}

// rewriteHelper rewrites path with crashContent(0), crashContent(1),
// crashContent(0), ... until it is killed or its lifetime ends. It says
// "ready" after the first complete write, so the parent kills it only while
// it is busy rewriting.
func rewriteHelper(path string) {
	deadline := time.Now().Add(helperLifetime)
	for i := 0; time.Now().Before(deadline); i++ {
		if err := WriteFileAtomic(path, crashContent(i%2), 0o644); err != nil {
			panic(err)
		}
		if i == 0 {
			fmt.Println("ready")
		}
	}
}

// crashContent returns one of the two versions that the crash test writes:
// 256 KiB of 'A' or of 'B', with a header and trailer so a file cut short or
// spliced from both is easy to tell apart in a failure message.
func crashContent(which int) []byte {
	c := byte('A' + which)
	body := bytes.Repeat([]byte{c}, 256<<10)
	return append(append([]byte("begin "+string(c)+"\n"), body...), "\nend "+string(c)+"\n"...)
}

// helper is a running re-execution of the test binary in one helper role.
type helper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // its stdout, line by line; closed at EOF
	err   bytes.Buffer
}

// startHelper starts the test binary in the given role on path. The process
// is killed when the test ends if it is still running.
func startHelper(t *testing.T, role, path string) *helper {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), helperLifetime)
	t.Cleanup(cancel)
	h := &helper{lines: make(chan string, 16)}
	h.cmd = exec.CommandContext(ctx, os.Args[0])
	h.cmd.Env = append(os.Environ(), helperEnv+"="+role, helperPathEnv+"="+path)
	h.cmd.Stderr = &h.err
	h.cmd.WaitDelay = 5 * time.Second
	stdout, err := h.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if h.stdin, err = h.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Start(); err != nil {
		t.Fatalf("start helper %s: %v", role, err)
	}
	go func() {
		defer close(h.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		h.cmd.Process.Kill()
		h.cmd.Wait()
	})
	return h
}

// expect waits up to d for the helper's next line and fails unless it is
// want.
func (h *helper) expect(t *testing.T, want string, d time.Duration) {
	t.Helper()
	select {
	case got, ok := <-h.lines:
		if !ok {
			t.Fatalf("helper exited before saying %q; stderr:\n%s", want, h.stderr())
		}
		if got != want {
			t.Fatalf("helper said %q, want %q", got, want)
		}
	case <-time.After(d):
		t.Fatalf("helper did not say %q within %v", want, d)
	}
}

// stderr returns what the helper wrote to stderr; call it only after the
// helper exited (its output is then complete and no longer written to).
func (h *helper) stderr() string {
	h.cmd.Wait()
	return h.err.String()
}
