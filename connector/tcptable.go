package connector

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"time"
)

// The TCP tables of Windows' GetExtendedTcpTable with the class
// TCP_TABLE_OWNER_PID_CONNECTIONS (iphlpapi, tcpmib.h): a DWORD count of
// rows, then the rows. Addresses are in network byte order; a port is a
// DWORD whose first two bytes hold it in network byte order. The parser is
// portable so that it is tested on every system; only peer_windows.go
// calls the API.
const (
	// MIB_TCPROW_OWNER_PID: dwState, dwLocalAddr, dwLocalPort,
	// dwRemoteAddr, dwRemotePort, dwOwningPid.
	tcpRowOwnerPIDSize = 24
	// MIB_TCP6ROW_OWNER_PID: ucLocalAddr[16], dwLocalScopeId, dwLocalPort,
	// ucRemoteAddr[16], dwRemoteScopeId, dwRemotePort, dwState,
	// dwOwningPid.
	tcp6RowOwnerPIDSize = 56
)

var errMalformedTCPTable = errors.New("malformed TCP table")

// tcpStateTimeWait is MIB_TCP_STATE_TIME_WAIT (tcpmib.h).
const tcpStateTimeWait = 11

// tcpOwner is what a row of the table says of its socket: the owning
// process and the MIB_TCP_STATE.
type tcpOwner struct {
	PID, State uint32
}

// ownerRereads are the waits before each new read of the table when a row
// that is not in TIME_WAIT says PID 0. Wine 8.0 finds a row's owner by the
// socket's inode among the open files of its processes, and a socket that
// so far only the wineserver holds is found in none: measured under load
// (TestHalfClose, three busy loops on two CPUs), 80 of 150 half-closed
// clients read PID 0 once and their own PID 1-3 ms later. Windows gives
// PID 0 to TIME_WAIT rows, which are closed for good and are not read
// again. At most 15 ms in all, then the owner is unknown.
var ownerRereads = []time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond, 8 * time.Millisecond}

// ownerOfRow reads the row of one socket with read and, while it says PID
// 0 outside TIME_WAIT, reads it again after each of the waits. It returns
// the last read.
func ownerOfRow(read func() (tcpOwner, bool, error), waits []time.Duration, sleep func(time.Duration)) (tcpOwner, bool, error) {
	row, found, err := read()
	for _, d := range waits {
		if err != nil || !found || row.PID != 0 || row.State == tcpStateTimeWait {
			break
		}
		sleep(d)
		row, found, err = read()
	}
	return row, found, err
}

// ownerPIDInTable returns the owner and state of the row whose local end is
// local and remote end is remote, in a table of GetExtendedTcpTable
// (TCP_TABLE_OWNER_PID_CONNECTIONS) for IPv4 (v6 false) or IPv6 (v6 true).
// The count of rows is checked against the table's length. Only an exact
// match of both ends counts: the connection seen from the other side (the
// listener's own accepted socket) has the ends swapped.
func ownerPIDInTable(table []byte, v6 bool, local, remote netip.AddrPort) (row tcpOwner, found bool, err error) {
	if len(table) < 4 {
		return tcpOwner{}, false, errMalformedTCPTable
	}
	rowSize := tcpRowOwnerPIDSize
	if v6 {
		rowSize = tcp6RowOwnerPIDSize
	}
	le := binary.LittleEndian // Windows runs little-endian only
	n := uint64(le.Uint32(table))
	rows := table[4:]
	if n > uint64(len(rows)/rowSize) {
		return tcpOwner{}, false, errMalformedTCPTable
	}
	port := func(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
	for i := range int(n) {
		r := rows[i*rowSize : (i+1)*rowSize]
		var l, rm netip.AddrPort
		var owner tcpOwner
		if v6 {
			// A dual-stack socket connected to 127.0.0.1 is listed here
			// with ::ffff:127.0.0.1: unmapped, it matches the IPv4 pair.
			l = netip.AddrPortFrom(netip.AddrFrom16([16]byte(r[0:16])).Unmap(), port(r[20:24]))
			rm = netip.AddrPortFrom(netip.AddrFrom16([16]byte(r[24:40])).Unmap(), port(r[44:48]))
			owner = tcpOwner{PID: le.Uint32(r[52:56]), State: le.Uint32(r[48:52])}
		} else {
			l = netip.AddrPortFrom(netip.AddrFrom4([4]byte(r[4:8])), port(r[8:12]))
			rm = netip.AddrPortFrom(netip.AddrFrom4([4]byte(r[12:16])), port(r[16:20]))
			owner = tcpOwner{PID: le.Uint32(r[20:24]), State: le.Uint32(r[0:4])}
		}
		if l == local && rm == remote {
			return owner, true, nil
		}
	}
	return tcpOwner{}, false, nil
}
