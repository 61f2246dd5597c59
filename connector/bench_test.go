package connector

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/connector/proxytest"
	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// Run: go test -run '^$' -bench . -benchtime 2s ./connector/
//
// Everything runs in this process over loopback (proxytest proxy, sink,
// connector), so figures compare transports and changes, not products; the
// Squid and stunnel comparisons live with the real-peer harness.

// BenchmarkThroughput measures source -> Serve -> tunnel -> proxy -> sink.
func BenchmarkThroughput(b *testing.B) {
	const chunk = 256 << 10
	for _, tr := range transports {
		b.Run(string(tr), func(b *testing.B) {
			received := make(chan int64, 1)
			dest := newDestination(b, func(c net.Conn) {
				n, _ := io.Copy(io.Discard, c)
				received <- n
			})
			p := newProxy(b, tr, dest.addr, func(p *proxytest.Proxy) { p.DropOnClose = false })
			cfg := config(p, tr, dest.addr)
			cfg.WebSocketQuiet = 50 * time.Millisecond
			addr := serveB(b, mustNew(b, cfg))
			app, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			defer app.Close()
			buf := make([]byte, chunk)
			_, _ = newPattern(1).Read(buf)
			b.SetBytes(chunk)
			b.ResetTimer()
			for range b.N {
				if _, err := app.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			_ = app.(*net.TCPConn).CloseWrite()
			n := <-received
			b.StopTimer()
			if n != int64(b.N)*chunk {
				b.Fatalf("sink received %d of %d bytes", n, int64(b.N)*chunk)
			}
		})
	}
}

// BenchmarkTunnelSetup measures Dial (TCP, TLS, the transport's request)
// plus Close: "full" with a new Connector each time, "resumed" with one
// Connector whose session cache resumes TLS.
func BenchmarkTunnelSetup(b *testing.B) {
	dest := newDestination(b, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	for _, tr := range transports {
		for _, mode := range []string{"full", "resumed"} {
			b.Run(string(tr)+"/"+mode, func(b *testing.B) {
				p := newProxy(b, tr, dest.addr, nil)
				cfg := config(p, tr, dest.addr)
				c := mustNew(b, cfg)
				b.ResetTimer()
				for range b.N {
					if mode == "full" {
						c = mustNew(b, cfg)
					}
					tun, err := c.Dial(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					tun.Close()
				}
			})
		}
	}
}

// BenchmarkIdleTunnelMemory runs the connector alone in a child process
// (this test binary in "serve" mode), opens idle tunnels through it, and
// reports the growth of the child's resident set per tunnel, between 50
// and 1,050 tunnels. Each reading is taken once the child has settled (a
// garbage collection and runtime/debug.FreeOSMemory, as the real-peer
// benchmark does in its own process): the handshakes' garbage is not held
// by an idle tunnel, and a connector left idle returns it within minutes
// anyway (the runtime's forced collection and scavenger).
func BenchmarkIdleTunnelMemory(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc")
	}
	const base, n = 50, 1050
	for _, tr := range transports {
		b.Run(string(tr), func(b *testing.B) {
			dest := newDestination(b, echo)
			p := newProxy(b, tr, dest.addr, nil)
			for range b.N {
				perTunnel := idleTunnelRSS(b, p, tr, dest.addr, base, n)
				b.ReportMetric(perTunnel/1024, "KiB/tunnel")
			}
		})
	}
}

// idleTunnelRSS starts a child connector for p, opens n idle tunnels, and
// returns the RSS growth per tunnel between base and n tunnels.
func idleTunnelRSS(b *testing.B, p *proxytest.Proxy, tr Transport, dest string, base, n int) float64 {
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	caFile := filepath.Join(testtmp.Dir(b), "ca.pem")
	if err := os.WriteFile(caFile, p.CA.CertPEM(), 0o600); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, self, "-test.run=^$")
	cmd.Env = append(os.Environ(), "TL_CONNECTOR_CHILD=serve", "TL_PROXY="+p.Addr, "TL_TRANSPORT="+string(tr),
		"TL_DEST="+dest, "TL_CA="+caFile, "TL_TOKEN="+testToken)
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	lines := bufio.NewReader(out)
	line, err := lines.ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	settledRSS := func() int64 {
		if _, err := io.WriteString(in, "settle\n"); err != nil {
			b.Fatal(err)
		}
		if l, err := lines.ReadString('\n'); err != nil || l != "settled\n" {
			b.Fatalf("child answered %q, %v", l, err)
		}
		return rss(b, cmd.Process.Pid)
	}
	addr := strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	open := func(k int) {
		for range k {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			buf := []byte{1}
			if _, err := c.Write(buf); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				b.Fatal(err)
			}
			conns = append(conns, c)
		}
	}
	open(base)
	r0 := settledRSS()
	open(n - base)
	r1 := settledRSS()
	return float64(r1-r0) / float64(n-base)
}

// rss returns a process's resident set size in bytes (VmRSS).
func rss(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// childServe is the connector process of idleTunnelRSS.
func childServe() int {
	pem, err := os.ReadFile(os.Getenv("TL_CA"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	roots, err := poolFromPEM(pem)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	c, err := New(Config{ProxyAddr: os.Getenv("TL_PROXY"), Transport: Transport(os.Getenv("TL_TRANSPORT")),
		Destination: os.Getenv("TL_DEST"), RootCAs: roots, Token: NewToken(os.Getenv("TL_TOKEN"))})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ln, err := Listen("", false)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	go func() {
		// "settle" on stdin: collect garbage and return freed memory to
		// the system before the parent reads the resident set.
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if sc.Text() == "settle" {
				runtime.GC()
				debug.FreeOSMemory()
				fmt.Println("settled")
			}
		}
	}()
	// The parent kills this process when done.
	if err := c.Serve(context.Background(), ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// serveB is serve for benchmarks.
func serveB(b *testing.B, c *Connector) string {
	ln, err := Listen("", false)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx, ln) }()
	b.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

func poolFromPEM(pem []byte) (*x509.CertPool, error) {
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in PEM")
	}
	return p, nil
}

// BenchmarkHandshakeP256Only measures a full TLS handshake with a proxy
// that supports only P-256: Go's default client pays a HelloRetryRequest
// (and an unused ML-KEM/X25519 key generation), the connector's curve set
// does not.
func BenchmarkHandshakeP256Only(b *testing.B) {
	p := newProxy(b, TransportConnect, "", func(p *proxytest.Proxy) { p.TLS.CurvePreferences = []tls.CurveID{tls.CurveP256} })
	for _, tc := range []struct {
		name   string
		curves []tls.CurveID
	}{{"go-default", nil}, {"connector", curvePreferences()}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := p.ClientTLSConfig()
			cfg.CurvePreferences = tc.curves
			for range b.N {
				c, err := tls.Dial("tcp", p.Addr, cfg)
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
			hs := p.Handshakes()
			b.ReportMetric(boolMetric(hs[len(hs)-1].HelloRetryRequest), "HRR/op")
		})
	}
}

func boolMetric(v bool) float64 {
	if v {
		return 1
	}
	return 0
}
