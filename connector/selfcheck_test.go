package connector

import (
	"errors"
	"net"
	"strings"
	"testing"
)

// TestPeerSelfCheck runs the self-check for real: it passes where the
// system has an owner check, and fails where it has none.
func TestPeerSelfCheck(t *testing.T) {
	err := PeerSelfCheck()
	if peerCheckAvailable && err != nil {
		t.Fatalf("PeerSelfCheck: %v", err)
	}
	if !peerCheckAvailable && err == nil {
		t.Fatal("PeerSelfCheck passed on a system with no owner check")
	}
}

// TestSelfCheckCatches: the self-check fails for each way an owner check
// could be wrong.
func TestSelfCheckCatches(t *testing.T) {
	tests := []struct {
		name  string
		check func(net.Conn, func(int) error, func() []int) error
		want  string
	}{
		{"refuses everyone", func(net.Conn, func(int) error, func() []int) error {
			return &PeerOwnerError{Owner: "uid 1", Want: "uid 2"}
		}, "own connection"},
		{"admits without asking", func(net.Conn, func(int) error, func() []int) error { return nil }, "holder"},
		{"names another process", func(_ net.Conn, admit func(int) error, _ func() []int) error {
			if err := admit(1); err != nil {
				return &PeerProcessError{Owner: "uid 0", PIDs: []int{1}, Err: err}
			}
			return nil
		}, "own connection"},
		{"ignores the admit's refusal", func(_ net.Conn, admit func(int) error, roots func() []int) error {
			_ = admit(roots()[0])
			return nil
		}, "not admitted"},
		{"refuses the wrong way", func(_ net.Conn, admit func(int) error, roots func() []int) error {
			if err := admit(roots()[0]); err != nil {
				return errors.New("some other failure")
			}
			return nil
		}, "not admitted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := selfCheck(tc.check)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("selfCheck = %v, want an error about %q", err, tc.want)
			}
		})
	}
	// And a check that is right passes.
	right := func(_ net.Conn, admit func(int) error, roots func() []int) error {
		if err := admit(roots()[0]); err != nil {
			return &PeerProcessError{Owner: "uid 0", Err: err}
		}
		return nil
	}
	if err := selfCheck(right); err != nil {
		t.Fatalf("selfCheck of a right check: %v", err)
	}
}
