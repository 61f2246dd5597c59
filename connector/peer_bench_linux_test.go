package connector

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Run: go test -run '^$' -bench LocalTunnelSetup -benchtime 400x -count 8 ./connector/

func init() {
	// The emulator of BenchmarkLocalTunnelSetup. Run before TestMain, so
	// helpers_test.go needs no case for it.
	if os.Getenv("TL_CONNECTOR_CHILD") == "bench-emulator" {
		os.Exit(childBenchEmulator(os.Getenv("TL_ADDR")))
	}
}

// BenchmarkLocalTunnelSetup measures what an emulator waits for: connect to
// Serve's local end, the owner check, a new tunnel (TCP, TLS, CONNECT), and
// one byte echoed back by the destination. "same-user" is the check before
// issue 10; "emulator-only" adds the process admission, as `open` sets it
// up: the only root is the emulator, a separate process that opens the
// connections (this test binary re-executed, asked for each connection on a
// pipe), so the holder search reads that process's threads and descriptors,
// not the test process's dozens. Both modes use the same child, so the
// pipe's round trip is in both. The child's thread and descriptor counts
// are reported with the result.
func BenchmarkLocalTunnelSetup(b *testing.B) {
	dest := newDestination(b, echo)
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"same-user", "emulator-only"} {
		b.Run(mode, func(b *testing.B) {
			p := newProxy(b, TransportConnect, "", nil)
			cfg := config(p, TransportConnect, dest.addr)
			ln, err := Listen("", false)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			emu := exec.CommandContext(ctx, self, "-test.run=^$")
			emu.Env = []string{"TL_CONNECTOR_CHILD=bench-emulator", "TL_ADDR=" + ln.Addr().String()}
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
			done := make(chan struct{})
			go func() { defer close(done); _ = c.Serve(ctx, ln) }()
			defer func() { cancel(); <-done }()
			answers := bufio.NewReader(out)
			setup := func() {
				if _, err := io.WriteString(in, "c\n"); err != nil {
					b.Fatal(err)
				}
				if l, err := answers.ReadString('\n'); err != nil || l != "ok\n" {
					b.Fatalf("emulator answered %q, %v", l, err)
				}
			}
			setup() // the child's runtime is up, its first dial done
			b.ResetTimer()
			for range b.N {
				setup()
			}
			b.StopTimer()
			b.ReportMetric(float64(countDir(b, pid, "task")), "emu-threads")
			b.ReportMetric(float64(countDir(b, pid, "fd")), "emu-fds")
		})
	}
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

// childBenchEmulator connects to addr once per line on stdin: for "c" it
// sends a byte, reads the echo, closes, and answers "ok"; for "h" it
// connects and holds the connection until stdin ends.
func childBenchEmulator(addr string) int {
	sc := bufio.NewScanner(os.Stdin)
	buf := make([]byte, 1)
	var held []net.Conn
	for sc.Scan() {
		switch strings.TrimSpace(sc.Text()) {
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
		conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
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
