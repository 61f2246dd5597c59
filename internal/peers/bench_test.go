//go:build linux

package peers_test

// Benchmarks of the connector (BENCHMARKS.md "Connector"), measured side by
// side against real peers. Run them (without -race) as BENCHMARKS.md gives,
// e.g.
//
//	go test -run '^$' -bench . -count 6 ./internal/peers/ | tee bench.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col /impl bench.txt
//
// Sub-benchmarks are named impl=..., so benchstat -col /impl puts the
// implementations side by side with their ratios.

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/connector/proxytest"
	"github.com/trustlaunch/trustlaunch/internal/peers"
)

type opener func(ctx context.Context) (net.Conn, error)

func dialTCP(addr string) opener {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
}

// BenchmarkBulk measures one-way bulk throughput, source → tunnel → sink,
// counting until the sink has read the last byte:
//
//   - connector-serve: local TCP → connector.Serve → Squid → sink, the
//     product's path (an emulator connects to the local end);
//   - connector-dial: the net.Conn of connector.Dial → Squid → sink;
//   - bare-go: the bare Go TLS + CONNECT client → the same Squid → sink;
//   - stunnel-pair: local TCP → stunnel client → stunnel server → sink,
//     the classic way to wrap a plaintext protocol in TLS;
//   - connector-serve-proxytest, bare-go-proxytest: the same through
//     connector/proxytest's in-process CONNECT proxy instead of Squid.
//
// Targets: connector-serve ≥ 90% of bare-go (both through Squid);
// connector-serve-proxytest ≥ 1.25× stunnel-pair (a client and proxy of
// ours against stunnel's client and server). scripts/bench-peers.sh runs
// each implementation in its own process, in turns, and reports the
// median of per-round ratios: run it rather than this benchmark alone when
// comparing.
func BenchmarkBulk(b *testing.B) {
	sq := peers.StartSquid(b, peers.SquidOptions{})
	sink := peers.StartSink(b, peers.SinkOptions{NoHash: true})
	st := peers.StartStunnelPair(b, peers.StunnelOptions{Dest: sink.Addr, Cert: sq.Cert})
	c := squidConnector(b, sq, sink.Addr)
	bc := bare(sq, sq.Token(b, sink.Addr))
	pt := proxytest.NewConnectProxy()
	b.Cleanup(pt.Close)
	ptc := newConnectorPool(b, connector.TransportConnect, pt.Addr, pt.RootCAs(), sink.Addr, "bench-token")
	ptb := &peers.BareClient{Proxy: pt.Addr, TLS: pt.ClientTLSConfig(), Token: "bench-token"}
	impls := []struct {
		name string
		open opener
	}{
		{"connector-serve", dialTCP(serve(b, c))},
		{"connector-dial", c.Dial},
		{"bare-go", func(ctx context.Context) (net.Conn, error) { return bc.Dial(ctx, sink.Addr) }},
		{"stunnel-pair", dialTCP(st.Addr)},
		{"connector-serve-proxytest", dialTCP(serve(b, ptc))},
		{"bare-go-proxytest", func(ctx context.Context) (net.Conn, error) { return ptb.Dial(ctx, sink.Addr) }},
	}
	block, _ := io.ReadAll(peers.Pattern(1, 1<<20))
	for _, impl := range impls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
			defer cancel()
			conn, err := impl.open(ctx)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			b.SetBytes(int64(len(block)))
			b.ResetTimer()
			for range b.N {
				if _, err := conn.Write(block); err != nil {
					b.Fatal(err)
				}
			}
			// The sink reports when it has read everything and the EOF.
			conn.Close()
			res, err := sink.Next(ctx)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if want := int64(b.N) * int64(len(block)); res.Received != want || res.Err != nil {
				b.Fatalf("sink received %d bytes, want %d (err %v)", res.Received, want, res.Err)
			}
		})
	}
}

// BenchmarkSetup measures the time to open a tunnel (TCP, TLS, CONNECT, the
// token check by Squid's helper, Squid's connection to the destination and
// its 200) and close it. The connector keeps a TLS session cache per trust
// configuration; bare-go has none, as the simplest client would, and
// bare-go-resume adds one, to separate resumption from the rest.
//
// Target: connector ≤ 1.1× bare-go.
func BenchmarkSetup(b *testing.B) {
	sq := peers.StartSquid(b, peers.SquidOptions{})
	echo := peers.StartEcho(b)
	c := squidConnector(b, sq, echo.Addr)
	token := sq.Token(b, echo.Addr)
	resume := bare(sq, token)
	resume.TLS.ClientSessionCache = tls.NewLRUClientSessionCache(16)
	impls := []struct {
		name string
		open opener
	}{
		{"connector", c.Dial},
		{"bare-go", func(ctx context.Context) (net.Conn, error) { return bare(sq, token).Dial(ctx, echo.Addr) }},
		{"bare-go-resume", func(ctx context.Context) (net.Conn, error) { return resume.Dial(ctx, echo.Addr) }},
	}
	for _, impl := range impls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
			defer cancel()
			for b.Loop() {
				conn, err := impl.open(ctx)
				if err != nil {
					b.Fatal(err)
				}
				conn.Close()
			}
		})
	}
}

// idleTunnels is how many tunnels BenchmarkIdleTunnelRSS holds open.
const idleTunnels = 1000

// BenchmarkIdleTunnelRSS measures how much this process's resident memory
// grows per idle tunnel with 1,000 tunnels open through Squid, each used for
// one echo round trip and then left idle.
//
// Squid, not proxytest, and the echo destination in a child process
// (echod): the RSS delta of this process must contain the tunnel's client
// side only. An in-process proxy or destination would add its own two
// connections, goroutines and buffers per tunnel to the figure.
//
//   - connector-serve: 1,000 local connections to connector.Serve, each
//     relayed through its own tunnel: the product's case. The figure also
//     holds the local (emulator-side) end of each connection;
//   - loopback-pairs: that local end alone, 1,000 TCP connections to a
//     listener in this process, to subtract;
//   - connector-dial, bare-go: 1,000 net.Conns from connector.Dial and from
//     the bare client, no relay.
//
// Target: ≤ 64 KiB per idle tunnel. Reported as KiB/tunnel; ns/op is the
// time to open the 1,000 tunnels and means nothing here.
func BenchmarkIdleTunnelRSS(b *testing.B) {
	sq := peers.StartSquid(b, peers.SquidOptions{})
	echo := peers.StartEchoProcess(b)
	c := squidConnector(b, sq, echo.Addr)
	bc := bare(sq, sq.Token(b, echo.Addr))
	pairs, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var accepted sync.Map
	go func() {
		for {
			conn, err := pairs.Accept()
			if err != nil {
				return
			}
			accepted.Store(conn, nil)
		}
	}()
	b.Cleanup(func() {
		pairs.Close()
		accepted.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
	})

	impls := []struct {
		name      string
		open      opener
		roundTrip bool
	}{
		{"loopback-pairs", dialTCP(pairs.Addr().String()), false},
		{"connector-serve", dialTCP(serve(b, c)), true},
		{"connector-dial", c.Dial, true},
		{"bare-go", func(ctx context.Context) (net.Conn, error) { return bc.Dial(ctx, echo.Addr) }, true},
	}
	for _, impl := range impls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
			defer cancel()
			var perTunnel float64
			for range b.N {
				b.StopTimer()
				goroutines := runtime.NumGoroutine()
				before := settledRSS(b)
				b.StartTimer()
				conns := openIdle(b, ctx, impl.open, impl.roundTrip)
				b.StopTimer()
				perTunnel += float64(settledRSS(b)-before) / idleTunnels / 1024
				for _, conn := range conns {
					conn.Close()
				}
				if impl.name == "loopback-pairs" {
					accepted.Range(func(k, _ any) bool { k.(net.Conn).Close(); accepted.Delete(k); return true })
				}
				// Relays end asynchronously; the next reading must not
				// count this round's teardown.
				waitGoroutines(b, ctx, goroutines)
				b.StartTimer()
			}
			b.ReportMetric(perTunnel/float64(b.N), "KiB/tunnel")
		})
	}
}

// openIdle opens idleTunnels connections, 16 at a time, each with one echo
// round trip when roundTrip is set.
func openIdle(b *testing.B, ctx context.Context, open opener, roundTrip bool) []net.Conn {
	b.Helper()
	conns := make([]net.Conn, idleTunnels)
	var wg sync.WaitGroup
	errs := make(chan error, idleTunnels)
	sem := make(chan struct{}, 16)
	for i := range conns {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			conn, err := open(ctx)
			if err != nil {
				errs <- err
				return
			}
			conns[i] = conn
			if roundTrip {
				conn.SetDeadline(time.Now().Add(time.Minute))
				if err := echoRoundTrip(conn, []byte{byte(i)}); err != nil {
					errs <- fmt.Errorf("tunnel %d: %w", i, err)
				}
				conn.SetDeadline(time.Time{})
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		for _, conn := range conns {
			if conn != nil {
				conn.Close()
			}
		}
		b.Fatal(err)
	}
	return conns
}

// waitGoroutines waits until no more than n goroutines run.
func waitGoroutines(b *testing.B, ctx context.Context, n int) {
	b.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for runtime.NumGoroutine() > n {
		select {
		case <-tick.C:
		case <-ctx.Done():
			b.Fatalf("%d goroutines still running, want at most %d", runtime.NumGoroutine(), n)
		}
	}
}

// settledRSS returns VmRSS of this process in bytes after a garbage
// collection that returns freed memory to the OS, so that the difference of
// two readings is memory still in use.
func settledRSS(b *testing.B) int64 {
	b.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}
