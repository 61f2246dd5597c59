package connector

import (
	"errors"
	"fmt"
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

// TestPeerSource: each refusal type names its source for grouping, also
// when wrapped, and nothing is classified by its text.
func TestPeerSource(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"other user", &PeerOwnerError{Owner: "uid 1001", Want: "uid 1000"}, "uid 1001"},
		{"wrapped other user", fmt.Errorf("check: %w", &PeerOwnerError{Owner: "uid 1001", Want: "uid 1000"}), "uid 1001"},
		// Windows names the process too; refusals still group by user.
		{"other user's process", &PeerOwnerError{Owner: "S-1-5-21-1-2-3-1001", PID: 4242, Want: "S-1-5-21-1-2-3-1000"}, "S-1-5-21-1-2-3-1001"},
		{"closed socket", &PeerUnknownError{Reason: "TIME_WAIT"}, "owner unknown"},
		{"not the emulator", &PeerProcessError{Owner: "uid 1000", PIDs: []int{42}, Err: errors.New("not a descendant")}, "uid 1000 (not the emulator)"},
		{"unchecked", fmt.Errorf("%w on plan9", errPeerUnchecked), "owner unchecked"},
		{"text that looks like a source", errors.New("uid 0"), "owner check failed"},
	} {
		if got := PeerSource(tc.err); got != tc.want {
			t.Errorf("%s: PeerSource = %q, want %q", tc.name, got, tc.want)
		}
	}
}
