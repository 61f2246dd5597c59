package connector

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

const peerCheckAvailable = true

var procGetExtendedTcpTable = windows.NewLazySystemDLL("iphlpapi.dll").NewProc("GetExtendedTcpTable")

// The TCP_TABLE_CLASS values (iprtrmib.h) the owner lookup reads.
// TCP_TABLE_OWNER_PID_CONNECTIONS ("connected endpoints") is small and cheap,
// but Wine serves it with the ESTABLISHED rows only, so a client that
// half-closed at once (FIN_WAIT_2) is not in it. TCP_TABLE_OWNER_PID_ALL has
// every row whatever its state, and costs more: it holds every TIME_WAIT row
// too, and Wine looks an owner up for each (measured: 14 rows in 7-38 ms,
// 223 rows in 210-300 ms, on a loaded machine). So the lookup reads the
// connections first and the whole table only when the pair is not there.
// No state filter is needed in either: only an exact match of both ends
// counts (ownerPIDInTable), which a listener's row never is
// (TestPeerHalfClosedClient).
const (
	tcpTableOwnerPIDConnections = 4
	tcpTableOwnerPIDAll         = 5
)

// checkPeerOwner finds the process owning the client end of conn in the
// system's TCP table, and accepts the connection only when that process
// runs as the same user (the user SID of its token) as this one, and, with
// admit, when admit accepts that process (the launcher: in the launch's Job
// Object). A process that cannot be opened or has exited is refused: the
// check fails closed. roots is for the Linux search only: the TCP table
// already names the one owning process.
func checkPeerOwner(conn net.Conn, admit func(pid int) error, _ func() []int) error {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return fmt.Errorf("%w: not a TCP connection", errPeerUnchecked)
	}
	local := unmapped(tc.LocalAddr().(*net.TCPAddr).AddrPort())
	remote := unmapped(tc.RemoteAddr().(*net.TCPAddr).AddrPort())
	row, found, err := ownerOfRow(func() (tcpOwner, bool, error) { return socketOwner(remote, local) }, ownerRereads, time.Sleep)
	pid := row.PID
	if err != nil {
		return fmt.Errorf("finding the owner of the connection from %s: %w", remote, err)
	}
	switch {
	case !found && remote.Addr().IsLoopback():
		// Only this machine reaches a loopback address: a client with no
		// row has closed its socket already (Wine drops the row).
		return &PeerUnknownError{Reason: fmt.Sprintf("the client socket of %s is closed (not in the TCP table)", remote)}
	case !found:
		return fmt.Errorf("%w: connection from %s is not from this machine", errPeerUnchecked, remote)
	case pid == 0:
		// Windows lists a closed socket in TIME_WAIT as owned by PID 0;
		// Wine, for a while, a socket it has not found in a process
		// (ownerRereads).
		return &PeerUnknownError{Reason: fmt.Sprintf("the client socket of %s is closed (owned by no process)", remote)}
	}
	owner, err := processUser(pid)
	if err != nil {
		return fmt.Errorf("finding the user of process %d, which opened the connection from %s: %w", pid, remote, err)
	}
	self, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return fmt.Errorf("finding this process's user: %w", err)
	}
	if !owner.Equals(self.User.Sid) {
		return &PeerOwnerError{Owner: owner.String(), PID: int(pid), Want: self.User.Sid.String()}
	}
	if admit != nil {
		if err := admit(int(pid)); err != nil {
			return &PeerProcessError{Owner: owner.String(), PIDs: []int{int(pid)}, Err: err}
		}
	}
	return nil
}

// socketOwner returns the row of the TCP socket whose local end is local
// and remote end is remote. An IPv4 pair is looked for in the IPv6
// table too: a client on a dual-stack socket (Java's default) that reached
// 127.0.0.1 is listed there.
func socketOwner(local, remote netip.AddrPort) (row tcpOwner, found bool, err error) {
	if local.Addr().Is4() != remote.Addr().Is4() {
		return tcpOwner{}, false, nil
	}
	for _, class := range []uintptr{tcpTableOwnerPIDConnections, tcpTableOwnerPIDAll} {
		if local.Addr().Is4() {
			if row, found, err = ownerFromTable(windows.AF_INET, class, local, remote); found || err != nil {
				return row, found, err
			}
		}
		if row, found, err = ownerFromTable(windows.AF_INET6, class, local, remote); found || err != nil {
			return row, found, err
		}
	}
	return tcpOwner{}, false, nil
}

// ownerFromTable reads the TCP table of one address family and class
// and looks the pair up in it.
func ownerFromTable(af uint32, class uintptr, local, remote netip.AddrPort) (row tcpOwner, found bool, err error) {
	v6 := af == windows.AF_INET6
	// The table changes between the size query and the read: retry with
	// the size the API asks for, a few times.
	size := uint32(16 << 10)
	for range 4 {
		buf := make([]byte, size)
		r, _, _ := procGetExtendedTcpTable.Call(uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), 0, uintptr(af), class, 0)
		switch windows.Errno(r) {
		case windows.ERROR_SUCCESS:
			return ownerPIDInTable(buf[:min(int(size), len(buf))], v6, local, remote)
		case windows.ERROR_INSUFFICIENT_BUFFER:
			size += 4 << 10 // room for connections opened meanwhile
			continue
		default:
			return tcpOwner{}, false, fmt.Errorf("GetExtendedTcpTable: %w", windows.Errno(r))
		}
	}
	return tcpOwner{}, false, errors.New("GetExtendedTcpTable: the table kept growing")
}

// processUser returns the user SID of process pid's token.
func processUser(pid uint32) (*windows.SID, error) {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return nil, fmt.Errorf("OpenProcess: %w", err)
	}
	defer windows.CloseHandle(h)
	var tok windows.Token
	if err := windows.OpenProcessToken(h, windows.TOKEN_QUERY, &tok); err != nil {
		return nil, fmt.Errorf("OpenProcessToken: %w", err)
	}
	defer tok.Close()
	u, err := tok.GetTokenUser() // a buffer of its own, valid after Close
	if err != nil {
		return nil, fmt.Errorf("GetTokenUser: %w", err)
	}
	return u.User.Sid, nil
}
