package launcher

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestLaunchAdmitsOnlyTheEmulator: during a launch with a command profile,
// a connection of the same user from a process that is not the emulator
// or its descendant (here the test process, as a browser would be) is
// refused and logged, while the emulator's is relayed.
func TestLaunchAdmitsOnlyTheEmulator(t *testing.T) {
	w := newWorld(t, "connect")
	w.set("profile", "sleeper")
	pr, pw := io.Pipe()
	opts, _ := w.options(t, "sleep", strings.NewReader(""), pw)
	logs := make(chan string, 16)
	opts.Logf = func(format string, args ...any) {
		select {
		case logs <- fmt.Sprintf(format, args...):
		default:
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	done := make(chan *Result, 1)
	go func() { done <- Launch(ctx, opts) }()
	_, port := readStarted(t, pr) // the sleeper has connected
	for line := ""; !strings.Contains(line, "tunnel for"); {
		select {
		case line = <-logs:
		case <-ctx.Done():
			t.Fatal("the emulator's connection was never relayed")
		}
	}

	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: host\r\n\r\n")
	if n, _ := io.Copy(io.Discard, c); n != 0 {
		t.Errorf("a non-emulator connection got %d bytes back", n)
	}
	c.Close()
	var line string
	for !strings.Contains(line, "refused") && !strings.Contains(line, "tunnel for") {
		select {
		case line = <-logs:
		case <-ctx.Done():
			t.Fatal("no log line about the second connection")
		}
	}
	if !strings.Contains(line, "refused") || !strings.Contains(line, "not by the emulator") {
		t.Errorf("log %q: want a refusal of a process that is not the emulator's", line)
	}
	cancel()
	<-done
	pw.Close()
	if n := len(w.proxy.Targets()); n != 1 {
		t.Errorf("the proxy saw %d tunnels, want the emulator's only", n)
	}
}
