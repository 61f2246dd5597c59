package connector

import (
	"context"
	"io"
	"net"
	"os"
	"testing"
)

// BenchmarkLocalTunnelSetup measures what an emulator waits for: connect to
// Serve's local end, the owner check, a new tunnel (TCP, TLS, CONNECT), and
// one byte echoed back by the destination. "same-user" is the check before
// issue 10; "emulator-only" adds the process admission with this process as
// the root (the holder search reads its descriptors).
func BenchmarkLocalTunnelSetup(b *testing.B) {
	dest := newDestination(b, echo)
	for _, mode := range []string{"same-user", "emulator-only"} {
		b.Run(mode, func(b *testing.B) {
			p := newProxy(b, TransportConnect, "", nil)
			cfg := config(p, TransportConnect, dest.addr)
			if mode == "emulator-only" {
				self := os.Getpid()
				cfg.ProcessRoots = func() []int { return []int{self} }
				cfg.AdmitProcess = func(int) error { return nil }
			}
			c := mustNew(b, cfg)
			ln, err := Listen("", false)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = c.Serve(ctx, ln) }()
			defer func() { cancel(); <-done }()
			buf := make([]byte, 1)
			b.ResetTimer()
			for range b.N {
				conn, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := conn.Write([]byte("x")); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(conn, buf); err != nil {
					b.Fatal(err)
				}
				conn.Close()
			}
		})
	}
}
