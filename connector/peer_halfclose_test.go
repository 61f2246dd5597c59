//go:build linux || windows

package connector

import (
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// TestPeerHalfClosedClient: a client of this user that sends its request
// and at once shuts its writing side (TestHalfClose's application, `nc -N`,
// a one-shot script) is still found as the owner of its connection and
// admitted; the admit hook sees this process, not the listener's side.
//
// Built for the OSes with a peer check (Linux: /proc; Windows: the TCP
// table). On Windows the owner is looked up in GetExtendedTcpTable, where
// the half-closed client's row is in FIN_WAIT_2 and the accepted one in
// CLOSE_WAIT: a table class that lists only ESTABLISHED rows (Wine's
// TCP_TABLE_OWNER_PID_CONNECTIONS) does not have it, and the connection was
// refused as "not from this machine", with a reset for the client.
func TestPeerHalfClosedClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if _, err := client.Write([]byte("question")); err != nil {
		t.Fatal(err)
	}
	if err := client.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	srv, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	defer srv.Close()
	// Read up to the client's FIN, so both ends are past ESTABLISHED when
	// the check runs.
	_ = srv.SetReadDeadline(time.Now().Add(10 * time.Second))
	if got, err := io.ReadAll(srv); err != nil || string(got) != "question" {
		t.Fatalf("server read %q, %v", got, err)
	}
	var admitted []int
	c := &Connector{cfg: Config{AdmitProcess: func(pid int) error {
		admitted = append(admitted, pid)
		return nil
	}}}
	if err := c.checkPeer(srv); err != nil {
		t.Fatalf("half-closed client of this user refused: %v", err)
	}
	if len(admitted) == 0 || admitted[0] != os.Getpid() {
		t.Errorf("admit hook saw processes %v; want this one, %d", admitted, os.Getpid())
	}
}
