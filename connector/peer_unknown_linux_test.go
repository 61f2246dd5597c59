//go:build linux

package connector

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/testuser"
)

// TestPeerClosedSocketOfOtherUser: another user connects, writes and
// closes before Serve looks at the connection. The kernel then describes
// the client end as a timewait minisock (FIN_WAIT2) with uid 0 and inode
// 0, which passed the owner check when trustlaunch ran as root: the bytes
// were relayed with root's token. They must not be, and the refusal must
// say "owner unknown", not "uid 0".
func TestPeerClosedSocketOfOtherUser(t *testing.T) {
	cred := testuser.New(t, "tlpeer").Credential()
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
