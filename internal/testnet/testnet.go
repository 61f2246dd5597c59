// Package testnet holds the network fixtures that tests of more than one
// package share: a loop serving each connection of a listener, and a
// minimal outbound HTTP proxy. Only tests import it.
package testnet

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
)

// ServeEach accepts connections on ln and runs handle on each in a
// goroutine of its own, until the test ends; then it closes ln and waits
// for every handle to return. handle closes its connection.
func ServeEach(tb testing.TB, ln net.Listener, handle func(net.Conn)) {
	tb.Helper()
	var wg sync.WaitGroup
	tb.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { handle(c) })
		}
	})
}

// ConnectForwarder is a minimal outbound HTTP proxy on loopback: CONNECT
// only, names resolved from its own table. It records the CONNECT targets
// and the User-Agent of each CONNECT.
type ConnectForwarder struct {
	Addr string // host:port to give as http://Addr

	mu      sync.Mutex
	targets []string
	agents  []string
}

// NewConnectForwarder starts a forwarder that sends a CONNECT to host:port
// on to hosts[host]:port; it stops when tb ends.
func NewConnectForwarder(tb testing.TB, hosts map[string]string) *ConnectForwarder {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	f := &ConnectForwarder{Addr: ln.Addr().String()}
	ServeEach(tb, ln, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil || req.Method != http.MethodConnect {
			return
		}
		f.mu.Lock()
		f.targets = append(f.targets, req.Host)
		f.agents = append(f.agents, req.Header.Get("User-Agent"))
		f.mu.Unlock()
		host, port, _ := net.SplitHostPort(req.Host)
		up, err := net.Dial("tcp", net.JoinHostPort(hosts[host], port))
		if err != nil {
			io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
			return
		}
		defer up.Close()
		io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\n")
		go func() { io.Copy(up, br); up.(*net.TCPConn).CloseWrite() }()
		io.Copy(c, up)
	})
	return f
}

// Targets returns the host:port of each CONNECT so far, in order.
func (f *ConnectForwarder) Targets() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.targets)
}

// Agents returns the User-Agent of each CONNECT so far, in order.
func (f *ConnectForwarder) Agents() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.agents)
}
