package connector

import (
	"net"

	"golang.org/x/sys/unix"
)

// clientClosed reports whether the client of conn has already closed its
// sending side: our end is in CLOSE_WAIT (one getsockopt, TCP_INFO). Serve
// asks only while every owner-check slot is busy, as a cheap refusal of
// the connect/close flood (see ServePreDialed).
func clientClosed(conn net.Conn) bool {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	_ = rc.Control(func(fd uintptr) {
		info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		closed = err == nil && info.State == unix.BPF_TCP_CLOSE_WAIT
	})
	return closed
}
