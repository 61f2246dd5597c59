package whitelist

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
	"github.com/trustlaunch/trustlaunch/platform"
)

// Re-exec roles of the test binary (see TestMain).
const (
	roleEnv = "TRUSTLAUNCH_WHITELIST_TEST_ROLE"
	argEnv  = "TRUSTLAUNCH_WHITELIST_TEST_ARG"
)

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "":
		os.Exit(m.Run())
	case "always":
		// One launch answering Always: add a host to the user list. It
		// waits for "go" on stdin so that all 20 start at once.
		path, host, _ := strings.Cut(os.Getenv(argEnv), "|")
		io.ReadFull(os.Stdin, make([]byte, 2))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		e, err := ParseEntry(host)
		if err == nil {
			_, err = AddToUserList(ctx, path, e)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	case "decide":
		// A launch by another user: load the admin list and decide.
		src := LoadAdmin(os.Getenv(argEnv))
		d := Decide(context.Background(), Input{LaunchURL: "https://portal.example.com/", Admin: src})
		fmt.Printf("%s\n%s\n", d.Step, d.Message)
		os.Exit(0)
	}
	os.Exit(2)
}

// TestConcurrentAlways runs 20 separate processes that each answer Always for
// a different host at the same moment: all 20 must be present and the file
// must parse cleanly.
func TestConcurrentAlways(t *testing.T) {
	path := filepath.Join(testtmp.Dir(t), "cfg", "whitelist.txt")
	// A pre-existing entry and comment must survive too.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("# mine\nkeep.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const n = 20
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var cmds []*exec.Cmd
	var gates []io.WriteCloser
	for i := range n {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), roleEnv+"=always", fmt.Sprintf("%s=%s|host%d.example.com", argEnv, path, i))
		cmd.Stderr = os.Stderr
		gate, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, gates = append(cmds, cmd), append(gates, gate)
	}
	for _, g := range gates {
		g.Write([]byte("go"))
		g.Close()
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("process %d: %v", i, err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	l, probs, err := Parse(path, data)
	if err != nil || len(probs) != 0 {
		t.Fatalf("parse after concurrent writes: %v %v\n%s", err, probs, data)
	}
	if len(l.Entries) != n+1 || !strings.HasPrefix(string(data), "# mine\nkeep.example\n") {
		t.Fatalf("want %d entries and the old content first, got %d:\n%s", n+1, len(l.Entries), data)
	}
	for i := range n {
		o, _ := ParseOrigin(fmt.Sprintf("https://host%d.example.com/", i))
		if _, ok := l.Match(o); !ok {
			t.Errorf("host%d.example.com lost", i)
		}
	}
	assertPrivateList(t, path)
}

func TestAddToUserList(t *testing.T) {
	dir := testtmp.Dir(t)
	path := filepath.Join(dir, "sub", "whitelist.txt")
	ctx := t.Context()
	e, _ := ParseEntry("portal.example.com:8443")
	if changed, err := AddToUserList(ctx, path, e); err != nil || !changed {
		t.Fatalf("first add: %v %v", changed, err)
	}
	if changed, err := AddToUserList(ctx, path, e); err != nil || changed {
		t.Fatalf("second add: %v %v", changed, err)
	}
	assertPrivateList(t, path)
	// A file without a final newline gets one before the new entry.
	os.WriteFile(path, []byte("a.example"), 0o600)
	AddToUserList(ctx, path, e)
	if got, _ := os.ReadFile(path); string(got) != "a.example\nportal.example.com:8443\n" {
		t.Errorf("got %q", got)
	}
	// A UTF-16 list is kept as text, rewritten as UTF-8.
	os.WriteFile(path, utf16File("a.example\r\n", false), 0o600)
	AddToUserList(ctx, path, e)
	if got, _ := os.ReadFile(path); string(got) != "a.example\r\nportal.example.com:8443\n" {
		t.Errorf("got %q", got)
	}
	// A cancelled context while the lock is held elsewhere gives up.
	lock, err := platform.Lock(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := AddToUserList(cctx, path, Entry{Host: "b.example"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("locked add: %v", err)
	}
	lock.Unlock()
}
