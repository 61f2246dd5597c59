package connector

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

const peerCheckAvailable = true

// checkPeerOwner finds the uid owning the client end of conn with one
// sock_diag exact lookup (NETLINK_INET_DIAG, SOCK_DIAG_BY_FAMILY without
// NLM_F_DUMP): the kernel looks the socket up in its hash tables by address
// pair and reports the uid it was created with. Unlike reading
// /proc/net/tcp, there is no text to parse and the cost does not grow with
// the number of sockets on the machine.
func checkPeerOwner(conn net.Conn, admit func(pid int) error, roots func() []int) error {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return fmt.Errorf("%w: not a TCP connection", errPeerUnchecked)
	}
	local := tc.LocalAddr().(*net.TCPAddr).AddrPort()
	remote := tc.RemoteAddr().(*net.TCPAddr).AddrPort()
	uid, found, err := socketUID(remote, local)
	if err != nil {
		return fmt.Errorf("finding the owner of the connection from %s: %w", remote, err)
	}
	if !found {
		// Not a socket of this machine (or of this network namespace).
		return fmt.Errorf("%w: connection from %s is not from this machine", errPeerUnchecked, remote)
	}
	if want := uint32(os.Geteuid()); uid != want {
		return &PeerOwnerError{Owner: fmt.Sprintf("uid %d", uid), Want: fmt.Sprintf("uid %d", want)}
	}
	if admit != nil {
		// The search for the socket's holders comes in the next change;
		// until then a process rule refuses everything (fail closed).
		return &PeerProcessError{Owner: fmt.Sprintf("uid %d", uid), Err: errors.New("process admission is not implemented yet")}
	}
	return nil
}

// Layouts from <linux/netlink.h> and <linux/inet_diag.h>.
const (
	sizeofNlMsghdr      = 16
	sizeofInetDiagReqV2 = 56
	inetDiagNoCookie    = 0xffffffff
	inetDiagMsgUIDOff   = 64 // offsetof(struct inet_diag_msg, idiag_uid)
	sizeofInetDiagMsg   = 72
	tcpListen           = 10 // TCP_LISTEN in <net/tcp_states.h>
)

// socketUID returns the uid of the TCP socket whose local end is src and
// remote end is dst.
func socketUID(src, dst netip.AddrPort) (uid uint32, found bool, err error) {
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	family := byte(unix.AF_INET)
	if src.Addr().Is6() {
		family = unix.AF_INET6
	}
	if src.Addr().Is4() != dst.Addr().Is4() {
		return 0, false, nil
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_INET_DIAG)
	if err != nil {
		return 0, false, fmt.Errorf("sock_diag: %w", err)
	}
	defer unix.Close(fd)
	tv := unix.Timeval{Sec: 2}
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, false, fmt.Errorf("sock_diag: bind: %w", err)
	}

	req := make([]byte, sizeofNlMsghdr+sizeofInetDiagReqV2)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST)
	ne.PutUint32(req[8:], 1) // seq
	r := req[sizeofNlMsghdr:]
	r[0] = family
	r[1] = unix.IPPROTO_TCP
	ne.PutUint32(r[4:], 0xffffffff) // every TCP state
	id := r[8:]
	binary.BigEndian.PutUint16(id[0:], src.Port())
	binary.BigEndian.PutUint16(id[2:], dst.Port())
	putAddr(id[4:20], src.Addr())
	putAddr(id[20:36], dst.Addr())
	ne.PutUint32(id[40:], inetDiagNoCookie)
	ne.PutUint32(id[44:], inetDiagNoCookie)

	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, false, fmt.Errorf("sock_diag: send: %w", err)
	}
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return 0, false, fmt.Errorf("sock_diag: receive: %w", err)
		}
		msgs, err := parseNetlink(buf[:n])
		if err != nil {
			return 0, false, fmt.Errorf("sock_diag: %w", err)
		}
		for _, m := range msgs {
			switch m.typ {
			case unix.NLMSG_ERROR:
				if len(m.data) < 4 {
					return 0, false, fmt.Errorf("sock_diag: short error message")
				}
				errno := -int32(ne.Uint32(m.data))
				switch unix.Errno(errno) {
				case 0:
					continue
				case unix.ENOENT:
					return 0, false, nil
				}
				return 0, false, fmt.Errorf("sock_diag: %w", unix.Errno(errno))
			case unix.NLMSG_DONE:
				return 0, false, nil
			case unix.SOCK_DIAG_BY_FAMILY:
				if len(m.data) < sizeofInetDiagMsg {
					return 0, false, fmt.Errorf("sock_diag: short answer")
				}
				// The kernel falls back to a listening socket when no
				// connection has this address pair (a peer on another
				// machine whose source port is some listener's port): only
				// an exact match of both ends counts. A client on an IPv6
				// socket that reached 127.0.0.1 (Java's default) is
				// reported as AF_INET6 with ::ffff:127.0.0.1: compare the
				// addresses, not the bytes.
				gotSrc, gotDst := diagEnds(m.data)
				if m.data[1] == tcpListen || gotSrc != src || gotDst != dst {
					return 0, false, nil
				}
				return ne.Uint32(m.data[inetDiagMsgUIDOff:]), true, nil
			}
		}
	}
}

// diagEnds returns the two ends of the socket an inet_diag_msg describes
// (idiag_family, then the inet_diag_sockid from byte 4), IPv4-mapped
// addresses unmapped.
func diagEnds(msg []byte) (src, dst netip.AddrPort) {
	id := msg[4:]
	addr := func(b []byte) netip.Addr {
		if msg[0] == unix.AF_INET {
			return netip.AddrFrom4([4]byte(b[:4]))
		}
		return netip.AddrFrom16([16]byte(b[:16])).Unmap()
	}
	src = netip.AddrPortFrom(addr(id[4:20]), binary.BigEndian.Uint16(id[0:]))
	dst = netip.AddrPortFrom(addr(id[20:36]), binary.BigEndian.Uint16(id[2:]))
	return src, dst
}

func putAddr(dst []byte, a netip.Addr) {
	if a.Is4() {
		b := a.As4()
		copy(dst, b[:])
		return
	}
	b := a.As16()
	copy(dst, b[:])
}

type netlinkMsg struct {
	typ  uint16
	data []byte
}

// parseNetlink splits a netlink datagram into messages (NLMSG_ALIGN of 4).
func parseNetlink(b []byte) ([]netlinkMsg, error) {
	var msgs []netlinkMsg
	for len(b) >= sizeofNlMsghdr {
		l := int(binary.NativeEndian.Uint32(b[0:]))
		if l < sizeofNlMsghdr || l > len(b) {
			return nil, fmt.Errorf("malformed netlink message")
		}
		msgs = append(msgs, netlinkMsg{typ: binary.NativeEndian.Uint16(b[4:]), data: b[sizeofNlMsghdr:l]})
		l = (l + 3) &^ 3
		if l > len(b) {
			break
		}
		b = b[l:]
	}
	return msgs, nil
}
