package connector

import (
	"encoding/binary"
	"errors"
	"net/netip"
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

// ownerPIDInTable returns the owning process of the row whose local end is
// local and remote end is remote, in a table of GetExtendedTcpTable
// (TCP_TABLE_OWNER_PID_CONNECTIONS) for IPv4 (v6 false) or IPv6 (v6 true).
// The count of rows is checked against the table's length. Only an exact
// match of both ends counts: the connection seen from the other side (the
// listener's own accepted socket) has the ends swapped.
func ownerPIDInTable(table []byte, v6 bool, local, remote netip.AddrPort) (pid uint32, found bool, err error) {
	if len(table) < 4 {
		return 0, false, errMalformedTCPTable
	}
	rowSize := tcpRowOwnerPIDSize
	if v6 {
		rowSize = tcp6RowOwnerPIDSize
	}
	le := binary.LittleEndian // Windows runs little-endian only
	n := uint64(le.Uint32(table))
	rows := table[4:]
	if n > uint64(len(rows)/rowSize) {
		return 0, false, errMalformedTCPTable
	}
	port := func(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
	for i := range int(n) {
		r := rows[i*rowSize : (i+1)*rowSize]
		var l, rm netip.AddrPort
		var owner uint32
		if v6 {
			// A dual-stack socket connected to 127.0.0.1 is listed here
			// with ::ffff:127.0.0.1: unmapped, it matches the IPv4 pair.
			l = netip.AddrPortFrom(netip.AddrFrom16([16]byte(r[0:16])).Unmap(), port(r[20:24]))
			rm = netip.AddrPortFrom(netip.AddrFrom16([16]byte(r[24:40])).Unmap(), port(r[44:48]))
			owner = le.Uint32(r[52:56])
		} else {
			l = netip.AddrPortFrom(netip.AddrFrom4([4]byte(r[4:8])), port(r[8:12]))
			rm = netip.AddrPortFrom(netip.AddrFrom4([4]byte(r[12:16])), port(r[16:20]))
			owner = le.Uint32(r[20:24])
		}
		if l == local && rm == remote {
			return owner, true, nil
		}
	}
	return 0, false, nil
}
