//go:build linux

package peers_test

// BenchmarkTunnel: the connector against proxytunnel, the peer of the same
// shape (BENCHMARKS.md "Against proxytunnel, the peer of the same shape").
// Run it through scripts/bench-proxytunnel.sh, which takes the
// implementations in turns, one process each, and reports medians of
// per-round ratios.

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/internal/peers"
)

func init() {
	// The connector-serve tunnel process of BenchmarkTunnel: this test
	// binary re-executed, so its CPU time is its own.
	if os.Getenv("TL_PEERS_CHILD") == "bench-serve" {
		os.Exit(childBenchServe())
	}
}

// Squid held to one TLS 1.2 suite (TL_BENCH_SQUID=tls12). The issue names
// ECDHE-RSA-AES128-GCM-SHA256; the harness's certificates are ECDSA P-256,
// so the suite is its ECDSA twin: the same key exchange and the same
// AES-128-GCM record protection, only the handshake's signature differs.
const squidTLS12 = "tls-min-version=1.2 tls-options=NO_TLSv1_3 cipher=ECDHE-ECDSA-AES128-GCM-SHA256"

// benchEnv returns an integer setting of BenchmarkTunnel from the
// environment, or def.
func benchEnv(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// BenchmarkTunnel measures one tunnel client, running in a child process in
// a cgroup of its own, through a real Squid:
//
//   - up-MB/s, down-MB/s: bulk, TL_BENCH_MIB MiB (default 256) one way,
//     timed from the first byte the destination sent (the tunnel is up) to
//     the last byte read;
//   - up-cpus/GiB, down-cpus/GiB: CPU-seconds the tunnel's processes used
//     (cgroup v2 cpu.stat) over the same interval, per GiB relayed;
//   - rtt-p50-us, rtt-p99-us: a 1-byte echo on an open tunnel,
//     TL_BENCH_RTT round trips (default 2000) after 100 of warm-up;
//   - idle-rtt-p50-us, idle-rtt-p99-us: the same with 200 more tunnels open
//     and idle through the same client.
//
// Implementations: proxytunnel (Debian's, C and OpenSSL, one process per
// tunnel), trustlaunch-connect (`trustlaunch connect`, the binary named by
// TL_TRUSTLAUNCH, else built), trustlaunch-connect-b (the binary named by
// TL_TRUSTLAUNCH_B, for A/B runs), connector-serve (connector.Serve in this
// test binary re-executed, without the CLI), and direct (the destinations
// without a tunnel: the floor of the round trip). The negotiated TLS
// version and suite, as Squid logged them, are printed after each run.
// TL_BENCH_SQUID=tls12 holds Squid to one TLS 1.2 suite.
// TL_BENCH_PROFILE=DIR makes connector-serve write a CPU profile and an
// execution trace (with the scheduler's events) of itself there.
func BenchmarkTunnel(b *testing.B) {
	mib := benchEnv(b, "TL_BENCH_MIB", 256)
	rtts := benchEnv(b, "TL_BENCH_RTT", 2000)
	// A log of the TLS version and suite of each connection Squid accepted,
	// in a directory the "proxy" user can write.
	tlsDir, err := os.MkdirTemp("", "tl-bench-tls-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(tlsDir) })
	if err := os.Chmod(tlsDir, 0o777); err != nil {
		b.Fatal(err)
	}
	tlsLog := filepath.Join(tlsDir, "tls.log")
	opts := peers.SquidOptions{ExtraConfig: []string{
		"logformat tlsinfo %ssl::>negotiated_version %ssl::>negotiated_cipher",
		"access_log stdio:" + tlsLog + " tlsinfo",
	}}
	switch v := os.Getenv("TL_BENCH_SQUID"); v {
	case "":
	case "tls12":
		opts.PortOptions = squidTLS12
	default:
		b.Fatalf("TL_BENCH_SQUID=%q: want tls12 or nothing", v)
	}
	sq := peers.StartSquid(b, opts)
	echo := peers.StartEcho(b)
	up := startBenchDest(b, false)
	down := startBenchDest(b, true)
	size := int64(mib) << 20

	type impl struct {
		name  string
		start func(b *testing.B, dest string, cpu *peers.CPUGroup) string // the local address
	}
	trustlaunch := func(env string) func(b *testing.B, dest string, cpu *peers.CPUGroup) string {
		return func(b *testing.B, dest string, cpu *peers.CPUGroup) string {
			bin := os.Getenv(env)
			if bin == "" && env == "TL_TRUSTLAUNCH" {
				bin = peers.BuildTrustlaunch(b)
			} else if bin == "" {
				b.Fatalf("%s: set it to the trustlaunch binary of the other side of the A/B run", env)
			}
			cmd := exec.Command(bin, "connect", "--proxy", sq.Addr, "--transport", "connect", "--to", dest,
				"--ca", sq.Cert.CA.CertFile, "--token-file", peers.WriteTokenFile(b, sq.Token(b, dest)))
			return peers.StartListening(b, "trustlaunch-connect", cmd, cpu).Addr
		}
	}
	impls := []impl{
		{"direct", nil},
		{"proxytunnel", func(b *testing.B, dest string, cpu *peers.CPUGroup) string {
			return peers.StartProxytunnel(b, peers.ProxytunnelOptions{
				Proxy: sq.Addr, Dest: dest, CAFile: sq.Cert.CA.CertFile, Token: sq.Token(b, dest), CPU: cpu,
			}).Addr
		}},
		{"trustlaunch-connect", trustlaunch("TL_TRUSTLAUNCH")},
		{"trustlaunch-connect-b", trustlaunch("TL_TRUSTLAUNCH_B")},
		{"connector-serve", func(b *testing.B, dest string, cpu *peers.CPUGroup) string {
			self, err := os.Executable()
			if err != nil {
				b.Fatal(err)
			}
			cmd := exec.Command(self, "-test.run=^$")
			cmd.Env = []string{"TL_PEERS_CHILD=bench-serve", "TL_PROXY=" + sq.Addr, "TL_DEST=" + dest,
				"TL_CA=" + sq.Cert.CA.CertFile, "TL_TOKEN_FILE=" + peers.WriteTokenFile(b, sq.Token(b, dest)),
				"TL_BENCH_PROFILE=" + os.Getenv("TL_BENCH_PROFILE")}
			return peers.StartListening(b, "connector-serve", cmd, cpu).Addr
		}},
	}
	for _, im := range impls {
		b.Run("impl="+im.name, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(b.Context(), 10*time.Minute)
			defer cancel()
			// One tunnel client per destination, each in its own cgroup,
			// so each figure counts one kind of traffic.
			addr := func(dest string) (string, *peers.CPUGroup) {
				if im.start == nil {
					return dest, nil
				}
				cpu := peers.NewCPUGroup(b, im.name)
				return im.start(b, dest, cpu), cpu
			}
			for range b.N {
				if im.start != nil {
					for _, dir := range []struct {
						name string
						dest *benchDest
					}{{"up", up}, {"down", down}} {
						a, cpu := addr(dir.dest.addr)
						mbs, cpus := bulkRun(b, ctx, a, cpu, dir.dest, size)
						b.ReportMetric(mbs, dir.name+"-MB/s")
						b.ReportMetric(cpus, dir.name+"-cpus/GiB")
					}
				}
				a, _ := addr(echo.Addr)
				open := dialTCP(a)
				conn, err := open(ctx)
				if err != nil {
					b.Fatal(err)
				}
				defer conn.Close()
				p50, p99 := rttRun(b, conn, rtts)
				b.ReportMetric(p50, "rtt-p50-us")
				b.ReportMetric(p99, "rtt-p99-us")
				idle := make([]net.Conn, 200)
				for i := range idle {
					c, err := open(ctx)
					if err != nil {
						b.Fatalf("idle tunnel %d: %v", i, err)
					}
					defer c.Close()
					c.SetDeadline(time.Now().Add(time.Minute))
					if err := echoRoundTrip(c, []byte{byte(i)}); err != nil {
						b.Fatalf("idle tunnel %d: %v", i, err)
					}
					idle[i] = c
				}
				p50, p99 = rttRun(b, conn, rtts)
				b.ReportMetric(p50, "idle-rtt-p50-us")
				b.ReportMetric(p99, "idle-rtt-p99-us")
			}
			if im.start != nil {
				// The suites of this run's connections (each run has
				// its own Squid, so all of them are this client's).
				data, _ := os.ReadFile(tlsLog)
				seen := map[string]int{}
				for line := range strings.Lines(string(data)) {
					// "- -": the harness's readiness dial, no TLS.
					if l := strings.TrimSpace(line); l != "- -" {
						seen[l]++
					}
				}
				b.Logf("tls %s: %v", im.name, seen)
			}
		})
	}
}

// bulkRun relays size bytes one way through the tunnel client at addr, to
// or from dest, and returns MB/s and the client's CPU-seconds per GiB over
// the transfer.
func bulkRun(b *testing.B, ctx context.Context, addr string, cpu *peers.CPUGroup, dest *benchDest, size int64) (mbs, cpusPerGiB float64) {
	b.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	dest.size <- size
	// The destination's first byte: the tunnel is up, start counting.
	var one [1]byte
	if _, err := io.ReadFull(conn, one[:]); err != nil {
		b.Fatalf("tunnel: %v", err)
	}
	cpu0, err := cpu.Usage()
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	if dest.send {
		n, err := io.CopyN(io.Discard, conn, size)
		if err != nil {
			b.Fatalf("read %d of %d bytes: %v", n, size, err)
		}
	} else {
		block := make([]byte, 1<<20)
		for sent := int64(0); sent < size; sent += int64(len(block)) {
			if _, err := conn.Write(block); err != nil {
				b.Fatalf("write: %v", err)
			}
		}
		// Squid drops a tunnel's data in flight on the first EOF: close
		// only once the destination has everything.
		select {
		case err := <-dest.done:
			if err != nil {
				b.Fatal(err)
			}
		case <-ctx.Done():
			b.Fatal(ctx.Err())
		}
	}
	elapsed := time.Since(t0)
	cpu1, err := cpu.Usage()
	if err != nil {
		b.Fatal(err)
	}
	if dest.send {
		conn.Close()
		if err := <-dest.done; err != nil {
			b.Fatal(err)
		}
	}
	return float64(size) / 1e6 / elapsed.Seconds(), (cpu1 - cpu0).Seconds() / (float64(size) / (1 << 30))
}

// rttRun times n 1-byte round trips on conn, after 100 of warm-up, and
// returns their p50 and p99 in microseconds.
func rttRun(b *testing.B, conn net.Conn, n int) (p50, p99 float64) {
	b.Helper()
	conn.SetDeadline(time.Now().Add(5 * time.Minute))
	defer conn.SetDeadline(time.Time{})
	var buf [1]byte
	d := make([]time.Duration, 0, n)
	for i := range 100 + n {
		t0 := time.Now()
		if _, err := conn.Write([]byte{byte(i)}); err != nil {
			b.Fatalf("round trip %d: %v", i, err)
		}
		if _, err := io.ReadFull(conn, buf[:]); err != nil {
			b.Fatalf("round trip %d: %v", i, err)
		}
		if i >= 100 {
			d = append(d, time.Since(t0))
		}
	}
	slices.Sort(d)
	us := func(q float64) float64 { return float64(d[int(q*float64(len(d)-1))].Nanoseconds()) / 1e3 }
	return us(0.50), us(0.99)
}

// benchDest is the destination of bulkRun: for each connection it takes
// the size from the size channel, writes one byte (the tunnel is up), then
// sends size bytes (send) or reads size bytes, and reports on done.
type benchDest struct {
	addr string
	send bool
	size chan int64
	done chan error
}

func startBenchDest(b *testing.B, send bool) *benchDest {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	d := &benchDest{addr: ln.Addr().String(), send: send, size: make(chan int64, 1), done: make(chan error, 1)}
	b.Cleanup(func() { ln.Close() })
	go func() {
		block := make([]byte, 1<<20)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			size := <-d.size
			_, err = c.Write([]byte{'!'})
			if err == nil && send {
				for sent := int64(0); sent < size && err == nil; sent += int64(len(block)) {
					_, err = c.Write(block)
				}
				if err == nil {
					// Wait for the client's close: Squid drops what is in
					// flight when a tunnel closes.
					_, err = io.Copy(io.Discard, c)
				}
			} else if err == nil {
				var n int64
				n, err = io.CopyN(io.Discard, c, size)
				if err != nil {
					err = fmt.Errorf("destination read %d of %d bytes: %w", n, size, err)
				}
			}
			c.Close()
			d.done <- err
		}
	}()
	return d
}

// childBenchServe is the connector-serve tunnel process: connector.Serve
// with the configuration from the environment, until SIGTERM. With
// TL_BENCH_PROFILE set it writes a CPU profile and an execution trace of
// itself into that directory.
func childBenchServe() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	pem, err := os.ReadFile(os.Getenv("TL_CA"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-serve:", err)
		return 1
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	tok, err := os.ReadFile(os.Getenv("TL_TOKEN_FILE"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-serve:", err)
		return 1
	}
	c, err := connector.New(connector.Config{
		ProxyAddr:   os.Getenv("TL_PROXY"),
		Transport:   connector.TransportConnect,
		RootCAs:     roots,
		Destination: os.Getenv("TL_DEST"),
		Token:       connector.NewToken(string(tok)),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-serve:", err)
		return 1
	}
	ln, err := connector.Listen("", false)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-serve:", err)
		return 1
	}
	if dir := os.Getenv("TL_BENCH_PROFILE"); dir != "" {
		name := fmt.Sprintf("%s/serve-%d", dir, os.Getpid())
		pf, err1 := os.Create(name + ".cpu.pprof")
		tf, err2 := os.Create(name + ".trace")
		if err1 != nil || err2 != nil {
			fmt.Fprintln(os.Stderr, "bench-serve: profile:", err1, err2)
			return 1
		}
		defer pf.Close()
		defer tf.Close()
		pprof.StartCPUProfile(pf)
		defer pprof.StopCPUProfile()
		trace.Start(tf)
		defer trace.Stop()
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	if err := c.Serve(ctx, ln); err != nil {
		fmt.Fprintln(os.Stderr, "bench-serve:", err)
		return 1
	}
	return 0
}
