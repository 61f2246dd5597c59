package connector

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// PeerSelfCheck runs the owner check of the local end on a connection
// this process opens to itself on 127.0.0.1, and returns nil only when the
// check gets it right both ways: it admits the connection, naming this
// user and this process as the holder, and it refuses the same connection
// when told that this process is not admitted. It is the run-time proof,
// on the machine at hand, that the system's socket tables still parse as
// the check expects (on macOS, the kernel's private PCB structures): the
// launcher runs it before a launch where the check has not been proven
// otherwise, and refuses the launch when it fails.
func PeerSelfCheck() error { return selfCheck(checkPeerOwner) }

// selfCheckTimeout bounds the accept of the check's own connection.
const selfCheckTimeout = 5 * time.Second

var errSelfNotAdmitted = errors.New("this process is told it is not admitted")

func selfCheck(check func(net.Conn, func(int) error, func() []int) error) error {
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return fmt.Errorf("owner check self-check: listen: %w", err)
	}
	defer ln.Close()
	client, err := net.DialTCP("tcp4", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		return fmt.Errorf("owner check self-check: connect: %w", err)
	}
	defer client.Close()
	_ = ln.SetDeadline(time.Now().Add(selfCheckTimeout))
	server, err := ln.AcceptTCP()
	if err != nil {
		return fmt.Errorf("owner check self-check: accept: %w", err)
	}
	defer server.Close()

	self := os.Getpid()
	roots := func() []int { return []int{self} }
	var holders []int
	err = check(server, func(pid int) error {
		holders = append(holders, pid)
		if pid != self {
			return fmt.Errorf("process %d is not this process (%d)", pid, self)
		}
		return nil
	}, roots)
	if err != nil {
		return fmt.Errorf("owner check self-check: this process's own connection from %s was refused: %w", client.LocalAddr(), err)
	}
	if len(holders) != 1 || holders[0] != self {
		return fmt.Errorf("owner check self-check: the holder of this process's own connection was found as %v, want this process (%d)", holders, self)
	}
	err = check(server, func(int) error { return errSelfNotAdmitted }, roots)
	var pe *PeerProcessError
	if !errors.As(err, &pe) || !errors.Is(err, errSelfNotAdmitted) {
		return fmt.Errorf("owner check self-check: a connection of a process that is not admitted was not refused as such (got %v)", err)
	}
	return nil
}
