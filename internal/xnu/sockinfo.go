package xnu

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// The layouts of libproc's answers, from bsd/sys/proc_info.h, identical in
// xnu-8019.41.5 (macOS 12) and xnu-11417.101.15 (macOS 15). These
// structures have natural alignment (no #pragma pack), the same on amd64
// and arm64 (LP64, little-endian).
//
//   - proc_pidinfo(pid, PROC_PIDLISTFDS): an array of struct proc_fdinfo
//     { int32_t proc_fd; uint32_t proc_fdtype; }, the byte count returned.
//   - proc_pidfdinfo(pid, fd, PROC_PIDFDSOCKETINFO): struct socket_fdinfo
//     { struct proc_fileinfo pfi (24 bytes); struct socket_info psi; },
//     792 bytes, the byte count returned. socket_info starts with a struct
//     vinfo_stat (136 bytes); soi_kind says which member of the soi_proto
//     union is filled: SOCKINFO_TCP, struct tcp_sockinfo, whose first
//     member is struct in_sockinfo.
const (
	sizeofProcFDInfo     = 8
	proxFDTypeSocket     = 2 // PROX_FDTYPE_SOCKET
	SizeofSocketFDInfo   = 792
	sockinfoTCP          = 2 // SOCKINFO_TCP
	psi                  = 24
	soiFamily            = psi + 160
	soiProtocol          = psi + 156
	soiKind              = psi + 232
	soiProto             = psi + 240 // the union, 8-aligned
	insiFport            = soiProto + 0
	insiLport            = soiProto + 4
	insiVflag            = soiProto + 24
	insiFaddr            = soiProto + 32
	insiLaddr            = soiProto + 48
	tcpsiState           = soiProto + 80
	afInet, afInet6      = 2, 30 // AF_INET, AF_INET6 on darwin
	ipprotoTCP           = 6
	procFDInfoSourceName = "proc_pidinfo(PROC_PIDLISTFDS)"
	socketInfoSourceName = "proc_pidfdinfo(PROC_PIDFDSOCKETINFO)"
)

// SocketFDs returns the descriptors that are sockets in b, the answer of
// proc_pidinfo(PROC_PIDLISTFDS) of n bytes.
func SocketFDs(b []byte) ([]int32, error) {
	if len(b)%sizeofProcFDInfo != 0 {
		return nil, &LayoutError{Source: procFDInfoSourceName, Offset: 0, What: fmt.Sprintf("%d bytes, not a whole number of %d-byte proc_fdinfo", len(b), sizeofProcFDInfo)}
	}
	le := binary.LittleEndian
	var fds []int32
	for off := 0; off < len(b); off += sizeofProcFDInfo {
		if le.Uint32(b[off+4:]) == proxFDTypeSocket {
			fds = append(fds, int32(le.Uint32(b[off:])))
		}
	}
	return fds, nil
}

// TCPSocket is a TCP socket as libproc describes it.
type TCPSocket struct {
	Local, Foreign netip.AddrPort // IPv4-mapped addresses unmapped
	State          int32          // tcpsi_state (TSI_S_*)
}

// ParseSocketFDInfo reads struct socket_fdinfo, n the byte count
// proc_pidfdinfo returned. It reports whether the socket is a TCP socket
// (soi_kind SOCKINFO_TCP); any other kind of socket is not an error, since
// a process holds many. A byte count other than the structure's is one.
func ParseSocketFDInfo(b []byte) (TCPSocket, bool, error) {
	if len(b) != SizeofSocketFDInfo {
		return TCPSocket{}, false, &LayoutError{Source: socketInfoSourceName, What: fmt.Sprintf("socket_fdinfo of %d bytes, want %d", len(b), SizeofSocketFDInfo)}
	}
	le := binary.LittleEndian
	if le.Uint32(b[soiKind:]) != sockinfoTCP {
		return TCPSocket{}, false, nil
	}
	family, proto := le.Uint32(b[soiFamily:]), le.Uint32(b[soiProtocol:])
	if (family != afInet && family != afInet6) || proto != ipprotoTCP {
		return TCPSocket{}, false, &LayoutError{Source: socketInfoSourceName, Offset: soiKind, What: fmt.Sprintf("a SOCKINFO_TCP socket of family %d and protocol %d", family, proto)}
	}
	// insi_fport and insi_lport are ints that hold a port in network byte
	// order in their low 16 bits: on a little-endian machine, the first
	// two bytes, big-endian.
	lport := binary.BigEndian.Uint16(b[insiLport:])
	fport := binary.BigEndian.Uint16(b[insiFport:])
	s := TCPSocket{State: int32(le.Uint32(b[tcpsiState:]))}
	vflag := b[insiVflag]
	var ok bool
	if s.Local, s.Foreign, ok = endpoints(vflag, b[insiLaddr:insiLaddr+16], lport, b[insiFaddr:insiFaddr+16], fport); !ok {
		return TCPSocket{}, false, &LayoutError{Source: socketInfoSourceName, Offset: insiVflag, What: fmt.Sprintf("in_sockinfo insi_vflag %#x names neither IPv4 nor IPv6", vflag)}
	}
	return s, true, nil
}

// PIDs returns the process ids of b, an array of pid_t as
// proc_listchildpids fills it, n the count it returned.
func PIDs(b []byte, n int) ([]int, error) {
	if n < 0 || n*4 > len(b) {
		return nil, fmt.Errorf("proc_listchildpids: %d processes in a buffer of %d bytes", n, len(b))
	}
	pids := make([]int, 0, n)
	for i := range n {
		if p := int32(binary.LittleEndian.Uint32(b[4*i:])); p > 0 {
			pids = append(pids, int(p))
		}
	}
	return pids, nil
}
