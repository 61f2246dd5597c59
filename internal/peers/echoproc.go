//go:build linux

package peers

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// EchoProcess is an echo server in a child process (see ./echod).
type EchoProcess struct {
	Addr string // "127.0.0.1:PORT"
	*Process
}

// StartEchoProcess builds and starts echod on a listening socket the harness
// bound on 127.0.0.1:0 and passes as file descriptor 3.
func StartEchoProcess(t testing.TB) *EchoProcess {
	t.Helper()
	dir := t.TempDir()
	bin := BuildTool(t, "echod", dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("echod: listen: %v", err)
	}
	e := &EchoProcess{Addr: ln.Addr().String()}
	lnFile, err := ln.(*net.TCPListener).File()
	ln.Close()
	if err != nil {
		t.Fatalf("echod: listener file: %v", err)
	}
	defer lnFile.Close()
	cmd := exec.Command(bin)
	cmd.ExtraFiles = []*os.File{lnFile}
	// stdin is a pipe the harness never writes to: echod exits when it
	// closes, that is when the test binary exits, however it exits.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("echod: %v", err)
	}
	t.Cleanup(func() { stdin.Close() })
	p, err := startProcess(t, "echod", dir, cmd)
	if err != nil {
		t.Fatalf("%v", err)
	}
	_, err = p.waitLine(t.Context(), DefaultStartTimeout, func(line string) bool {
		return strings.HasPrefix(line, "echod: serving ")
	})
	p.doneWatching()
	if err != nil {
		t.Fatalf("echod did not start: %v\n%s", err, redactTokens(tail(p.Log())))
	}
	e.Process = p
	return e
}
