package connector

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/trustlaunch/trustlaunch/internal/xnu"
)

const peerCheckAvailable = true

// checkPeerOwner finds the client end of conn in the kernel's list of TCP
// PCBs (sysctl net.inet.tcp.pcblist_n, netstat's source) and accepts the
// connection only when the uid that created that socket (so_uid) is this
// process's effective uid, and, with admit, when the process holding it
// (found through libproc from roots down) is admitted.
//
// The list is private to Apple: internal/xnu checks every record's length
// and kind against the layouts it knows, and a list that does not parse
// refuses the connection with the reason. A client socket that is not in
// the list, or is in it without a socket (TIME_WAIT), has no owner to
// check: refused.
func checkPeerOwner(conn net.Conn, admit func(pid int) error, roots func() []int) error {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return fmt.Errorf("%w: not a TCP connection", errPeerUnchecked)
	}
	local := unmapped(tc.LocalAddr().(*net.TCPAddr).AddrPort())
	remote := unmapped(tc.RemoteAddr().(*net.TCPAddr).AddrPort())
	list, err := xnu.PCBList()
	if err != nil {
		return fmt.Errorf("finding the owner of the connection from %s: %w", remote, err)
	}
	pcb, found, err := xnu.FindPCB(list, remote, local)
	if err != nil {
		return fmt.Errorf("finding the owner of the connection from %s: %w", remote, err)
	}
	switch {
	case !found && remote.Addr().IsLoopback():
		// Only this machine reaches a loopback address: the client's PCB
		// is gone, its socket closed.
		return &PeerUnknownError{Reason: fmt.Sprintf("the client socket of %s is closed (not in the kernel's PCB list)", remote)}
	case !found:
		return fmt.Errorf("%w: connection from %s is not from this machine", errPeerUnchecked, remote)
	case pcb.NoSocket:
		return &PeerUnknownError{Reason: fmt.Sprintf("the client socket of %s is already closed (kept by the kernel with no socket)", remote)}
	}
	owner := fmt.Sprintf("uid %d", pcb.UID)
	if want := uint32(os.Geteuid()); pcb.UID != want {
		// so_last_pid is the last process that used the socket: a hint
		// for the log, never a basis for admitting anyone.
		return &PeerOwnerError{Owner: owner, Want: fmt.Sprintf("uid %d", want), PID: int(pcb.LastPID)}
	}
	if admit == nil {
		return nil
	}
	if roots == nil {
		// Without roots the search would be every process of this user;
		// the launcher always names its tree, and nothing else asks.
		return &PeerProcessError{Owner: owner, Err: errors.New("no processes to search for the socket's holder (darwin searches from the emulator's tree only)")}
	}
	pids, why := socketHolders(remote, local, roots)
	if len(pids) == 0 {
		return &PeerProcessError{Owner: owner, Err: why}
	}
	for _, pid := range pids {
		if err := admit(pid); err != nil {
			return &PeerProcessError{Owner: owner, PIDs: pids, Err: err}
		}
	}
	return nil
}

// socketHolders walks down from roots (proc_listchildpids), breadth
// first, and returns the first process that holds a descriptor for the
// TCP socket whose local end is client and foreign end is server, or none
// and why. As on Linux (peer_linux.go socketHolders), walking down from
// the emulator's tree reads a few processes' descriptors, where finding
// the holder first would mean reading every process's; and a process's
// children are read only when it does not hold the socket.
func socketHolders(client, server netip.AddrPort, roots func() []int) ([]int, error) {
	candidates := roots()
	seen := make(map[int]bool, len(candidates))
	var blind []string
	for i := 0; i < len(candidates); i++ {
		pid := candidates[i]
		if pid <= 0 || seen[pid] {
			continue
		}
		seen[pid] = true
		held, err := xnu.HoldsTCPSocket(pid, client, server)
		var le *xnu.LayoutError
		switch {
		case errors.As(err, &le):
			return nil, err
		case err == nil && held:
			return []int{pid}, nil
		case err != nil && unix.Kill(pid, 0) != unix.ESRCH:
			// Still there, yet its descriptors could not be read: the
			// holder may be it or below it.
			blind = append(blind, fmt.Sprintf("process %d: %v", pid, err))
		}
		kids, err := xnu.ChildPIDs(pid)
		if err != nil {
			blind = append(blind, fmt.Sprintf("process %d's children: %v", pid, err))
		}
		candidates = append(candidates, kids...)
	}
	if len(blind) > 0 {
		return nil, fmt.Errorf("no process of the emulator's that could be inspected holds it, and %s", strings.Join(blind, "; "))
	}
	return nil, errors.New("no process of the emulator's holds it (another program, such as a browser, or one that already closed it)")
}
