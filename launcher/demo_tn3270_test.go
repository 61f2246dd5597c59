package launcher

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

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
	d, err := StartDemo(DemoOptions{TN3270: true})
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
	if !strings.Contains(screen, DemoTitle) || !strings.Contains(screen, "Type here ===>") {
		t.Fatalf("first screen:\n%s", screen)
	}
	// The cursor is in the input field (IC), so typing goes there.
	s.do(`String("hello demo")`)
	s.do("Enter()")
	s.do("Wait(10,Unlock)")
	screen = strings.Join(s.do("Ascii()"), "\n")
	if !strings.Contains(screen, DemoAnswer("hello demo")) {
		t.Fatalf("no answer %q on the screen after Enter:\n%s", DemoAnswer("hello demo"), screen)
	}
	// The field is protected after its 40 positions: a longer string
	// stops there (s3270 reports the keyboard lock as an error).
	s.do("PF(3)")
	s.do("Wait(10,Disconnect)")
}

// TestParseInbound reads the records a 3270 sends on an AID key.
func TestParseInbound(t *testing.T) {
	field := inputRow*screenCols + inputCol + 1
	fa := encodeAddr(field)
	cur := encodeAddr(field + 2)
	tests := []struct {
		name   string
		rec    []byte
		aid    byte
		fields map[int]string
		err    string
	}{
		{"enter with the field", append([]byte{aidEnter, cur[0], cur[1], orderSBA, fa[0], fa[1]}, toEBCDIC("hi")...), aidEnter, map[int]string{field: "hi"}, ""},
		{"enter, nothing typed", []byte{aidEnter, cur[0], cur[1]}, aidEnter, map[int]string{}, ""},
		{"14-bit addresses", []byte{aidEnter, 0x02, 0x9A, orderSBA, byte(field >> 8), byte(field), 0xC8}, aidEnter, map[int]string{field: "H"}, ""},
		{"clear is a short read", []byte{aidClear}, aidClear, map[int]string{}, ""},
		{"PA1 is a short read", []byte{aidPA1}, aidPA1, map[int]string{}, ""},
		{"PF3", []byte{aidPF3, cur[0], cur[1]}, aidPF3, map[int]string{}, ""},
		{"empty", nil, 0, nil, "empty record"},
		{"no cursor", []byte{aidEnter, 0x40}, aidEnter, nil, "no cursor address"},
		{"data without SBA", []byte{aidEnter, cur[0], cur[1], 0xC8}, aidEnter, nil, "without a buffer address"},
		{"cut SBA", []byte{aidEnter, cur[0], cur[1], orderSBA, 0x40}, aidEnter, nil, "without a buffer address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := parseInbound(tt.rec)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parseInbound = %v, want an error with %q", err, tt.err)
				}
				return
			}
			if err != nil || in.aid != tt.aid || len(in.fields) != len(tt.fields) {
				t.Fatalf("parseInbound = %+v, %v; want AID %#x and %d fields", in, err, tt.aid, len(tt.fields))
			}
			for a, want := range tt.fields {
				if got := fromEBCDIC(in.fields[a]); got != want {
					t.Errorf("field at %d = %q, want %q", a, got, want)
				}
			}
		})
	}
}

// TestAddrRoundTrip: every 24x80 address survives the 12-bit code.
func TestAddrRoundTrip(t *testing.T) {
	for a := 0; a < screenRows*screenCols; a++ {
		b := encodeAddr(a)
		if got := decodeAddr(b[0], b[1]); got != a {
			t.Fatalf("address %d encodes to %x and decodes to %d", a, b, got)
		}
	}
}

// FuzzTN3270Host feeds arbitrary client bytes to the demo host: it must
// neither panic nor hang, and everything it sends is telnet commands or
// records it built itself.
func FuzzTN3270Host(f *testing.F) {
	f.Add([]byte{tnIAC, tnWILL, optTermType, tnIAC, tnSB, optTermType, ttIS, 'I', 'B', 'M', '-', '3', '2', '7', '8', '-', '2', tnIAC, tnSE,
		tnIAC, tnWILL, optEOR, tnIAC, tnDO, optEOR, tnIAC, tnWILL, optBinary, tnIAC, tnDO, optBinary,
		aidEnter, 0x4B, 0x5B, orderSBA, 0x4B, 0x5B, 0xC8, 0x89, tnIAC, tnEOR, aidPF3, 0x40, 0x40, tnIAC, tnEOR})
	f.Add([]byte{tnIAC, tnWONT, optTermType})
	f.Add([]byte{tnIAC, tnDO, 40, tnIAC, tnWILL, 31, tnIAC, tnSB, 0xFF, 0xFF, tnIAC, tnSE})
	f.Fuzz(func(t *testing.T, in []byte) {
		client, host := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- serveTN3270(host); host.Close() }()
		go io.Copy(io.Discard, client) // the host's output
		client.SetDeadline(time.Now().Add(5 * time.Second))
		client.Write(in)
		client.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the host did not end after the client closed")
		}
	})
}
