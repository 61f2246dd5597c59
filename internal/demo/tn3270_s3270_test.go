//go:build !windows

package demo

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Not built for Windows: the peer is Debian's s3270 (./test.sh installs
// it). The Windows counterpart, ws3270, comes with the x3270 suite's
// Windows installer, which the Wine test prefix does not have; the demo
// host it would talk to is the same code, tested here and by
// TestParseInbound and TestAddrRoundTrip on every OS.

// s3270 is a scripted 3270 emulator session: one command a line on its
// stdin, its answer ("data: " lines, a status line, then ok or error) on
// its stdout.
type s3270 struct {
	t   *testing.T
	in  io.WriteCloser
	out *bufio.Reader
}

func startS3270(t *testing.T, ctx context.Context) *s3270 {
	t.Helper()
	if _, err := exec.LookPath("s3270"); err != nil {
		t.Fatalf("s3270 is required (Debian package s3270; ./test.sh installs it): %v", err)
	}
	cmd := exec.CommandContext(ctx, "s3270")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		cmd.Wait()
	})
	return &s3270{t: t, in: in, out: bufio.NewReader(out)}
}

// do runs one action and returns its data lines; an error answer fails
// the test.
func (s *s3270) do(action string) []string {
	s.t.Helper()
	lines, ok := s.try(action)
	if !ok {
		s.t.Fatalf("s3270 %s: error: %q", action, lines)
	}
	return lines
}

func (s *s3270) try(action string) ([]string, bool) {
	s.t.Helper()
	if _, err := fmt.Fprintln(s.in, action); err != nil {
		s.t.Fatalf("s3270 %s: %v", action, err)
	}
	var data []string
	for {
		line, err := s.out.ReadString('\n')
		if err != nil {
			s.t.Fatalf("s3270 %s: %v (after %q)", action, err, data)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		case line == "ok":
			return data, true
		case line == "error":
			return data, false
		}
		// the status line
	}
}

// TestDemoTN3270WithS3270 drives the demo's TN3270 host with a real 3270
// emulator: the negotiation succeeds, the screen has its title and input
// field, Enter brings the answer, PF3 ends the session.
func TestDemoTN3270WithS3270(t *testing.T) {
	d, err := Start(Options{TN3270: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s := startS3270(t, ctx)
	s.do("Connect(" + d.hostLn.Addr().String() + ")")
	s.do("Wait(10,InputField)")
	screen := strings.Join(s.do("Ascii()"), "\n")
	if !strings.Contains(screen, Title) || !strings.Contains(screen, "Type here ===>") {
		t.Fatalf("first screen:\n%s", screen)
	}
	// The cursor is in the input field (IC), so typing goes there.
	s.do(`String("hello demo")`)
	s.do("Enter()")
	s.do("Wait(10,Unlock)")
	screen = strings.Join(s.do("Ascii()"), "\n")
	if !strings.Contains(screen, Answer("hello demo")) {
		t.Fatalf("no answer %q on the screen after Enter:\n%s", Answer("hello demo"), screen)
	}
	// The field is protected after its 40 positions: a longer string
	// stops there (s3270 reports the keyboard lock as an error).
	s.do("PF(3)")
	s.do("Wait(10,Disconnect)")
}
