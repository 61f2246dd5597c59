package connector

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

// tcpRow4 and tcpRow6 lay out rows as GetExtendedTcpTable does
// (TCP_TABLE_OWNER_PID_CONNECTIONS), for ownerPIDInTable's tests.
func tcpRow4(local, remote netip.AddrPort, pid uint32) []byte {
	r := make([]byte, tcpRowOwnerPIDSize)
	binary.LittleEndian.PutUint32(r[0:], 5) // MIB_TCP_STATE_ESTAB
	a := local.Addr().As4()
	copy(r[4:8], a[:])
	binary.BigEndian.PutUint16(r[8:], local.Port())
	a = remote.Addr().As4()
	copy(r[12:16], a[:])
	binary.BigEndian.PutUint16(r[16:], remote.Port())
	binary.LittleEndian.PutUint32(r[20:], pid)
	return r
}

func tcpRow6(local, remote netip.AddrPort, pid uint32) []byte {
	r := make([]byte, tcp6RowOwnerPIDSize)
	a := local.Addr().As16()
	copy(r[0:16], a[:])
	binary.BigEndian.PutUint16(r[20:], local.Port())
	a = remote.Addr().As16()
	copy(r[24:40], a[:])
	binary.BigEndian.PutUint16(r[44:], remote.Port())
	binary.LittleEndian.PutUint32(r[48:], 5)
	binary.LittleEndian.PutUint32(r[52:], pid)
	return r
}

func tcpTable(rows ...[]byte) []byte {
	t := binary.LittleEndian.AppendUint32(nil, uint32(len(rows)))
	for _, r := range rows {
		t = append(t, r...)
	}
	return t
}

func TestOwnerPIDInTable(t *testing.T) {
	ap := netip.MustParseAddrPort
	listener := ap("127.0.0.1:4000")
	client := ap("127.0.0.1:51000")
	other := ap("127.0.0.1:51001")
	v4 := tcpTable(
		tcpRow4(ap("10.0.0.5:51000"), ap("10.0.0.9:4000"), 11), // same ports, other addresses
		tcpRow4(listener, client, 22),                          // the listener's accepted socket: ends swapped
		tcpRow4(other, listener, 33),
		tcpRow4(client, listener, 44), // the client's socket
	)
	l6, c6 := ap("[::1]:4000"), ap("[::1]:51000")
	mapped := func(a netip.AddrPort) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr().As16()), a.Port())
	}
	v6 := tcpTable(tcpRow6(l6, c6, 55), tcpRow6(c6, l6, 66), tcpRow6(mapped(other), mapped(listener), 77))
	for _, tc := range []struct {
		name          string
		table         []byte
		v6            bool
		local, remote netip.AddrPort
		pid           uint32
		found         bool
		err           error
	}{
		{"IPv4 client socket", v4, false, client, listener, 44, true, nil},
		{"IPv4 second client", v4, false, other, listener, 33, true, nil},
		{"IPv4 unknown port", v4, false, ap("127.0.0.1:51002"), listener, 0, false, nil},
		{"IPv4 remote peer", v4, false, ap("192.0.2.1:51000"), listener, 0, false, nil},
		{"IPv6 client socket", v6, true, c6, l6, 66, true, nil},
		{"dual-stack client socket to 127.0.0.1", v6, true, other, listener, 77, true, nil},
		{"empty table", tcpTable(), false, client, listener, 0, false, nil},
		{"short header", []byte{1, 0}, false, client, listener, 0, false, errMalformedTCPTable},
		{"count beyond the data", append(tcpTable(tcpRow4(client, listener, 44)), 0)[:20], false, client, listener, 0, false, errMalformedTCPTable},
		{"IPv4 rows read as IPv6", tcpTable(tcpRow4(client, listener, 44), tcpRow4(client, listener, 44)), true, c6, l6, 0, false, errMalformedTCPTable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pid, found, err := ownerPIDInTable(tc.table, tc.v6, tc.local, tc.remote)
			if pid != tc.pid || found != tc.found || !errors.Is(err, tc.err) {
				t.Errorf("ownerPIDInTable = %d, %v, %v; want %d, %v, %v", pid, found, err, tc.pid, tc.found, tc.err)
			}
		})
	}
}
