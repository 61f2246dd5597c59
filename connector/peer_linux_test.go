//go:build linux

package connector

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestPeerOwner: Serve relays a connection from this user and refuses one
// from uid 65534 (a child process started with that credential).
func TestPeerOwner(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the owner check exists on Linux only")
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("this test starts a process as another user and must run as root in CI")
		}
		t.Skip("needs root to start a process as another user")
	}
	dest := newDestination(t, echo)
	p := newProxy(t, TransportConnect, "", nil)
	logs := newLogSink()
	cfg := config(p, TransportConnect, dest.addr)
	cfg.Logf = logs.Logf
	addr := serve(t, mustNew(t, cfg))

	// Our own connection is relayed.
	app, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = app.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := app.Write([]byte("mine")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(app, buf); err != nil || string(buf) != "mine" {
		t.Fatalf("own connection: %q, %v", buf, err)
	}
	app.Close()

	// Another user's connection is closed unanswered and logged. The test
	// binary is copied where uid 65534 can run it.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "connector-peer-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "connector.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = []string{"TL_CONNECTOR_CHILD=connect-as-other-user", "TL_CONNECTOR_ADDR=" + addr}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child as uid 65534: %v (exit 4 means it was relayed)\n%s", err, out)
	}
	line := logs.waitLog(t, ctx, "refused local connection")
	if want := "uid 65534"; !strings.Contains(line, want) {
		t.Errorf("log %q does not name %s", line, want)
	}
	if got := p.Targets(); len(got) != 1 {
		t.Errorf("the proxy saw %d tunnels, want only ours", len(got))
	}
}

// TestPeerOwnerIPv6SocketClient: a client whose socket is IPv6 (Java's
// default, so tn5250j) reaches the 127.0.0.1 listener as
// ::ffff:127.0.0.1; the kernel describes it in IPv6 form, and it must
// still be found as this user's.
func TestPeerOwnerIPv6SocketClient(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("IPv6 socket: %v", err)
	}
	defer unix.Close(fd)
	sa := &unix.SockaddrInet6{Port: ln.Addr().(*net.TCPAddr).Port}
	copy(sa.Addr[:], net.ParseIP("::ffff:127.0.0.1").To16())
	if err := unix.Connect(fd, sa); err != nil {
		t.Fatalf("connect from an IPv6 socket to 127.0.0.1: %v", err)
	}
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := checkPeerOwner(conn, nil, nil); err != nil {
		t.Errorf("own client on an IPv6 socket refused: %v", err)
	}
}

// TestPeerAdmitProcess: with AdmitProcess, a connection of this user is
// relayed only when the processes found holding it (searched under
// ProcessRoots) are admitted: the admitted child's is relayed, the test
// process's own (same user, vetoed) is refused as "not the emulator".
func TestPeerAdmitProcess(t *testing.T) {
	python, err := exec.LookPath("/usr/bin/python3")
	if err != nil {
		t.Fatalf("python3 (the admitted client) is missing: %v", err)
	}
	dest := newDestination(t, echo)
	p := newProxy(t, TransportConnect, "", nil)
	logs := newLogSink()
	cfg := config(p, TransportConnect, dest.addr)
	cfg.Logf = logs.Logf
	var child atomic.Int64
	// The root is this process: the child is found by walking down to it,
	// and our own connection is found here and vetoed by AdmitProcess.
	cfg.ProcessRoots = func() []int { return []int{os.Getpid()} }
	cfg.AdmitProcess = func(pid int) error {
		if int64(pid) != child.Load() {
			return fmt.Errorf("process %d is not the child", pid)
		}
		return nil
	}
	addr := serve(t, mustNew(t, cfg))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	// Our own connection: same user, not admitted.
	own, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = own.SetDeadline(time.Now().Add(10 * time.Second))
	own.Write([]byte("ours"))
	if n, _ := io.Copy(io.Discard, own); n != 0 {
		t.Errorf("the test process's connection was relayed (%d bytes back)", n)
	}
	own.Close()
	line := logs.waitLog(t, ctx, "refused local connection")
	if !strings.Contains(line, "not by the emulator") || !strings.Contains(line, "is not the child") {
		t.Errorf("refusal %q: want it to say not the emulator, with AdmitProcess's reason", line)
	}

	// The admitted child connects once its pid is known.
	const client = `import socket, sys
sys.stdin.readline()
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"mine")
s.shutdown(socket.SHUT_WR)
sys.stdout.write(s.recv(16).decode())`
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.CommandContext(ctx, python, "-c", client, port)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child.Store(int64(cmd.Process.Pid))
	in.Write([]byte("go\n"))
	in.Close()
	if err := cmd.Wait(); err != nil || out.String() != "mine" {
		t.Errorf("admitted child: %v, output %q (want the echo \"mine\"); log:\n%s", err, out.String(), logs.all())
	}
	if got := len(p.Targets()); got != 1 {
		t.Errorf("the proxy saw %d tunnels, want the child's only", got)
	}
}

// TestPeerHolderAmongManyDescriptors: the holder search reads a process's
// descriptor table in getdents batches (4 KiB, about 170 names each) and
// must read them all: the client socket here is opened after 600 other
// descriptors, so its name is in a later batch than the first.
func TestPeerHolderAmongManyDescriptors(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var extra []*os.File
	defer func() {
		for _, f := range extra {
			f.Close()
		}
	}()
	for range 600 {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		extra = append(extra, f)
	}
	client, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	self := os.Getpid()
	var admitted []int
	admit := func(pid int) error { admitted = append(admitted, pid); return nil }
	if err := checkPeerOwner(conn, admit, func() []int { return []int{self} }); err != nil {
		t.Fatalf("own connection, opened after 600 descriptors, refused: %v", err)
	}
	if len(admitted) != 1 || admitted[0] != self {
		t.Errorf("AdmitProcess asked about %v, want this process (%d) only", admitted, self)
	}
}

// TestSockDiagKeptSocketLateAnswer: a sock_diag socket is kept for the next
// check (diagSockets). If an answer is still queued on it (the request
// before timed out), the next check skips it by its sequence number and
// reads its own: here the queued answer is for the server's end of the
// same connection, which, taken for the answer, would say the client's
// socket does not exist.
func TestSockDiagKeptSocketLateAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	ap := func(a net.Addr) netip.AddrPort { return a.(*net.TCPAddr).AddrPort() }

	// Only the socket with the late answer is in the pool.
	for drained := false; !drained; {
		select {
		case fd := <-diagSockets:
			unix.Close(fd)
		default:
			drained = true
		}
	}
	fd, err := takeDiagSocket()
	if err != nil {
		t.Fatal(err)
	}
	late := diagRequest(diagSeq.Add(1), unix.AF_INET, ap(server.LocalAddr()), ap(server.RemoteAddr()))
	if err := unix.Sendto(fd, late, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		t.Fatal(err)
	}
	putDiagSocket(fd)

	sk, found, err := socketInfo(ap(client.LocalAddr()), ap(client.RemoteAddr()))
	if err != nil || !found || sk.inode == 0 {
		t.Fatalf("socketInfo of the client = %+v, %v, %v; want its socket, with an inode", sk, found, err)
	}
	if n := len(diagSockets); n != 1 {
		t.Errorf("%d sockets kept after the check, want the one it used", n)
	}
}
