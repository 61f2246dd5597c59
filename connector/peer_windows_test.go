package connector

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// TestPeerClosedClientWindows: a loopback client that has closed its
// socket before the check no longer has a row of its own in the TCP table
// (Wine drops it; Windows keeps a TIME_WAIT row owned by PID 0). Its owner
// is unknown, and the connection is refused as such: never taken for a
// peer on another machine, which Config.AllowUncheckedPeers (connect
// --unsafe-listen) would let through.
func TestPeerClosedClientWindows(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c.Write([]byte("x"))
	c.Close()
	// The client's FIN has arrived once the server end reads EOF: the
	// client socket is closed by then.
	s.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, s); err != nil {
		t.Fatalf("waiting for the client's close: %v", err)
	}

	err = checkPeerOwner(s, nil, nil)
	var ue *PeerUnknownError
	if !errors.As(err, &ue) {
		t.Errorf("closed loopback client: %v (%T), want a *PeerUnknownError", err, err)
	}
	if got := PeerSource(err); got != "owner unknown" {
		t.Errorf("PeerSource = %q, want %q", got, "owner unknown")
	}
	c2 := &Connector{cfg: Config{AllowUncheckedPeers: true}}
	if err := c2.checkPeer(s); err == nil {
		t.Error("with AllowUncheckedPeers, a closed loopback client was accepted as a peer on another machine")
	}
}
