//go:build linux

package connector

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/testuser"
)

// Refusals cannot flood: another local user loops connect/close on the local
// end (BENCHMARKS.md "Refusals under a connect/close flood"). These tests and
// BenchmarkSetupUnderFlood run the flood from a real second user (created
// with useradd, removed afterwards): this test binary, copied where that user
// can run it, in "flood" mode.
//
// Run the benchmark: go test -run '^$' -bench SetupUnderFlood -benchtime 400x -count 5 ./connector/

func init() {
	// The flooding child: started by startFlood as the other user. It runs
	// before TestMain, so helpers_test.go needs no case for it.
	if os.Getenv("TL_CONNECTOR_CHILD") == "flood" {
		os.Exit(childFlood(os.Getenv("TL_FLOOD_ADDR")))
	}
}

// floodWorkers is how many goroutines of the child connect and close at
// once: enough to keep a CPU busy with the flood on a small machine.
const floodWorkers = 4

// childFlood connects to addr and closes at once, from floodWorkers
// goroutines, until its stdin ends; then it prints how many connections it
// opened. It exits 4 if a connection was ever answered with data (relayed).
func childFlood(addr string) int {
	var n, relayed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range floodWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					continue
				}
				n.Add(1)
				if n.Load()%64 == 0 {
					// Now and then wait for the answer, as a client that
					// wants the tunnel would: a relayed one gets bytes.
					_, _ = c.Write([]byte{1})
					_ = c.SetReadDeadline(time.Now().Add(time.Second))
					if k, _ := c.Read(make([]byte, 1)); k > 0 {
						relayed.Add(1)
					}
				}
				c.Close()
			}
		}()
	}
	fmt.Println("flooding")
	_, _ = io.Copy(io.Discard, os.Stdin)
	close(stop)
	wg.Wait()
	fmt.Println(n.Load())
	if relayed.Load() > 0 {
		return 4
	}
	return 0
}

// binaryForOthers copies this test binary where any user can run it.
func binaryForOthers(t testing.TB) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "connector-flood-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "connector.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// flood is a running flooding child.
type flood struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// startFlood starts the flooding child as u against addr and returns once
// it floods. stop ends it and returns how many connections it opened.
func startFlood(t testing.TB, ctx context.Context, bin string, u testuser.User, addr string) *flood {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, "-test.run=^$")
	cmd.Env = []string{"TL_CONNECTOR_CHILD=flood", "TL_FLOOD_ADDR=" + addr}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: u.Credential()}
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("flood as %s: %v", u.Name, err)
	}
	f := &flood{cmd: cmd, stdin: in, out: bufio.NewReader(out)}
	t.Cleanup(func() {
		if f.cmd.ProcessState == nil {
			f.cmd.Process.Kill()
			_ = f.cmd.Wait()
		}
	})
	if l, err := f.out.ReadString('\n'); err != nil || l != "flooding\n" {
		t.Fatalf("flood child said %q, %v", l, err)
	}
	return f
}

func (f *flood) stop(t testing.TB) int64 {
	t.Helper()
	f.stdin.Close()
	l, rerr := f.out.ReadString('\n')
	if err := f.cmd.Wait(); err != nil {
		t.Fatalf("flood child: %v (exit 4: a connection of the other user was relayed)", err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(l), 10, 64)
	if err != nil {
		t.Fatalf("flood child's count %q: %v, %v", l, err, rerr)
	}
	return n
}

// setupTime opens one legitimate connection to the local end and returns
// the time from connect to the first byte back through the tunnel (the
// destination echoes).
func setupTime(t testing.TB, addr string) time.Duration {
	t.Helper()
	start := time.Now()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := []byte{'x'}
	if _, err := c.Write(buf); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("legitimate connection: no byte back through the tunnel: %v", err)
	}
	return time.Since(start)
}

// quantile returns the q quantile (0..1) of ds, nearest rank.
func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// floodServer is a connector serving on loopback for the flood tests.
type floodServer struct {
	addr string
	logs *logSink
	stop func() // ends Serve and waits for it
}

func newFloodServer(t testing.TB, configure func(*Config)) *floodServer {
	t.Helper()
	dest := newDestination(t, echo)
	p := newProxy(t, TransportConnect, "", nil)
	logs := newLogSink()
	cfg := config(p, TransportConnect, dest.addr)
	cfg.Logf = logs.Logf
	if configure != nil {
		configure(&cfg)
	}
	c := mustNew(t, cfg)
	ln, err := Listen("", false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx, ln) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	t.Cleanup(func() {
		if t.Failed() {
			logs.mu.Lock()
			defer logs.mu.Unlock()
			t.Logf("%d log lines; the last ones:\n%s", len(logs.lines), strings.Join(logs.lines[max(0, len(logs.lines)-15):], "\n"))
		}
	})
	return &floodServer{addr: ln.Addr().String(), logs: logs, stop: stop}
}

// TestRefusalFloodLogLines: under a flood of connections from another user,
// the log (the terminal the emulator draws on, during open) gets at most
// one line per source in the interval (10 s by default, and the flood
// lasts less), the legitimate connection is still relayed, and when Serve
// returns the count of the refusals is written, accounting for no more
// connections than the flood opened.
func TestRefusalFloodLogLines(t *testing.T) {
	u := testuser.New(t, "tlflood")
	bin := binaryForOthers(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	s := newFloodServer(t, nil)
	f := startFlood(t, ctx, bin, u, s.addr)
	s.logs.waitLog(t, ctx, "refused local connection")
	for range 20 {
		setupTime(t, s.addr)
	}
	// Let the flood run a while longer; the timer bounds it, nothing polls.
	select {
	case <-time.After(2 * time.Second):
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	opened := f.stop(t)
	s.logs.mu.Lock()
	during := slices.Clone(s.logs.lines)
	s.logs.mu.Unlock()
	s.stop()
	s.logs.mu.Lock()
	after := slices.Clone(s.logs.lines[len(during):])
	s.logs.mu.Unlock()

	perSource := map[string]int{}
	var refusalsDuring int
	for _, l := range during {
		if strings.HasPrefix(l, "refused ") {
			refusalsDuring++
			perSource[refusalSourceOf(l)]++
		}
	}
	for src, n := range perSource {
		if n > 1 {
			t.Errorf("%d refusal lines from %s while serving, want at most 1 per 10 s (%d connections flooded)", n, src, opened)
		}
	}
	if refusalsDuring == 0 {
		t.Errorf("no refusal line while serving")
	}
	var counted int64 = int64(refusalsDuring)
	for _, l := range after {
		var n int64
		var rest string
		if _, err := fmt.Sscanf(l, "refused %d more local connections from %s", &n, &rest); err == nil {
			counted += n
		}
	}
	t.Logf("flood: %d connections opened by %s; %d refusal lines while serving, %d at shutdown, %d refusals counted", opened, u.Name, refusalsDuring, len(after), counted)
	if counted > opened || counted < 2 {
		t.Errorf("the lines count %d refusals; the flood opened %d connections", counted, opened)
	}
	if strings.Contains(s.logs.all(), testToken) {
		t.Error("the token is in the log")
	}
}

// refusalSourceOf returns the source a refusal line names: the owner in a
// first line, the source in a count line.
func refusalSourceOf(l string) string {
	if i := strings.Index(l, " local connections from "); i >= 0 {
		rest := l[i+len(" local connections from "):]
		if j := strings.Index(rest, " in the last "); j >= 0 {
			return rest[:j]
		}
	}
	if i := strings.Index(l, "connection opened by "); i >= 0 {
		rest := l[i+len("connection opened by "):]
		if j := strings.Index(rest, ","); j >= 0 {
			return rest[:j]
		}
	}
	return "other: " + l
}

// floodRound measures n legitimate setups without a flood, then n with one,
// and returns both sets.
func floodRound(t testing.TB, ctx context.Context, bin string, u testuser.User, addr string, n int) (quiet, flooded []time.Duration) {
	for range n {
		quiet = append(quiet, setupTime(t, addr))
	}
	f := startFlood(t, ctx, bin, u, addr)
	for range n {
		flooded = append(flooded, setupTime(t, addr))
	}
	f.stop(t)
	return quiet, flooded
}

// floodRatioLimit is the most TestRefusalFloodSetupTime accepts for the p99
// setup time under the flood over the p99 without. The target is 5; on the
// project's 2-CPU machine, where the flooding process takes about one CPU and
// the proxy and the host of this test run in this process, the ratio measures
// 6-10 (BENCHMARKS.md), so the test guards against starvation (before the
// change, under -race, the legitimate connection got no byte back in 10 s)
// rather than the target, which BenchmarkSetupUnderFlood measures.
const floodRatioLimit = 20

// TestRefusalFloodSetupTime: the legitimate connection's setup time at p99
// under a flood from another user stays within floodRatioLimit of its p99
// without one. A noisy shared machine is allowed for by taking the median
// of the per-round ratios of several rounds, quiet and flooded side by
// side.
func TestRefusalFloodSetupTime(t *testing.T) {
	u := testuser.New(t, "tlflood")
	bin := binaryForOthers(t)
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	s := newFloodServer(t, nil)
	const rounds, n = 5, 200
	var ratios []float64
	for r := range rounds {
		quiet, flooded := floodRound(t, ctx, bin, u, s.addr, n)
		q99, f99 := quantile(quiet, 0.99), quantile(flooded, 0.99)
		ratios = append(ratios, float64(f99)/float64(q99))
		t.Logf("round %d: quiet p50 %v p99 %v; flood p50 %v p99 %v; p99 ratio %.2f", r+1,
			quantile(quiet, 0.5), q99, quantile(flooded, 0.5), f99, ratios[r])
	}
	slices.Sort(ratios)
	if med := ratios[len(ratios)/2]; med > floodRatioLimit {
		t.Errorf("median p99 ratio flood/quiet %.2f, want at most %d (ratios %.2f)", med, floodRatioLimit, ratios)
	}
}

// BenchmarkSetupUnderFlood reports the legitimate connection's setup time
// (connect to the first byte back through the tunnel) at p50 and p99,
// "quiet" and under a "flood" of connect/close from another user. Each
// iteration is one setup; use -benchtime Nx.
//
// "flood-elsewhere" is the floor: the same flood aimed at another port of
// this process, where a bare loop accepts and closes with no check at all.
// The legitimate connection then pays only for what the flood costs the
// machine (the flooding process's CPU, and the kernel's work for its
// connections, much of it done in whichever process sends on loopback), not
// for anything Serve does about it; "flood" over "flood-elsewhere" is what
// Serve adds.
func BenchmarkSetupUnderFlood(b *testing.B) {
	u := testuser.New(b, "tlflood")
	bin := binaryForOthers(b)
	s := newFloodServer(b, nil)
	for _, mode := range []string{"quiet", "flood-elsewhere", "flood"} {
		b.Run(mode, func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var f *flood
			switch mode {
			case "flood":
				f = startFlood(b, ctx, bin, u, s.addr)
			case "flood-elsewhere":
				f = startFlood(b, ctx, bin, u, bareListener(b))
			}
			ds := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				ds = append(ds, setupTime(b, s.addr))
			}
			b.StopTimer()
			if f != nil {
				b.ReportMetric(float64(f.stop(b)), "flood-conns")
			}
			b.ReportMetric(float64(quantile(ds, 0.5).Microseconds()), "p50-µs")
			b.ReportMetric(float64(quantile(ds, 0.99).Microseconds()), "p99-µs")
		})
	}
}

// bareListener listens on loopback and closes every connection as soon as
// it is accepted, until the test ends. It returns the address.
func bareListener(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}
