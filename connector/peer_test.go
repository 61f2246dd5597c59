package connector

import (
	"io"
	"net"
	"testing"
	"time"
)

// childConnect is the other user's side of TestPeerOwner: connect, send a
// byte, and report whether the connection was closed without an answer.
func childConnect(addr string) int {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 3
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	_, _ = c.Write([]byte("x"))
	n, _ := io.Copy(io.Discard, c)
	if n != 0 {
		return 4 // the tunnel answered: the connection was relayed
	}
	return 0
}

// TestPeerUnchecked: a connection whose owner cannot be found is refused
// unless AllowUncheckedPeers.
func TestPeerUnchecked(t *testing.T) {
	c := &Connector{}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if err := c.checkPeer(a); err == nil {
		t.Error("a connection of unknown owner was accepted")
	}
	c.cfg.AllowUncheckedPeers = true
	if err := c.checkPeer(a); err != nil {
		t.Errorf("AllowUncheckedPeers: %v", err)
	}
}
