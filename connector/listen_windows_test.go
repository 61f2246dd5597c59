package connector

import (
	"context"
	"net"
	"syscall"
	"testing"

	"golang.org/x/sys/windows"
)

// TestListenExclusive: the local end's socket is SO_EXCLUSIVEADDRUSE, so
// that no other socket can bind its port with SO_REUSEADDR and take the
// emulator's connection (Windows lets one do that to a socket without it).
func TestListenExclusive(t *testing.T) {
	ln, err := Listen("", false)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	rc, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		v, gerr = windows.GetsockoptInt(windows.Handle(fd), windows.SOL_SOCKET, soExclusiveAddrUse)
	}); err != nil {
		t.Fatal(err)
	}
	if gerr != nil || v != 1 {
		t.Fatalf("SO_EXCLUSIVEADDRUSE of the listener = %d, %v; want 1", v, gerr)
	}

	// Another socket that asks to share the address is refused.
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = windows.SetsockoptInt(windows.Handle(fd), windows.SOL_SOCKET, windows.SO_REUSEADDR, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	if thief, err := lc.Listen(context.Background(), "tcp", ln.Addr().String()); err == nil {
		thief.Close()
		t.Errorf("a second socket with SO_REUSEADDR bound %s", ln.Addr())
	}
}
