package launcher

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLaunchEndsEscapedDescendants: a grandchild of the emulator that left
// its process group and session outlived the launch. With Subreaper, each
// way a session ends ends it too: the emulator exits, Ctrl-C (SIGINT) and
// SIGTERM to the launch, the emulator killed.
func TestLaunchEndsEscapedDescendants(t *testing.T) {
	for _, tc := range []struct {
		name   string
		escape string // LAUNCH_TEST_ESCAPE
		end    func(launch *os.Process, emulator int)
	}{
		{"emulator exits", "exit", func(*os.Process, int) {}},
		{"ctrl-c", "", func(p *os.Process, _ int) { p.Signal(syscall.SIGINT) }},
		{"sigterm", "", func(p *os.Process, _ int) { p.Signal(syscall.SIGTERM) }},
		{"emulator killed", "", func(_ *os.Process, pid int) { syscall.Kill(pid, syscall.SIGKILL) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, "connect")
			w.set("profile", "sleeper")
			caFile := filepath.Join(t.TempDir(), "origin-ca.pem")
			os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.origin.Certificate().Raw}), 0o600)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), emulatorRoleEnv+"=launch", "LAUNCH_TEST_URL="+w.launchURL,
				"LAUNCH_TEST_USERLIST="+w.userList, "LAUNCH_TEST_PROFILES="+w.profiles, "LAUNCH_TEST_ORIGIN_CA="+caFile,
				"LAUNCH_TEST_LAUNCH_ROLE=escape", "LAUNCH_TEST_ESCAPE="+tc.escape, "LAUNCH_TEST_SUBREAPER=1")
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr syncBuffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			ids := make(chan [3]int, 1)
			go func() {
				var p [3]int
				fmt.Fscan(out, &p[0], &p[1], &p[2])
				ids <- p
				io.Copy(io.Discard, out)
			}()
			var p [3]int
			select {
			case p = <-ids:
			case <-ctx.Done():
				t.Fatalf("the emulator never reported; stderr: %s", stderr.String())
			}
			if p[2] == 0 {
				t.Fatalf("no grandchild pid; stderr: %s", stderr.String())
			}
			grandchild := p[2]
			t.Cleanup(func() { syscall.Kill(grandchild, syscall.SIGKILL) })
			tc.end(cmd.Process, p[0])
			if err := cmd.Wait(); ctx.Err() != nil {
				t.Fatalf("the launch did not end: %v; stderr: %s", err, stderr.String())
			}
			if alive(grandchild) {
				t.Errorf("the emulator's grandchild %d (own session) outlived the launch", grandchild)
			}
			if alive(p[0]) {
				t.Errorf("the emulator %d outlived the launch", p[0])
			}
		})
	}
}

// alive reports whether pid exists and is not a zombie (one killed and
// left to PID 1 to reap counts as ended).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || !strings.HasPrefix(strings.TrimSpace(string(b[i+1:])), "Z")
}
