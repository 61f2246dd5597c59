//go:build linux

package connector

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/testuser"
	"golang.org/x/sys/unix"
)

// A process whose descriptors cannot be read (not dumpable: setuid or
// setgid) is refused, with a log line that says why (CONTRIBUTING.md "How the
// tunnel knows who connects"). As root the
// descriptors of a non-dumpable process can still be read (CAP_SYS_PTRACE),
// so the serving side runs as a user the test creates: this test binary,
// copied where that user can run it, in "admit-serve" mode, starts its own
// "emulator" child (the same binary, "admit-emulator" mode), which may
// call prctl(PR_SET_DUMPABLE, 0) before it connects.

func init() {
	// Run before TestMain, so helpers_test.go needs no case for them.
	switch os.Getenv("TL_CONNECTOR_CHILD") {
	case "admit-serve":
		os.Exit(childAdmitServe())
	case "admit-emulator":
		os.Exit(childAdmitEmulator(os.Getenv("TL_ADDR"), os.Getenv("TL_UNDUMPABLE") == "1"))
	}
}

// TestPeerNotDumpableEmulatorRefused: a connector run by an unprivileged
// user admits only its emulator child (AdmitProcess, ProcessRoots). The
// child connects and exchanges bytes through the tunnel; the same child
// that made itself non-dumpable first is refused, because its descriptors
// cannot be read and so the socket cannot be traced to it, and the
// refusal line says "not dumpable".
func TestPeerNotDumpableEmulatorRefused(t *testing.T) {
	cred := testuser.New(t, "tlpeer").Credential()
	bin := binaryForOthers(t)
	var mu sync.Mutex
	var got []byte
	dest := newDestination(t, func(c net.Conn) {
		buf := make([]byte, 512)
		for {
			n, err := c.Read(buf)
			mu.Lock()
			got = append(got, buf[:n]...)
			mu.Unlock()
			if n > 0 {
				if _, werr := c.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
	p := newProxy(t, TransportConnect, "", nil)
	caFile := filepath.Join(filepath.Dir(bin), "ca.pem")
	if err := os.WriteFile(caFile, p.CA.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name        string
		undumpable  bool
		wantRelayed bool
	}{
		// The control: the same user's connector can read its own
		// child's descriptors, so the test cannot pass for another reason.
		{"dumpable", false, true},
		{"not-dumpable", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			tunnels := len(p.Targets())
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "-test.run=^$")
			undumpable := "0"
			if tc.undumpable {
				undumpable = "1"
			}
			cmd.Env = []string{"TL_CONNECTOR_CHILD=admit-serve", "TL_PROXY=" + p.Addr, "TL_CA=" + caFile,
				"TL_DEST=" + dest.addr, "TL_TOKEN=" + testToken, "TL_UNDUMPABLE=" + undumpable}
			cmd.Dir = "/"
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
			cmd.WaitDelay = 5 * time.Second
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("serving child as uid %d: %v\n%s", cred.Uid, err, out)
			}
			var refusal, result string
			for l := range strings.Lines(string(out)) {
				if s, ok := strings.CutPrefix(l, "log: "); ok && strings.Contains(s, "refused") && refusal == "" {
					refusal = strings.TrimSpace(s)
				}
				if s, ok := strings.CutPrefix(l, "emulator: "); ok {
					result = strings.TrimSpace(s)
				}
			}
			mu.Lock()
			destGot := string(got)
			mu.Unlock()
			newTunnels := len(p.Targets()) - tunnels
			if tc.wantRelayed {
				if result != `echo "ping"` || refusal != "" || newTunnels != 1 || destGot != "ping" {
					t.Errorf("dumpable emulator: result %q, refusal %q, %d new tunnels, destination got %q; want the echo, no refusal, 1 tunnel, \"ping\"\n%s",
						result, refusal, newTunnels, destGot, out)
				}
				return
			}
			if result != "refused" {
				t.Errorf("non-dumpable emulator: %q, want refused\n%s", result, out)
			}
			if newTunnels != 0 || destGot != "" {
				t.Errorf("non-dumpable emulator: %d new tunnels, destination got %q; want none", newTunnels, destGot)
			}
			if !strings.Contains(refusal, "not by the emulator") || !strings.Contains(refusal, "not dumpable") {
				t.Errorf("refusal line %q: want it to say not the emulator, because not dumpable\n%s", refusal, out)
			}
			t.Logf("refusal: %s", refusal)
		})
	}
}

// childAdmitServe is the serving side of TestPeerNotDumpableEmulatorRefused,
// run as the test's user: Serve admitting only its emulator child, whose
// outcome it prints ("emulator: echo \"ping\"" or "emulator: refused") after the
// log lines ("log: ...", all written once Serve returned).
func childAdmitServe() int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, err); return 2 }
	pem, err := os.ReadFile(os.Getenv("TL_CA"))
	if err != nil {
		return fail(err)
	}
	roots, err := poolFromPEM(pem)
	if err != nil {
		return fail(err)
	}
	var emulator atomic.Int64
	var logMu sync.Mutex
	var logs []string
	c, err := New(Config{ProxyAddr: os.Getenv("TL_PROXY"), Transport: TransportConnect,
		Destination: os.Getenv("TL_DEST"), RootCAs: roots, Token: NewToken(os.Getenv("TL_TOKEN")),
		Logf: func(format string, args ...any) {
			logMu.Lock()
			logs = append(logs, fmt.Sprintf(format, args...))
			logMu.Unlock()
		},
		ProcessRoots: func() []int { return []int{int(emulator.Load())} },
		AdmitProcess: func(pid int) error {
			if int64(pid) != emulator.Load() {
				return fmt.Errorf("process %d is not the emulator", pid)
			}
			return nil
		},
	})
	if err != nil {
		return fail(err)
	}
	ln, err := Listen("", false)
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- c.Serve(ctx, ln) }()

	self, err := os.Executable()
	if err != nil {
		return fail(err)
	}
	emu := exec.Command(self, "-test.run=^$")
	emu.Env = []string{"TL_CONNECTOR_CHILD=admit-emulator", "TL_ADDR=" + ln.Addr().String(), "TL_UNDUMPABLE=" + os.Getenv("TL_UNDUMPABLE")}
	in, err := emu.StdinPipe()
	if err != nil {
		return fail(err)
	}
	var out strings.Builder
	emu.Stdout, emu.Stderr = &out, &out
	if err := emu.Start(); err != nil {
		return fail(err)
	}
	// The child connects once its pid is a root.
	emulator.Store(int64(emu.Process.Pid))
	io.WriteString(in, "go\n")
	in.Close()
	werr := emu.Wait()
	cancel()
	if err := <-served; err != nil {
		return fail(err)
	}
	logMu.Lock()
	for _, l := range logs {
		fmt.Printf("log: %s\n", l)
	}
	logMu.Unlock()
	fmt.Print(out.String())
	if werr != nil {
		return fail(fmt.Errorf("emulator: %w", werr))
	}
	return 0
}

// childAdmitEmulator waits for a line on stdin, makes itself non-dumpable
// when asked, connects to addr, sends "ping" and half-closes, and prints
// what came back.
func childAdmitEmulator(addr string, undumpable bool) int {
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		fmt.Println("emulator: no go:", err)
		return 2
	}
	if undumpable {
		if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
			fmt.Println("emulator: prctl:", err)
			return 2
		}
	}
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		fmt.Println("emulator: dial:", err)
		return 2
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		fmt.Println("emulator: write:", err)
		return 2
	}
	_ = c.(*net.TCPConn).CloseWrite()
	b, err := io.ReadAll(c)
	switch {
	case len(b) > 0:
		fmt.Printf("emulator: echo %q\n", b)
	case err == nil || errors.Is(err, syscall.ECONNRESET):
		fmt.Println("emulator: refused")
	default:
		fmt.Println("emulator: read:", err)
		return 2
	}
	return 0
}
