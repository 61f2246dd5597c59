package connector

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"
)

// tcpRow4 and tcpRow6 lay out rows as GetExtendedTcpTable does
// (TCP_TABLE_OWNER_PID_CONNECTIONS), for ownerPIDInTable's tests.
func tcpRow4(local, remote netip.AddrPort, pid uint32) []byte {
	return tcpRow4State(local, remote, pid, 5) // MIB_TCP_STATE_ESTAB
}

func tcpRow4State(local, remote netip.AddrPort, pid, state uint32) []byte {
	r := make([]byte, tcpRowOwnerPIDSize)
	binary.LittleEndian.PutUint32(r[0:], state)
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
	return tcpRow6State(local, remote, pid, 5)
}

func tcpRow6State(local, remote netip.AddrPort, pid, state uint32) []byte {
	r := make([]byte, tcp6RowOwnerPIDSize)
	a := local.Addr().As16()
	copy(r[0:16], a[:])
	binary.BigEndian.PutUint16(r[20:], local.Port())
	a = remote.Addr().As16()
	copy(r[24:40], a[:])
	binary.BigEndian.PutUint16(r[44:], remote.Port())
	binary.LittleEndian.PutUint32(r[48:], state)
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
	closed := ap("127.0.0.1:51003")
	v4 := tcpTable(
		tcpRow4(ap("10.0.0.5:51000"), ap("10.0.0.9:4000"), 11), // same ports, other addresses
		tcpRow4(listener, client, 22),                          // the listener's accepted socket: ends swapped
		tcpRow4(other, listener, 33),
		tcpRow4(client, listener, 44), // the client's socket
		tcpRow4State(closed, listener, 0, tcpStateTimeWait),
	)
	l6, c6 := ap("[::1]:4000"), ap("[::1]:51000")
	mapped := func(a netip.AddrPort) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr().As16()), a.Port())
	}
	v6 := tcpTable(tcpRow6(l6, c6, 55), tcpRow6State(c6, l6, 66, 7), tcpRow6(mapped(other), mapped(listener), 77))
	for _, tc := range []struct {
		name          string
		table         []byte
		v6            bool
		local, remote netip.AddrPort
		row           tcpOwner
		found         bool
		err           error
	}{
		{"IPv4 client socket", v4, false, client, listener, tcpOwner{44, 5}, true, nil},
		{"IPv4 second client", v4, false, other, listener, tcpOwner{33, 5}, true, nil},
		{"IPv4 TIME_WAIT row", v4, false, closed, listener, tcpOwner{0, tcpStateTimeWait}, true, nil},
		{"IPv4 unknown port", v4, false, ap("127.0.0.1:51002"), listener, tcpOwner{}, false, nil},
		{"IPv4 remote peer", v4, false, ap("192.0.2.1:51000"), listener, tcpOwner{}, false, nil},
		{"IPv6 client socket in FIN_WAIT_2", v6, true, c6, l6, tcpOwner{66, 7}, true, nil},
		{"dual-stack client socket to 127.0.0.1", v6, true, other, listener, tcpOwner{77, 5}, true, nil},
		{"empty table", tcpTable(), false, client, listener, tcpOwner{}, false, nil},
		{"short header", []byte{1, 0}, false, client, listener, tcpOwner{}, false, errMalformedTCPTable},
		{"count beyond the data", append(tcpTable(tcpRow4(client, listener, 44)), 0)[:20], false, client, listener, tcpOwner{}, false, errMalformedTCPTable},
		{"IPv4 rows read as IPv6", tcpTable(tcpRow4(client, listener, 44), tcpRow4(client, listener, 44)), true, c6, l6, tcpOwner{}, false, errMalformedTCPTable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			row, found, err := ownerPIDInTable(tc.table, tc.v6, tc.local, tc.remote)
			if row != tc.row || found != tc.found || !errors.Is(err, tc.err) {
				t.Errorf("ownerPIDInTable = %+v, %v, %v; want %+v, %v, %v", row, found, err, tc.row, tc.found, tc.err)
			}
		})
	}
}

// TestOwnerOfRow: a row that says PID 0 outside TIME_WAIT is read again,
// a bounded number of times (Wine names the owner of a new socket a little
// later); a TIME_WAIT row, a row with an owner, a missing row and a failed
// read are taken as they are.
func TestOwnerOfRow(t *testing.T) {
	errRead := errors.New("GetExtendedTcpTable: broken")
	type read struct {
		row   tcpOwner
		found bool
		err   error
	}
	estab := func(pid uint32) read { return read{tcpOwner{pid, 5}, true, nil} }
	waits := []time.Duration{1, 2, 4, 8}
	for _, tc := range []struct {
		name   string
		reads  []read
		want   read
		nreads int
	}{
		{"owner at once", []read{estab(44)}, estab(44), 1},
		{"owner on the second read", []read{estab(0), estab(44)}, estab(44), 2},
		{"owner on the last read", []read{estab(0), estab(0), estab(0), estab(0), estab(44)}, estab(44), 5},
		{"never an owner", []read{estab(0), estab(0), estab(0), estab(0), estab(0), estab(44)}, estab(0), 5},
		{"TIME_WAIT is not read again", []read{{tcpOwner{0, tcpStateTimeWait}, true, nil}, estab(44)}, read{tcpOwner{0, tcpStateTimeWait}, true, nil}, 1},
		{"row gone on a new read", []read{estab(0), {}}, read{}, 2},
		{"read fails", []read{{err: errRead}, estab(44)}, read{err: errRead}, 1},
		{"read fails on a new read", []read{estab(0), {err: errRead}}, read{err: errRead}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			var slept []time.Duration
			row, found, err := ownerOfRow(func() (tcpOwner, bool, error) {
				r := tc.reads[n]
				n++
				return r.row, r.found, r.err
			}, waits, func(d time.Duration) { slept = append(slept, d) })
			if row != tc.want.row || found != tc.want.found || !errors.Is(err, tc.want.err) {
				t.Errorf("ownerOfRow = %+v, %v, %v; want %+v, %v, %v", row, found, err, tc.want.row, tc.want.found, tc.want.err)
			}
			if n != tc.nreads || len(slept) != n-1 {
				t.Errorf("%d reads after waits %v, want %d reads", n, slept, tc.nreads)
			}
			for i, d := range slept {
				if d != waits[i] {
					t.Errorf("wait %d = %v, want %v", i, d, waits[i])
				}
			}
		})
	}
}
