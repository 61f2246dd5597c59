package connector

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// TestServePreDialed checks that the first local connection gets the tunnel
// dialed ahead, with a server-first host's greeting already waiting in it,
// that later connections get tunnels of their own, and that OnTunnelDone
// sees every tunnel's byte counts.
func TestServePreDialed(t *testing.T) {
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			var accepted atomic.Int32
			dest := newDestination(t, func(c net.Conn) {
				accepted.Add(1)
				c.Write([]byte("HELLO\n")) // the host speaks first, like TN3270
				echo(c)
			})
			p := newProxy(t, tr, dest.addr, nil)
			done := make(chan [2]int64, 4)
			cfg := config(p, tr, dest.addr)
			cfg.OnTunnelDone = func(sent, received int64, err error) { done <- [2]int64{sent, received} }
			// Each WebSocket connection ends after the quiet period that
			// follows its half-close: the default 2 s made this test wait 4 s.
			cfg.WebSocketQuiet = 200 * time.Millisecond
			c := mustNew(t, cfg)

			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			first, err := c.Dial(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st, ok := ProxyTLS(first); !ok || st.Version < tls.VersionTLS12 || len(st.VerifiedChains) == 0 {
				t.Errorf("ProxyTLS = %+v, %v", st.Version, ok)
			}
			if len(p.Tokens()) != 1 {
				t.Fatalf("proxy saw %d tunnels before any local connection, want 1", len(p.Tokens()))
			}
			ln, err := Listen("", false)
			if err != nil {
				t.Fatal(err)
			}
			sctx, stop := context.WithCancel(ctx)
			served := make(chan error, 1)
			go func() { served <- c.ServePreDialed(sctx, ln, first) }()

			for i, msg := range []string{"one", "two"} {
				conn, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				greet := make([]byte, 6)
				if _, err := io.ReadFull(conn, greet); err != nil || string(greet) != "HELLO\n" {
					t.Fatalf("connection %d greeting %q, %v", i, greet, err)
				}
				conn.Write([]byte(msg))
				conn.(*net.TCPConn).CloseWrite()
				back, err := io.ReadAll(conn)
				if err != nil || string(back) != msg {
					t.Fatalf("connection %d echo %q, %v", i, back, err)
				}
				conn.Close()
				select {
				case n := <-done:
					if n[0] != int64(len(msg)) || n[1] != int64(6+len(msg)) {
						t.Errorf("connection %d: OnTunnelDone(%d, %d)", i, n[0], n[1])
					}
				case <-ctx.Done():
					t.Fatal("OnTunnelDone not called")
				}
			}
			if got := len(p.Tokens()); got != 2 {
				t.Errorf("proxy saw %d tunnels for 2 connections with one pre-dialed, want 2", got)
			}
			stop()
			if err := <-served; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestServePreDialedUnused checks that a pre-dialed tunnel nobody used is
// closed when Serve ends.
func TestServePreDialedUnused(t *testing.T) {
	closed := make(chan struct{})
	dest := newDestination(t, func(c net.Conn) {
		io.Copy(io.Discard, c)
		close(closed)
	})
	p := newProxy(t, TransportConnect, dest.addr, nil)
	c := mustNew(t, config(p, TransportConnect, dest.addr))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	first, err := c.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen("", false)
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	stop()
	if err := c.ServePreDialed(sctx, ln, first); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-ctx.Done():
		t.Fatal("the unused pre-dialed tunnel was not closed")
	}
}
