package connector

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Run: go test -run '^$' -bench 'LocalTunnelSetup|PeerCheck' -benchtime 2000x -count 8 ./connector/

func init() {
	// The emulator of BenchmarkLocalTunnelSetup. Run before TestMain, so
	// helpers_test.go needs no case for it.
	if os.Getenv("TL_CONNECTOR_CHILD") == "bench-emulator" {
		os.Exit(childBenchEmulator(os.Getenv("TL_ADDR")))
	}
}

// BenchmarkLocalTunnelSetup measures what an emulator waits for: connect to
// Serve's local end, the owner check, a new tunnel (TCP, TLS, CONNECT), and
// one byte echoed back by the destination. "same-user" is the same-user check
// alone; "emulator-only" adds the process admission, as `open` sets it up:
// the only root is the emulator, a separate process that opens the
// connections (this test binary re-executed, asked for each connection on a
// pipe), so the holder search reads that process's threads and descriptors,
// not the test process's dozens.
//
// The two modes run side by side in one loop: two Serve instances on two
// listeners, one per mode, and the emulator child connects to them in
// turn, so that both see the same load on a shared machine (separate
// sub-benchmarks, seconds apart, differed by more than the check costs).
// Reported: the median setup of each mode, their ratio, and the child's
// thread and descriptor counts; ns/op is the mean over both modes.
func BenchmarkLocalTunnelSetup(b *testing.B) {
	dest := newDestination(b, echo)
	p := newProxy(b, TransportConnect, "", nil)
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var addrs [2]string
	var lns [2]net.Listener
	for i := range lns {
		if lns[i], err = Listen("", false); err != nil {
			b.Fatal(err)
		}
		addrs[i] = lns[i].Addr().String()
	}
	emu := exec.CommandContext(ctx, self, "-test.run=^$")
	emu.Env = []string{"TL_CONNECTOR_CHILD=bench-emulator", "TL_ADDR=" + addrs[0], "TL_ADDR2=" + addrs[1]}
	emu.Stderr = os.Stderr
	in, err := emu.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := emu.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := emu.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { in.Close(); cancel(); _ = emu.Wait() }()
	pid := emu.Process.Pid
	var served sync.WaitGroup
	defer served.Wait()
	defer cancel()
	for i, mode := range []string{"same-user", "emulator-only"} {
		cfg := config(p, TransportConnect, dest.addr)
		if mode == "emulator-only" {
			cfg.ProcessRoots = func() []int { return []int{pid} }
			cfg.AdmitProcess = func(p int) error {
				if p != pid {
					return fmt.Errorf("process %d is not the emulator", p)
				}
				return nil
			}
		}
		c := mustNew(b, cfg)
		served.Go(func() { _ = c.Serve(ctx, lns[i]) })
	}
	answers := bufio.NewReader(out)
	setup := func(mode int) time.Duration {
		start := time.Now()
		if _, err := fmt.Fprintf(in, "c %d\n", mode); err != nil {
			b.Fatal(err)
		}
		if l, err := answers.ReadString('\n'); err != nil || l != "ok\n" {
			b.Fatalf("emulator answered %q, %v", l, err)
		}
		return time.Since(start)
	}
	setup(0) // the child's runtime is up, its first dials done
	setup(1)
	var times [2][]time.Duration
	b.ResetTimer()
	for i := range b.N {
		mode := i % 2
		times[mode] = append(times[mode], setup(mode))
	}
	b.StopTimer()
	if b.N >= 2 {
		su, eo := median(times[0]), median(times[1])
		b.ReportMetric(float64(su.Microseconds()), "same-user-µs")
		b.ReportMetric(float64(eo.Microseconds()), "emulator-only-µs")
		b.ReportMetric(float64(eo)/float64(su), "ratio")
	}
	b.ReportMetric(float64(countDir(b, pid, "task")), "emu-threads")
	b.ReportMetric(float64(countDir(b, pid, "fd")), "emu-fds")
}

// median returns the median of d (which it sorts).
func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	if len(d)%2 == 1 {
		return d[len(d)/2]
	}
	return (d[len(d)/2-1] + d[len(d)/2]) / 2
}

// countDir counts the entries of /proc/PID/name.
func countDir(b *testing.B, pid int, name string) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/%s", pid, name))
	if err != nil {
		b.Fatal(err)
	}
	return len(ents)
}

// BenchmarkPeerCheck measures the check alone, on one connection that the
// emulator child opened and holds: the sock_diag lookup ("same-user"), then
// with the holder search and AdmitProcess as `open` sets them up
// ("emulator-only"). The difference is what the process admission adds to
// every accept. Profile it with
//
//	go test -run '^$' -bench 'PeerCheck/emulator-only' -cpuprofile cpu.out ./connector/
func BenchmarkPeerCheck(b *testing.B) {
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	ln, err := Listen("", false)
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	emu := exec.CommandContext(ctx, self, "-test.run=^$")
	emu.Env = []string{"TL_CONNECTOR_CHILD=bench-emulator", "TL_ADDR=" + ln.Addr().String()}
	emu.Stderr = os.Stderr
	in, err := emu.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := emu.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { in.Close(); cancel(); _ = emu.Wait() }()
	if _, err := io.WriteString(in, "h\n"); err != nil {
		b.Fatal(err)
	}
	conn, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	pid := emu.Process.Pid
	roots := func() []int { return []int{pid} }
	admit := func(p int) error {
		if p != pid {
			return fmt.Errorf("process %d is not the emulator", p)
		}
		return nil
	}
	for _, mode := range []string{"same-user", "emulator-only"} {
		b.Run(mode, func(b *testing.B) {
			a, r := admit, roots
			if mode == "same-user" {
				a, r = nil, nil
			}
			b.ReportAllocs()
			for range b.N {
				if err := checkPeerOwner(conn, a, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// childBenchEmulator connects once per line on stdin: for "c N" it
// connects to the Nth address (TL_ADDR, TL_ADDR2), sends a byte, reads the
// echo, closes, and answers "ok"; for "h" it connects to addr and holds
// the connection until stdin ends.
func childBenchEmulator(addr string) int {
	sc := bufio.NewScanner(os.Stdin)
	buf := make([]byte, 1)
	var held []net.Conn
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		to := addr
		if arg == "1" {
			to = os.Getenv("TL_ADDR2")
		}
		switch cmd {
		case "h":
			conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				fmt.Fprintln(os.Stderr, "bench emulator:", err)
				return 1
			}
			held = append(held, conn)
			continue
		case "c":
		default:
			continue
		}
		conn, err := net.DialTimeout("tcp", to, 10*time.Second)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench emulator:", err)
			return 1
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := conn.Write([]byte("x")); err != nil {
			fmt.Fprintln(os.Stderr, "bench emulator:", err)
			return 1
		}
		if _, err := io.ReadFull(conn, buf); err != nil {
			fmt.Fprintln(os.Stderr, "bench emulator: no echo (refused?):", err)
			return 1
		}
		conn.Close()
		fmt.Println("ok")
	}
	for _, c := range held {
		c.Close()
	}
	return 0
}
