package connector

import (
	"net"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestKeepAliveSocketOptions reads the socket options of the tunnel's TCP
// connection (direct and to an outbound proxy) and of an accepted local
// connection: keepalive on, first probe after KeepAlive.Idle, then every
// KeepAlive.Interval, KeepAlive.Count probes.
func TestKeepAliveSocketOptions(t *testing.T) {
	if KeepAlive.Idle.Seconds() != 30 || KeepAlive.Interval.Seconds() != 10 || KeepAlive.Count != 3 {
		t.Fatalf("KeepAlive = %+v, want the 30 s / 10 s / 3 the documentation states", KeepAlive)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	c := mustNew(t, Config{ProxyAddr: ln.Addr().String(), Transport: TransportConnect, Destination: "host.test:23", Token: NewToken(testToken)})
	conn, _, err := c.dialProxy(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	checkKeepAlive(t, "tunnel socket", conn)
	srv := <-accepted
	defer srv.Close()

	// Through an outbound proxy, the socket to it.
	ob := newFakeOutbound(t, nil)
	c = mustNew(t, Config{ProxyAddr: "proxy.test:" + portOf(ln.Addr().String()), Transport: TransportConnect, Destination: "host.test:23", Token: NewToken(testToken), Outbound: ob.outbound(t, "")})
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	oconn, _, err := c.dialProxy(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer oconn.Close()
	checkKeepAlive(t, "socket to the outbound proxy", oconn)
	(<-accepted).Close()
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func checkKeepAlive(t *testing.T, what string, conn net.Conn) {
	t.Helper()
	sc, err := conn.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var on, idle, intvl, cnt int
	var gerr error
	err = sc.Control(func(fd uintptr) {
		get := func(level, opt int) int {
			v, err := unix.GetsockoptInt(int(fd), level, opt)
			if err != nil && gerr == nil {
				gerr = err
			}
			return v
		}
		on = get(unix.SOL_SOCKET, unix.SO_KEEPALIVE)
		idle = get(unix.IPPROTO_TCP, unix.TCP_KEEPIDLE)
		intvl = get(unix.IPPROTO_TCP, unix.TCP_KEEPINTVL)
		cnt = get(unix.IPPROTO_TCP, unix.TCP_KEEPCNT)
	})
	if err != nil || gerr != nil {
		t.Fatalf("%s: getsockopt: %v %v", what, err, gerr)
	}
	if on != 1 || idle != 30 || intvl != 10 || cnt != 3 {
		t.Errorf("%s: SO_KEEPALIVE=%d TCP_KEEPIDLE=%d TCP_KEEPINTVL=%d TCP_KEEPCNT=%d, want 1, 30, 10, 3", what, on, idle, intvl, cnt)
	}
}
