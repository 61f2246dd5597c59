package xnu

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// The layouts of net.inet.tcp.pcblist_n, from XNU's published sources
// (apple-oss-distributions/xnu), identical in xnu-8019.41.5 (macOS 12),
// xnu-8792.41.9 (macOS 13), xnu-10002.1.13 (macOS 14) and
// xnu-11417.101.15 (macOS 15) except where noted:
//
//   - bsd/netinet/in_pcblist.c get_pcblist_n: a struct xinpgen, then one
//     record per PCB, then a struct xinpgen again. A record is struct
//     xinpcb_n, struct xsocket_n, struct xsockbuf_n twice (receive, send),
//     struct xsockstat_n and, for TCP, struct xtcpcb_n, each starting at an
//     offset rounded up to 8 (ROUNDUP64). Records of the user-space network
//     stack (ntstat.c nstat_userland_list_snapshot) have the same form.
//   - bsd/netinet/in_pcb.h, bsd/sys/socketvar.h, bsd/netinet/tcp_var.h: all
//     these structures are declared under #pragma pack(4), with fixed-size
//     fields, so amd64 and arm64 lay them out alike (little-endian both).
//     Each begins with its length and (but xinpgen) its kind: netstat
//     reads both as struct xgen_n { u_int32_t xgn_len, xgn_kind; }.
const (
	sizeofXinpgen = 24 // xig_len, xig_count, xig_gen (8), xig_sogen (8)

	sizeofXinpcbN = 104
	// xsocket_n grew in xnu-8792 (macOS 13): so_gencnt, so_flags,
	// so_flags1, so_usecount, so_retaincnt and xso_filter_flags were
	// appended after so_e_pid. The fields read here come before them.
	sizeofXsocketN12 = 76  // xnu-8019/8020, macOS 12
	sizeofXsocketN   = 104 // xnu-8792 and later
	sizeofXsockbufN  = 32
	sizeofXsockstatN = 136 // xst_len, xst_kind, struct data_stats[SO_TC_STATS_MAX = 4]
	sizeofXtcpcbN    = 204

	// The XSO_* kinds of bsd/sys/socketvar.h.
	xsoSocket = 0x001
	xsoRcvbuf = 0x002
	xsoSndbuf = 0x004
	xsoStats  = 0x008
	xsoInpcb  = 0x010
	xsoTcpcb  = 0x020

	// struct xinpcb_n offsets. Ports are in network byte order; each
	// address is a union of struct in_addr_4in6 (the IPv4 address in its
	// last 4 bytes) and struct in6_addr.
	xiFport = 16
	xiLport = 18
	xiVflag = 44
	xiFaddr = 48
	xiLaddr = 64

	// inp_vflag bits (in_pcb.h INP_IPV4, INP_IPV6).
	inpIPv4 = 0x1
	inpIPv6 = 0x2

	// struct xsocket_n offsets.
	xsoType    = 16
	xsoUID     = 64
	xsoLastPID = 68
	xsoEPID    = 72

	// struct xtcpcb_n offset of t_state (tcp_fsm.h TCPS_*).
	xtState = 36

	sockStream = 1 // SOCK_STREAM
)

// PCB is what the kernel says of one TCP socket.
type PCB struct {
	Local, Foreign netip.AddrPort // IPv4-mapped addresses unmapped
	// NoSocket: the PCB has no socket any more (the kernel keeps it for
	// TIME_WAIT): nothing holds it, and its uid is not a user's.
	NoSocket bool
	UID      uint32 // so_uid: the user whose credentials created the socket
	LastPID  int32  // so_last_pid: the last process that used it
	EPID     int32  // so_e_pid: the process it acts for (delegation), or 0
	State    int32  // t_state (tcp_fsm.h): 4 ESTABLISHED, 10 TIME_WAIT, ...
}

// LayoutError is a record whose self-described length or kind is not one
// of the layouts this package knows: the kernel is newer (or older) than
// the structures above, and nothing it says can be trusted.
type LayoutError struct {
	Source string // "net.inet.tcp.pcblist_n", "proc_pidfdinfo"
	Offset int    // where the record starts
	What   string // "xsocket_n length 88, want 76 or 104"
}

func (e *LayoutError) Error() string {
	return fmt.Sprintf("%s: record at byte %d: %s (a macOS release whose kernel structures trustlaunch does not know)", e.Source, e.Offset, e.What)
}

const pcblistSource = "net.inet.tcp.pcblist_n"

// FindPCB returns the PCB whose local end is local and foreign end is
// foreign in list, the bytes of net.inet.tcp.pcblist_n, and whether there
// is one. The whole list is checked, not only the records before the
// match: a list that does not parse is an error wherever the fault is.
// Only an exact match of both ends counts; the same connection seen from
// the other side has the ends swapped.
//
// A PCB with a socket is preferred to one without (an earlier connection
// of the same ends, kept in TIME_WAIT); two with a socket cannot both be
// live connections, and are an error rather than a guess.
func FindPCB(list []byte, local, foreign netip.AddrPort) (PCB, bool, error) {
	var found PCB
	ok, live := false, 0
	err := walkPCBList(list, func(p PCB) {
		if p.Local != local || p.Foreign != foreign {
			return
		}
		if !p.NoSocket {
			live++
		}
		if !ok || (found.NoSocket && !p.NoSocket) {
			found, ok = p, true
		}
	})
	if err != nil {
		return PCB{}, false, err
	}
	if live > 1 {
		return PCB{}, false, fmt.Errorf("%s: %d sockets with the ends %s and %s", pcblistSource, live, local, foreign)
	}
	return found, ok, nil
}

// ParsePCBList returns every PCB of list.
func ParsePCBList(list []byte) ([]PCB, error) {
	var pcbs []PCB
	err := walkPCBList(list, func(p PCB) { pcbs = append(pcbs, p) })
	return pcbs, err
}

func walkPCBList(b []byte, each func(PCB)) error {
	le := binary.LittleEndian // darwin runs little-endian only (amd64, arm64)
	bad := func(off int, format string, args ...any) error {
		return &LayoutError{Source: pcblistSource, Offset: off, What: fmt.Sprintf(format, args...)}
	}
	if len(b) < sizeofXinpgen {
		return bad(0, "%d bytes, shorter than its xinpgen header (%d)", len(b), sizeofXinpgen)
	}
	if n := le.Uint32(b); n != sizeofXinpgen {
		return bad(0, "xinpgen length %d, want %d", n, sizeofXinpgen)
	}
	off := sizeofXinpgen
	for {
		if len(b)-off < 8 {
			return bad(off, "the list ends without its closing xinpgen")
		}
		if le.Uint32(b[off:]) == sizeofXinpgen {
			// The closing xinpgen (a record starts with xinpcb_n, longer).
			if len(b)-off < sizeofXinpgen {
				return bad(off, "closing xinpgen cut short")
			}
			return nil
		}
		p, next, err := parseRecord(b, off)
		if err != nil {
			return err
		}
		each(p)
		off = next
	}
}

// subrecord is one structure of a record: its kinds and lengths allowed.
type subrecord struct {
	name  string
	kinds []uint32
	lens  []uint32
}

// pcbRecord is the sequence get_pcblist_n writes for TCP. A socket
// buffer's kind is 0 when the PCB has no socket (sbtoxsockbuf_n leaves it
// zeroed), which parseRecord accepts only together with a socket record
// that is empty too.
var pcbRecord = []subrecord{
	{"xinpcb_n", []uint32{xsoInpcb}, []uint32{sizeofXinpcbN}},
	{"xsocket_n", []uint32{xsoSocket}, []uint32{sizeofXsocketN12, sizeofXsocketN}},
	{"xsockbuf_n (receive)", []uint32{xsoRcvbuf, 0}, []uint32{sizeofXsockbufN}},
	{"xsockbuf_n (send)", []uint32{xsoSndbuf, 0}, []uint32{sizeofXsockbufN}},
	{"xsockstat_n", []uint32{xsoStats}, []uint32{sizeofXsockstatN}},
	{"xtcpcb_n", []uint32{xsoTcpcb}, []uint32{sizeofXtcpcbN}},
}

func roundup64(n int) int { return (n + 7) &^ 7 }

// parseRecord reads the record at off and returns it and where the next
// one starts.
func parseRecord(b []byte, off int) (PCB, int, error) {
	le := binary.LittleEndian
	var parts [6][]byte
	var kinds [6]uint32
	at := off
	for i, sr := range pcbRecord {
		if len(b)-at < 8 {
			return PCB{}, 0, &LayoutError{Source: pcblistSource, Offset: at, What: sr.name + " cut short"}
		}
		n, kind := le.Uint32(b[at:]), le.Uint32(b[at+4:])
		if !contains(sr.lens, n) {
			return PCB{}, 0, &LayoutError{Source: pcblistSource, Offset: at, What: fmt.Sprintf("%s length %d, want %s", sr.name, n, list(sr.lens))}
		}
		if !contains(sr.kinds, kind) {
			return PCB{}, 0, &LayoutError{Source: pcblistSource, Offset: at, What: fmt.Sprintf("%s kind %#x, want %s", sr.name, kind, kindList(sr.kinds))}
		}
		if len(b)-at < int(n) {
			return PCB{}, 0, &LayoutError{Source: pcblistSource, Offset: at, What: fmt.Sprintf("%s of %d bytes, %d left", sr.name, n, len(b)-at)}
		}
		parts[i], kinds[i] = b[at:at+int(n)], kind
		at += roundup64(int(n))
		if at > len(b) {
			at = len(b) // the padding of the last structure may be cut; the next read says so
		}
	}
	xi, xso, xt := parts[0], parts[1], parts[5]
	p := PCB{
		UID:     le.Uint32(xso[xsoUID:]),
		LastPID: int32(le.Uint32(xso[xsoLastPID:])),
		EPID:    int32(le.Uint32(xso[xsoEPID:])),
		State:   int32(le.Uint32(xt[xtState:])),
	}
	switch soType := int16(le.Uint16(xso[xsoType:])); {
	case soType == 0 && kinds[2] == 0 && kinds[3] == 0:
		// sotoxsocket_n of no socket: nothing past the kind is written.
		p.NoSocket, p.UID, p.LastPID, p.EPID = true, 0, 0, 0
	case soType != sockStream || kinds[2] == 0 || kinds[3] == 0:
		return PCB{}, 0, &LayoutError{Source: pcblistSource, Offset: off, What: fmt.Sprintf("a TCP PCB whose socket has type %d and buffers of kinds %#x, %#x", soType, kinds[2], kinds[3])}
	}
	vflag := xi[xiVflag]
	lport := binary.BigEndian.Uint16(xi[xiLport:])
	fport := binary.BigEndian.Uint16(xi[xiFport:])
	var ok bool
	if p.Local, p.Foreign, ok = endpoints(vflag, xi[xiLaddr:xiLaddr+16], lport, xi[xiFaddr:xiFaddr+16], fport); !ok {
		return PCB{}, 0, &LayoutError{Source: pcblistSource, Offset: off, What: fmt.Sprintf("xinpcb_n inp_vflag %#x names neither IPv4 nor IPv6", vflag)}
	}
	return p, at, nil
}

// endpoints reads a connection's two ends as XNU keeps them for an
// inpcb (xinpcb_n, in_sockinfo): 16-byte addresses, IPv4 ones in the
// in_addr_4in6 form (the last 4 bytes) when vflag has INP_IPV4, which a
// dual-stack socket connected to an IPv4 address has too. ok is false
// for a vflag that names neither family.
func endpoints(vflag byte, laddr []byte, lport uint16, faddr []byte, fport uint16) (local, foreign netip.AddrPort, ok bool) {
	switch {
	case vflag&inpIPv4 != 0:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(laddr[12:16])), lport),
			netip.AddrPortFrom(netip.AddrFrom4([4]byte(faddr[12:16])), fport), true
	case vflag&inpIPv6 != 0:
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(laddr[:16])).Unmap(), lport),
			netip.AddrPortFrom(netip.AddrFrom16([16]byte(faddr[:16])).Unmap(), fport), true
	}
	return netip.AddrPort{}, netip.AddrPort{}, false
}

func contains(s []uint32, v uint32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func list(s []uint32) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " or "
		}
		out += fmt.Sprint(x)
	}
	return out
}

func kindList(s []uint32) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " or "
		}
		out += fmt.Sprintf("%#x", x)
	}
	return out
}
