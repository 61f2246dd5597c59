package connector

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
)

// The owner check on macOS, which only a Mac runs: a connection of this
// process is admitted with this process as the holder; one of a child
// process is traced to that child (libproc), and refused when the child
// is not admitted, as a second program is during `open`.

func init() {
	if os.Getenv("TL_CONNECTOR_CHILD") == "darwin-dial" {
		c, err := net.Dial("tcp4", os.Getenv("TL_CONNECTOR_ADDR"))
		if err != nil {
			os.Exit(2)
		}
		defer c.Close()
		fmt.Println("connected")
		var b [1]byte
		os.Stdin.Read(b[:]) // until the test closes stdin
		os.Exit(0)
	}
}

func TestPeerDarwinOwnConnection(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	if err := checkPeerOwner(server, nil, nil); err != nil {
		t.Fatalf("same user, no admit: %v", err)
	}
	self := os.Getpid()
	var asked []int
	admit := func(pid int) error { asked = append(asked, pid); return nil }
	if err := checkPeerOwner(server, admit, func() []int { return []int{self} }); err != nil {
		t.Fatalf("own connection refused: %v", err)
	}
	if len(asked) != 1 || asked[0] != self {
		t.Fatalf("holder %v, want this process %d", asked, self)
	}
	// Without roots, darwin refuses rather than search every process.
	var pe *PeerProcessError
	if err := checkPeerOwner(server, admit, nil); !errors.As(err, &pe) {
		t.Fatalf("admit without roots: %v, want a *PeerProcessError", err)
	}
}

func TestPeerDarwinChildProcessRefused(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TL_CONNECTOR_CHILD=darwin-dial", "TL_CONNECTOR_ADDR="+ln.Addr().String())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	self := os.Getpid()
	notSelf := func(pid int) error {
		if pid != self {
			return fmt.Errorf("process %d is not this process", pid)
		}
		return nil
	}
	err = checkPeerOwner(server, notSelf, func() []int { return []int{self} })
	var pe *PeerProcessError
	if !errors.As(err, &pe) || len(pe.PIDs) != 1 || pe.PIDs[0] != cmd.Process.Pid {
		t.Fatalf("a child's connection: %v, want a *PeerProcessError naming the child %d", err, cmd.Process.Pid)
	}
	// From no roots at all (an emulator that has not started), no
	// holder is found, and nothing is admitted.
	err = checkPeerOwner(server, func(int) error { return nil }, func() []int { return nil })
	if !errors.As(err, &pe) || len(pe.PIDs) != 0 {
		t.Fatalf("searched from no process: %v, want a *PeerProcessError with no holder", err)
	}
}
