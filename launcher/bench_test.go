//go:build unix

package launcher

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/audit"
	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/connector/proxytest"
	"github.com/trustlaunch/trustlaunch/internal/phase"
)

// delayRelay forwards TCP connections to target, delivering every chunk
// delay later in each direction: a one-way network delay without netem.
type delayRelay struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

func startDelayRelay(tb testing.TB, target string, delay time.Duration) *delayRelay {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	r := &delayRelay{ln: ln}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			r.mu.Lock()
			r.conns = append(r.conns, in, out)
			r.mu.Unlock()
			r.wg.Add(2)
			go func() { defer r.wg.Done(); delayCopy(out, in, delay) }()
			go func() { defer r.wg.Done(); delayCopy(in, out, delay) }()
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		r.mu.Lock()
		for _, c := range r.conns {
			c.Close()
		}
		r.mu.Unlock()
		r.wg.Wait()
	})
	return r
}

func (r *delayRelay) Addr() string { return r.ln.Addr().String() }

// delayCopy copies src to dst, holding each chunk until delay after it was
// read, in order.
func delayCopy(dst, src net.Conn, delay time.Duration) {
	type chunk struct {
		at   time.Time
		data []byte
	}
	q := make(chan chunk, 1024)
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				q <- chunk{time.Now().Add(delay), buf[:n]}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range q {
		time.Sleep(time.Until(c.at))
		if _, err := dst.Write(c.data); err != nil {
			break
		}
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	for range q {
	}
}

// BenchmarkFirstByte measures the time from the emulator's connect to the
// host's first byte reaching it, with 25 ms of one-way delay between the
// connector and the proxy: "predial" is open's way (the tunnel is dialed
// before the emulator starts), "cold" dials when the emulator connects.
func BenchmarkFirstByte(b *testing.B) {
	host := startHost(b)
	proxy := proxytest.NewConnectProxy()
	b.Cleanup(proxy.Close)
	relay := startDelayRelay(b, proxy.Addr, 25*time.Millisecond)
	for _, predial := range []bool{true, false} {
		name := "cold"
		if predial {
			name = "predial"
		}
		b.Run(name, func(b *testing.B) {
			c, err := connector.New(connector.Config{
				ProxyAddr: relay.Addr(), Transport: connector.TransportConnect, ServerName: "127.0.0.1",
				RootCAs: proxy.RootCAs(), Destination: host, Token: connector.NewToken("bench-token"),
			})
			if err != nil {
				b.Fatal(err)
			}
			ctx := b.Context()
			// The timer runs through the set-up too (so b.Loop ends after a
			// second in all); the figure that counts is the custom metric.
			var total time.Duration
			for b.Loop() {
				var first net.Conn
				if predial {
					if first, err = c.Dial(ctx); err != nil {
						b.Fatal(err)
					}
				}
				ln, err := connector.Listen("", false)
				if err != nil {
					b.Fatal(err)
				}
				sctx, stop := context.WithCancel(ctx)
				done := make(chan struct{})
				go func() { defer close(done); c.ServePreDialed(sctx, ln, first) }()

				t0 := time.Now()
				conn, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				one := make([]byte, 1)
				if _, err := io.ReadFull(conn, one); err != nil {
					b.Fatal(err)
				}
				total += time.Since(t0)

				conn.Close()
				stop()
				<-done
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/first-byte")
		})
	}
}

// BenchmarkLaunchToExec measures a whole launch of a whitelisted origin on
// loopback, from Launch's start to the emulator being started (decision,
// descriptor fetch, profile, pre-dial, listener), and reports each phase
// as the launch's audit record gives it (audit.Timings): what an
// administrator reads in `trustlaunch log --timings`.
func BenchmarkLaunchToExec(b *testing.B) {
	w := newWorld(b, "connect")
	var total time.Duration
	var phases []audit.PhaseTime
	for b.Loop() {
		opts, alog := w.options(b, "fake", strings.NewReader(""), io.Discard)
		var execAt time.Time
		opts.Status = func(e Event) {
			if e.Phase == phase.Emulator && e.State == phase.Done {
				execAt = time.Now()
			}
		}
		start := time.Now()
		res := Launch(b.Context(), opts)
		if res.Err != nil || res.ExitStatus != 7 {
			b.Fatalf("launch: %+v", res)
		}
		total += execAt.Sub(start)
		recs, err := alog.ReadRecent(1)
		if err != nil || len(recs) != 1 {
			b.Fatalf("audit: %v %v", recs, err)
		}
		for i, p := range recs[0].Timings.Phases() {
			if i == len(phases) {
				phases = append(phases, audit.PhaseTime{Name: p.Name})
			}
			phases[i].Took += p.Took
		}
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/launch-to-exec")
	for _, p := range phases {
		if p.Name != "prompt" && p.Name != "policy" && p.Name != "session" { // no prompt or policy here; the session is the fake emulator's
			b.ReportMetric(float64(p.Took.Microseconds())/1000/float64(b.N), "ms/"+p.Name)
		}
	}
}
