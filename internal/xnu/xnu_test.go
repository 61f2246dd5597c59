package xnu

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

// The records below are written at the byte offsets of XNU's published
// structures (bsd/netinet/in_pcb.h, bsd/sys/socketvar.h,
// bsd/netinet/tcp_var.h, bsd/sys/proc_info.h of xnu-8019.41.5 and
// xnu-11417.101.15), spelled out as numbers here rather than taken from
// the package's constants, so that a wrong constant fails a test. The
// layouts hold for amd64 and arm64 alike: the pcblist structures are
// #pragma pack(4) with fixed-size fields, proc_info's are naturally
// aligned LP64, and both architectures are little-endian.

var le = binary.LittleEndian

// tcpRecord is one PCB as get_pcblist_n writes it.
type tcpRecord struct {
	local, foreign netip.AddrPort
	v6             bool // INP_IPV6 (else INP_IPV4)
	uid            uint32
	lastPID, ePID  int32
	state          int32
	noSocket       bool
	sockLen        uint32 // xsocket_n length: 104 (macOS 13+) or 76 (macOS 12); 0 means 104
}

func (r tcpRecord) bytes() []byte {
	sockLen := r.sockLen
	if sockLen == 0 {
		sockLen = 104
	}
	pad8 := func(n int) int { return (n + 7) &^ 7 }
	// xinpcb_n, 104 bytes.
	xi := make([]byte, 104)
	le.PutUint32(xi[0:], 104)
	le.PutUint32(xi[4:], 0x10) // XSO_INPCB
	binary.BigEndian.PutUint16(xi[16:], r.foreign.Port())
	binary.BigEndian.PutUint16(xi[18:], r.local.Port())
	xi[46] = 6 // inp_ip_p
	if r.v6 {
		xi[44] = 0x2
		f, l := r.foreign.Addr().As16(), r.local.Addr().As16()
		copy(xi[48:], f[:])
		copy(xi[64:], l[:])
	} else {
		xi[44] = 0x1
		f, l := r.foreign.Addr().As4(), r.local.Addr().As4()
		copy(xi[48+12:], f[:])
		copy(xi[64+12:], l[:])
	}
	// xsocket_n.
	xso := make([]byte, sockLen)
	le.PutUint32(xso[0:], sockLen)
	le.PutUint32(xso[4:], 0x1) // XSO_SOCKET
	if !r.noSocket {
		le.PutUint16(xso[16:], 1) // so_type SOCK_STREAM
		le.PutUint32(xso[36:], 6) // xso_protocol
		le.PutUint32(xso[40:], 2) // xso_family
		le.PutUint32(xso[64:], r.uid)
		le.PutUint32(xso[68:], uint32(r.lastPID))
		le.PutUint32(xso[72:], uint32(r.ePID))
	}
	sb := func(kind uint32) []byte {
		b := make([]byte, 32)
		le.PutUint32(b[0:], 32)
		if !r.noSocket {
			le.PutUint32(b[4:], kind)
		}
		return b
	}
	st := make([]byte, 136)
	le.PutUint32(st[0:], 136)
	le.PutUint32(st[4:], 0x8) // XSO_STATS
	xt := make([]byte, 204)
	le.PutUint32(xt[0:], 204)
	le.PutUint32(xt[4:], 0x20) // XSO_TCPCB
	le.PutUint32(xt[36:], uint32(r.state))
	var out []byte
	for _, part := range [][]byte{xi, xso, sb(0x2), sb(0x4), st, xt} {
		p := make([]byte, pad8(len(part)))
		copy(p, part)
		out = append(out, p...)
	}
	return out
}

func xinpgen(count uint32) []byte {
	b := make([]byte, 24)
	le.PutUint32(b[0:], 24)
	le.PutUint32(b[4:], count)
	le.PutUint64(b[8:], 77) // xig_gen
	le.PutUint64(b[16:], 78)
	return b
}

func pcbList(recs ...tcpRecord) []byte {
	b := xinpgen(uint32(len(recs)))
	for _, r := range recs {
		b = append(b, r.bytes()...)
	}
	return append(b, xinpgen(uint32(len(recs)))...)
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestRecordSizes(t *testing.T) {
	// 104 + 104 + 32 + 32 + 136 + 208 (204 rounded up to 8): the item_size
	// of get_pcblist_n for TCP on macOS 13 and later.
	if n := len(tcpRecord{local: ap("127.0.0.1:1"), foreign: ap("127.0.0.1:2")}.bytes()); n != 616 {
		t.Fatalf("record of %d bytes, want 616", n)
	}
	if n := len(tcpRecord{local: ap("127.0.0.1:1"), foreign: ap("127.0.0.1:2"), sockLen: 76}.bytes()); n != 592 {
		t.Fatalf("macOS 12 record of %d bytes, want 592", n)
	}
}

func TestFindPCB(t *testing.T) {
	client := tcpRecord{local: ap("127.0.0.1:50001"), foreign: ap("127.0.0.1:4000"), uid: 501, lastPID: 900, ePID: 900, state: 4}
	server := tcpRecord{local: ap("127.0.0.1:4000"), foreign: ap("127.0.0.1:50001"), uid: 502, lastPID: 800, state: 4}
	listener := tcpRecord{local: ap("127.0.0.1:4000"), foreign: ap("0.0.0.0:0"), uid: 502, state: 1}
	other6 := tcpRecord{v6: true, local: ap("[::1]:50002"), foreign: ap("[::1]:4000"), uid: 0, lastPID: 1, state: 4}
	mapped := tcpRecord{v6: true, local: ap("[::ffff:127.0.0.1]:50003"), foreign: ap("[::ffff:127.0.0.1]:4000"), uid: 503, lastPID: 7, state: 4}
	old := tcpRecord{local: ap("127.0.0.1:50004"), foreign: ap("127.0.0.1:4000"), uid: 504, lastPID: 8, state: 4, sockLen: 76}
	gone := tcpRecord{local: ap("127.0.0.1:50005"), foreign: ap("127.0.0.1:4000"), state: 10, noSocket: true}
	list := pcbList(listener, server, other6, client, mapped, old, gone)

	tests := []struct {
		name           string
		local, foreign string
		want           PCB
		found          bool
	}{
		{"client end", "127.0.0.1:50001", "127.0.0.1:4000", PCB{Local: ap("127.0.0.1:50001"), Foreign: ap("127.0.0.1:4000"), UID: 501, LastPID: 900, EPID: 900, State: 4}, true},
		{"server end, ends swapped", "127.0.0.1:4000", "127.0.0.1:50001", PCB{Local: ap("127.0.0.1:4000"), Foreign: ap("127.0.0.1:50001"), UID: 502, LastPID: 800, State: 4}, true},
		{"ipv6", "[::1]:50002", "[::1]:4000", PCB{Local: ap("[::1]:50002"), Foreign: ap("[::1]:4000"), LastPID: 1, State: 4}, true},
		{"ipv4-mapped on an ipv6 pcb", "127.0.0.1:50003", "127.0.0.1:4000", PCB{Local: ap("127.0.0.1:50003"), Foreign: ap("127.0.0.1:4000"), UID: 503, LastPID: 7, State: 4}, true},
		{"macOS 12 xsocket_n", "127.0.0.1:50004", "127.0.0.1:4000", PCB{Local: ap("127.0.0.1:50004"), Foreign: ap("127.0.0.1:4000"), UID: 504, LastPID: 8, State: 4}, true},
		{"no socket (TIME_WAIT)", "127.0.0.1:50005", "127.0.0.1:4000", PCB{Local: ap("127.0.0.1:50005"), Foreign: ap("127.0.0.1:4000"), NoSocket: true, State: 10}, true},
		{"absent", "127.0.0.1:50009", "127.0.0.1:4000", PCB{}, false},
		{"listener only matches its own pair", "127.0.0.1:4000", "127.0.0.1:1", PCB{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, found, err := FindPCB(list, ap(tc.local), ap(tc.foreign))
			if err != nil {
				t.Fatal(err)
			}
			if found != tc.found || got != tc.want {
				t.Fatalf("FindPCB = %+v, %v; want %+v, %v", got, found, tc.want, tc.found)
			}
		})
	}
	// An earlier connection of the same ends, kept in TIME_WAIT without a
	// socket, before the live one: the live one is the answer.
	stale := tcpRecord{local: client.local, foreign: client.foreign, state: 10, noSocket: true}
	if got, found, err := FindPCB(pcbList(stale, client), client.local, client.foreign); err != nil || !found || got.NoSocket || got.UID != 501 {
		t.Fatalf("TIME_WAIT before the live PCB: %+v, %v, %v; want the live one", got, found, err)
	}
	if _, _, err := FindPCB(pcbList(client, client), client.local, client.foreign); err == nil {
		t.Fatal("two live PCBs with the same ends: no error")
	}

	all, err := ParsePCBList(list)
	if err != nil || len(all) != 7 {
		t.Fatalf("ParsePCBList: %d PCBs, %v; want 7", len(all), err)
	}
	if all, err := ParsePCBList(pcbList()); err != nil || len(all) != 0 {
		t.Fatalf("empty list: %v, %v", all, err)
	}
}

// TestPCBListLayoutErrors: every length and kind is checked; a mismatch
// anywhere in the list, even after the match, is a *LayoutError.
func TestPCBListLayoutErrors(t *testing.T) {
	rec := tcpRecord{local: ap("127.0.0.1:50001"), foreign: ap("127.0.0.1:4000"), uid: 501, state: 4}
	good := pcbList(rec, rec)
	second := 24 + 616
	tests := []struct {
		name  string
		patch func(b []byte) []byte
	}{
		{"empty", func([]byte) []byte { return nil }},
		{"xinpgen length", func(b []byte) []byte { le.PutUint32(b[0:], 28); return b }},
		{"no closing xinpgen", func(b []byte) []byte { return b[:len(b)-24] }},
		{"closing xinpgen cut", func(b []byte) []byte { return b[:len(b)-10] }},
		{"xinpcb_n length", func(b []byte) []byte { le.PutUint32(b[24:], 112); return b }},
		{"xinpcb_n kind", func(b []byte) []byte { le.PutUint32(b[28:], 0x1); return b }},
		{"xsocket_n length", func(b []byte) []byte { le.PutUint32(b[24+104:], 112); return b }},
		{"xsocket_n kind", func(b []byte) []byte { le.PutUint32(b[24+104+4:], 0x10); return b }},
		{"receive buffer kind", func(b []byte) []byte { le.PutUint32(b[24+208+4:], 0x4); return b }},
		{"send buffer length", func(b []byte) []byte { le.PutUint32(b[24+240:], 40); return b }},
		{"xsockstat_n kind", func(b []byte) []byte { le.PutUint32(b[24+272+4:], 0x2); return b }},
		{"xtcpcb_n length", func(b []byte) []byte { le.PutUint32(b[24+408:], 208); return b }},
		{"xtcpcb_n kind (a UDP list)", func(b []byte) []byte { le.PutUint32(b[24+408+4:], 0); return b }},
		{"second record's xsocket_n length", func(b []byte) []byte { le.PutUint32(b[second+104:], 100); return b }},
		{"not a stream socket", func(b []byte) []byte { le.PutUint16(b[24+104+16:], 2); return b }},
		{"socket buffers missing on a socket", func(b []byte) []byte { le.PutUint32(b[24+208+4:], 0); return b }},
		{"no address family", func(b []byte) []byte { b[24+44] = 0; return b }},
		{"record cut", func(b []byte) []byte { return b[:24+300] }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.patch(append([]byte(nil), good...))
			_, _, err := FindPCB(b, rec.local, rec.foreign)
			var le *LayoutError
			if !errors.As(err, &le) {
				t.Fatalf("FindPCB = %v, want a *LayoutError", err)
			}
		})
	}
}

// socketFDInfo writes struct socket_fdinfo (792 bytes) for a socket of
// kind soiKind; for SOCKINFO_TCP, the addresses of s.
func socketFDInfo(kind uint32, v6 bool, s TCPSocket) []byte {
	b := make([]byte, 792)
	const psi = 24               // after struct proc_fileinfo
	le.PutUint32(b[psi+152:], 1) // soi_type SOCK_STREAM
	le.PutUint32(b[psi+156:], 6) // soi_protocol IPPROTO_TCP
	le.PutUint32(b[psi+160:], 2) // soi_family AF_INET
	le.PutUint32(b[psi+232:], kind)
	in := b[psi+240:] // soi_proto: struct tcp_sockinfo, struct in_sockinfo first
	binary.BigEndian.PutUint16(in[0:], s.Foreign.Port())
	binary.BigEndian.PutUint16(in[4:], s.Local.Port())
	if v6 {
		le.PutUint32(b[psi+160:], 30) // AF_INET6
		in[24] = 0x2
		f, l := s.Foreign.Addr().As16(), s.Local.Addr().As16()
		copy(in[32:], f[:])
		copy(in[48:], l[:])
	} else {
		in[24] = 0x1
		f, l := s.Foreign.Addr().As4(), s.Local.Addr().As4()
		copy(in[32+12:], f[:])
		copy(in[48+12:], l[:])
	}
	le.PutUint32(in[80:], uint32(s.State)) // tcpsi_state
	return b
}

func TestParseSocketFDInfo(t *testing.T) {
	s := TCPSocket{Local: ap("127.0.0.1:50001"), Foreign: ap("127.0.0.1:4000"), State: 4}
	got, tcp, err := ParseSocketFDInfo(socketFDInfo(2, false, s))
	if err != nil || !tcp || got != s {
		t.Fatalf("ipv4: %+v, %v, %v; want %+v", got, tcp, err, s)
	}
	s6 := TCPSocket{Local: ap("[::1]:50001"), Foreign: ap("[::1]:4000"), State: 4}
	if got, tcp, err := ParseSocketFDInfo(socketFDInfo(2, true, s6)); err != nil || !tcp || got != s6 {
		t.Fatalf("ipv6: %+v, %v, %v; want %+v", got, tcp, err, s6)
	}
	if _, tcp, err := ParseSocketFDInfo(socketFDInfo(3, false, s)); err != nil || tcp {
		t.Fatalf("a unix socket: tcp %v, %v; want false, nil", tcp, err)
	}
	for name, b := range map[string][]byte{
		"short":         socketFDInfo(2, false, s)[:791],
		"long":          append(socketFDInfo(2, false, s), 0),
		"no family":     func() []byte { b := socketFDInfo(2, false, s); b[24+240+24] = 0; return b }(),
		"not tcp proto": func() []byte { b := socketFDInfo(2, false, s); le.PutUint32(b[24+156:], 17); return b }(),
	} {
		var le *LayoutError
		if _, _, err := ParseSocketFDInfo(b); !errors.As(err, &le) {
			t.Errorf("%s: %v, want a *LayoutError", name, err)
		}
	}
}

func TestSocketFDs(t *testing.T) {
	b := make([]byte, 4*8)
	for i, e := range [][2]uint32{{0, 1}, {3, 2}, {4, 6}, {7, 2}} {
		le.PutUint32(b[8*i:], e[0])
		le.PutUint32(b[8*i+4:], e[1])
	}
	fds, err := SocketFDs(b)
	if err != nil || len(fds) != 2 || fds[0] != 3 || fds[1] != 7 {
		t.Fatalf("SocketFDs = %v, %v; want [3 7]", fds, err)
	}
	if _, err := SocketFDs(b[:12]); err == nil {
		t.Fatal("SocketFDs of 12 bytes: no error")
	}
}

func TestPIDs(t *testing.T) {
	b := make([]byte, 16)
	le.PutUint32(b[0:], 10)
	le.PutUint32(b[4:], 11)
	pids, err := PIDs(b, 2)
	if err != nil || len(pids) != 2 || pids[0] != 10 || pids[1] != 11 {
		t.Fatalf("PIDs = %v, %v", pids, err)
	}
	if _, err := PIDs(b, 5); err == nil {
		t.Fatal("PIDs of 5 in 16 bytes: no error")
	}
}

// FuzzPCBList: any bytes either parse or give an error, never a panic; a
// PCB found has the ends asked for; every PCB of a list that parses has
// an address of one family and a socket or none.
func FuzzPCBList(f *testing.F) {
	rec := tcpRecord{local: ap("127.0.0.1:50001"), foreign: ap("127.0.0.1:4000"), uid: 501, state: 4}
	f.Add(pcbList(rec))
	f.Add(pcbList(rec, tcpRecord{v6: true, local: ap("[::1]:1"), foreign: ap("[::1]:2"), sockLen: 76}))
	f.Add(pcbList())
	f.Add(pcbList(tcpRecord{local: ap("127.0.0.1:5"), foreign: ap("127.0.0.1:6"), noSocket: true}))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, found, err := FindPCB(b, rec.local, rec.foreign)
		if err != nil && found {
			t.Fatal("found with an error")
		}
		if found && (p.Local != rec.local || p.Foreign != rec.foreign) {
			t.Fatalf("found %+v for %v %v", p, rec.local, rec.foreign)
		}
		all, err := ParsePCBList(b)
		if err != nil {
			return
		}
		for _, p := range all {
			if p.Local.Addr().Is4() != p.Foreign.Addr().Is4() {
				t.Fatalf("mixed families: %+v", p)
			}
			if p.NoSocket && (p.UID != 0 || p.LastPID != 0) {
				t.Fatalf("no socket, yet an owner: %+v", p)
			}
		}
	})
}

// FuzzSocketFDInfo: never a panic; a TCP socket's ends are of one family.
func FuzzSocketFDInfo(f *testing.F) {
	f.Add(socketFDInfo(2, false, TCPSocket{Local: ap("127.0.0.1:1"), Foreign: ap("127.0.0.1:2")}))
	f.Add(socketFDInfo(2, true, TCPSocket{Local: ap("[::1]:1"), Foreign: ap("[::1]:2")}))
	f.Add(make([]byte, 792))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, tcp, err := ParseSocketFDInfo(b)
		if err == nil && tcp && s.Local.Addr().Is4() != s.Foreign.Addr().Is4() {
			t.Fatalf("mixed families: %+v", s)
		}
		_, _ = SocketFDs(b)
	})
}
