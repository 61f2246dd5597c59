//go:build linux

package connector

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// requireRootForUsers fails in CI, and skips elsewhere, when the test cannot
// create another user.
func requireRootForUsers(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("this test creates another user with useradd and must run as root in CI")
		}
		t.Skip("needs root to create another user")
	}
}

// addTestUser creates a system user with no home and no login shell for
// one test and removes it when the test ends.
func addTestUser(t *testing.T) *syscall.Credential {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := "tlpeer" + hex.EncodeToString(b)
	if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v\n%s", name, err, out)
		}
	})
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// TestPeerClosedSocketOfOtherUser: another user connects, writes and
// closes before Serve looks at the connection. The kernel then describes
// the client end as a timewait minisock (FIN_WAIT2) with uid 0 and inode
// 0, which passed the owner check when trustlaunch ran as root: the bytes
// were relayed with root's token. They must not be, and the refusal must
// say "owner unknown", not "uid 0".
func TestPeerClosedSocketOfOtherUser(t *testing.T) {
	requireRootForUsers(t)
	cred := addTestUser(t)
	var mu sync.Mutex
	var got []byte
	dest := newDestination(t, func(c net.Conn) {
		buf := make([]byte, 512)
		for {
			n, err := c.Read(buf)
			mu.Lock()
			got = append(got, buf[:n]...)
			mu.Unlock()
			if err != nil {
				return
			}
		}
	})
	p := newProxy(t, TransportConnect, "", nil)
	logs := newLogSink()
	cfg := config(p, TransportConnect, dest.addr)
	cfg.Logf = logs.Logf
	c := mustNew(t, cfg)
	ln, err := Listen("", false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	// The other user's whole connection happens before anything is
	// accepted: the kernel completes it from the listen backlog. SO_LINGER
	// makes close wait until the FIN is acknowledged (the listener's side
	// delays that ACK), so when the client has exited its socket is
	// already the FIN_WAIT2 timewait minisock: no waiting on a timer here.
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	// The system Python: one under root's home (pyenv) is not
	// executable by the other user.
	python, err := exec.LookPath("/usr/bin/python3")
	if err != nil {
		ln.Close()
		t.Fatalf("python3 (the other user's client) is missing: %v", err)
	}
	const client = `import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 10))
s.sendall(b"stolen-bytes")
s.close()`
	cmd := exec.CommandContext(ctx, python, "-c", client, port)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		ln.Close()
		t.Fatalf("client as uid %d: %v\n%s", cred.Uid, err, out)
	}

	served := make(chan error, 1)
	go func() { served <- c.Serve(ctx, ln) }()
	var line string
	for line == "" {
		select {
		case s := <-logs.ch:
			if strings.Contains(s, "refused") || strings.Contains(s, "tunnel for") {
				line = s
			}
		case <-ctx.Done():
			t.Fatalf("no log line about the connection; got:\n%s", logs.all())
		}
	}
	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if !strings.Contains(line, "refused") || !strings.Contains(line, "owner unknown") {
		t.Errorf("log line %q: want a refusal saying owner unknown", line)
	}
	if strings.Contains(line, "uid 0") {
		t.Errorf("log line %q names uid 0 for a socket whose owner is unknown", line)
	}
	if n := len(p.Targets()); n != 0 {
		t.Errorf("the proxy saw %d tunnels, want none", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 0 {
		t.Errorf("the destination received %q from another user's closed connection", got)
	}
}
