package connector

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

const peerCheckAvailable = true

// checkPeerOwner finds the owner of the client end of conn with one
// sock_diag exact lookup (NETLINK_INET_DIAG, SOCK_DIAG_BY_FAMILY without
// NLM_F_DUMP): the kernel looks the socket up in its hash tables by address
// pair and reports the uid it was created with and its inode. Unlike
// reading /proc/net/tcp, there is no text to parse and the cost does not
// grow with the number of sockets on the machine.
//
// A socket with no inode is no longer held by any process (closed: a
// TIME_WAIT or FIN_WAIT2 timewait minisock, reported as uid 0, or an
// orphan still sending its FIN): its owner cannot be established, so it is
// refused whatever uid the kernel reports (as root, uid 0 would pass).
//
// With admit, the processes holding the inode are found (holders: with
// roots, the first one in their tree) and each must be admitted.
func checkPeerOwner(conn net.Conn, admit func(pid int) error, roots func() []int) error {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return fmt.Errorf("%w: not a TCP connection", errPeerUnchecked)
	}
	local := tc.LocalAddr().(*net.TCPAddr).AddrPort()
	remote := tc.RemoteAddr().(*net.TCPAddr).AddrPort()
	sk, found, err := socketInfo(remote, local)
	if err != nil {
		return fmt.Errorf("finding the owner of the connection from %s: %w", remote, err)
	}
	if !found {
		// Not a socket of this machine (or of this network namespace).
		return fmt.Errorf("%w: connection from %s is not from this machine", errPeerUnchecked, remote)
	}
	if sk.inode == 0 {
		return &PeerUnknownError{Reason: fmt.Sprintf("the client socket is already closed (%s, kept by the kernel with no process)", tcpStateName(sk.state))}
	}
	owner := fmt.Sprintf("uid %d", sk.uid)
	if want := uint32(os.Geteuid()); sk.uid != want {
		return &PeerOwnerError{Owner: owner, Want: fmt.Sprintf("uid %d", want)}
	}
	if admit == nil {
		return nil
	}
	pids, why := socketHolders(sk.inode, roots)
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

// socketHolders returns the processes that hold the socket with this inode
// (a descriptor whose link reads socket:[INODE]), or none and why.
//
// With roots, the search walks down from them (/proc/PID/task/*/children)
// and reads only their descriptors: the emulator's tree is a few processes,
// so an accept costs a few dozen system calls. The other direction, finding
// the holder first and walking its parent chain up, would mean reading the
// descriptors of every process of the user (hundreds on a desktop, a
// browser alone holding thousands), on every accept, including each
// refused one of a scan. Walking down is also what stays right for a
// process that left the emulator's process group or session: it is still
// a child of one of the tree (or, orphaned, of the subreaper the launcher
// names as a root). A process appearing during the walk cannot be the
// holder unless it inherited the socket from a process already walked.
//
// With roots the walk stops at the first holder, breadth first, and reads
// a process's children only when the process itself does not hold the
// socket: the emulator that connected is usually the root and has nothing
// below it, so its accept reads one descriptor table and nothing else. This
// admits nothing more than finding every holder would: each process under
// the roots is in the tree the caller chose, and AdmitProcess still decides
// on the holder found. (A socket shared with a process outside the tree is
// invisible to the walk either way.)
//
// Without roots, every process of this user is searched, and every holder
// is returned, each to be admitted: there, a holder may be any program.
func socketHolders(inode uint32, roots func() []int) ([]int, error) {
	var s procScan
	s.target = fmt.Appendf(s.target[:0], "socket:[%d]", inode)
	var candidates []int
	if roots != nil {
		candidates = roots()
	} else {
		candidates = userProcesses()
	}
	seen := make(map[int]bool, len(candidates))
	var holders []int
	var blind []string // processes whose descriptors could not be read
	for i := 0; i < len(candidates); i++ {
		pid := candidates[i]
		if pid <= 0 || seen[pid] {
			continue
		}
		seen[pid] = true
		held, err := s.holdsSocket(pid)
		switch {
		case err == nil && held:
			if roots != nil {
				return []int{pid}, nil
			}
			holders = append(holders, pid)
		case err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ESRCH):
			blind = append(blind, fmt.Sprintf("process %d (%s): %v", pid, processName(pid), err))
		}
		if roots != nil {
			candidates = s.appendChildren(candidates, pid)
		}
	}
	if len(holders) > 0 {
		return holders, nil
	}
	if len(blind) > 0 {
		// The holder may be one of these, or below one.
		return nil, fmt.Errorf("no process of the emulator's that could be inspected holds it, and %s", strings.Join(blind, "; "))
	}
	if roots != nil {
		return nil, errors.New("no process of the emulator's holds it (another program, such as a browser, or one that already closed it)")
	}
	return nil, errors.New("no process of this user holds it any more")
}

// procScan reads /proc with plain system calls into buffers it keeps
// across the processes of one search: an accept's check reads a few
// directories and files, and os.ReadDir and os.ReadFile would add an
// fstat, poller set-up and allocations to each (they were most of the
// admission's cost in BenchmarkPeerCheck).
type procScan struct {
	target []byte     // "socket:[INODE]"
	dents  [4096]byte // getdents64 records
	link   [64]byte   // a readlink result: longer than any socket:[N]
	file   [512]byte  // a children list, read in pieces
	names  []string   // entries of the directory being read
}

// holdsSocket reports whether process pid has a descriptor for s.target.
// It reads the descriptors from the highest number down: the connection
// being checked was usually opened last. A process that is not dumpable
// (a setuid or setgid program, or one that asked for it) has its /proc
// entries owned by root: EACCES, reported as such.
func (s *procScan) holdsSocket(pid int) (bool, error) {
	names, dir, err := s.readDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			return false, errors.New("its descriptors cannot be read (not dumpable: a setuid or setgid program, or one that forbids inspection)")
		}
		return false, err
	}
	defer unix.Close(dir)
	for i := len(names) - 1; i >= 0; i-- {
		k, err := unix.Readlinkat(dir, names[i], s.link[:])
		if err == nil && bytes.Equal(s.link[:k], s.target) {
			return true, nil
		}
	}
	return false, nil
}

// appendChildren appends the children of every thread of pid to pids (each
// thread has its own list: a child belongs to the thread that forked it). A
// list that cannot be read leaves those children out, so they are never
// admitted.
func (s *procScan) appendChildren(pids []int, pid int) []int {
	base := "/proc/" + strconv.Itoa(pid) + "/task/"
	tasks, dir, err := s.readDir(base)
	if err != nil {
		return pids
	}
	unix.Close(dir)
	tasks = slices.Clone(tasks) // s.names is reused below
	for _, t := range tasks {
		pids = s.appendPIDs(pids, base+t+"/children")
	}
	return pids
}

// appendPIDs appends the space-separated numbers of a children file.
func (s *procScan) appendPIDs(pids []int, path string) []int {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return pids
	}
	defer unix.Close(fd)
	n, have := 0, false
	for {
		k, err := unix.Read(fd, s.file[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || k <= 0 {
			break
		}
		for _, c := range s.file[:k] {
			if c >= '0' && c <= '9' {
				n, have = n*10+int(c-'0'), true
				continue
			}
			if have {
				pids = append(pids, n)
			}
			n, have = 0, false
		}
	}
	if have {
		pids = append(pids, n)
	}
	return pids
}

// readDir opens dir and returns the names in it (without . and ..) and the
// open descriptor, which the caller closes. The names slice is s.names,
// valid until the next call.
func (s *procScan) readDir(dir string) ([]string, int, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, -1, err
	}
	s.names = s.names[:0]
	for {
		n, err := unix.Getdents(fd, s.dents[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			unix.Close(fd)
			return nil, -1, err
		}
		if n <= 0 {
			return s.names, fd, nil
		}
		// struct linux_dirent64: d_ino, d_off (8 bytes each), d_reclen
		// (2), d_type (1), then the NUL-terminated name.
		for b := s.dents[:n]; len(b) >= 19; {
			rec := int(binary.NativeEndian.Uint16(b[16:]))
			if rec < 19 || rec > len(b) {
				break
			}
			name := b[19:rec]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			if len(name) > 0 && string(name) != "." && string(name) != ".." {
				s.names = append(s.names, string(name))
			}
			b = b[rec:]
		}
	}
}

// userProcesses returns every process whose /proc entry this user owns.
func userProcesses() []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	uid := uint32(os.Geteuid())
	var pids []int
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Stat("/proc/"+e.Name(), &st) == nil && st.Uid == uid {
			pids = append(pids, n)
		}
	}
	return pids
}

// processName is the command name of pid, made safe for a log line (any
// program chooses its own).
func processName(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return "unknown"
	}
	return safetext.Sanitize(strings.TrimSuffix(string(b), "\n"))
}

// tcpStateName names a state of <net/tcp_states.h> for a log line.
func tcpStateName(st uint8) string {
	names := [...]string{1: "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING"}
	if int(st) < len(names) && names[st] != "" {
		return names[st]
	}
	return fmt.Sprintf("state %d", st)
}

// Layouts from <linux/netlink.h> and <linux/inet_diag.h>.
const (
	sizeofNlMsghdr      = 16
	sizeofInetDiagReqV2 = 56
	inetDiagNoCookie    = 0xffffffff
	inetDiagMsgUIDOff   = 64 // offsetof(struct inet_diag_msg, idiag_uid)
	inetDiagMsgInodeOff = 68 // offsetof(struct inet_diag_msg, idiag_inode)
	sizeofInetDiagMsg   = 72
	tcpListen           = 10 // TCP_LISTEN in <net/tcp_states.h>
)

// diagSocket is what sock_diag says about one TCP socket.
type diagSocket struct {
	uid, inode uint32
	state      uint8
}

// socketInfo describes the TCP socket whose local end is src and remote end
// is dst.
func socketInfo(src, dst netip.AddrPort) (sk diagSocket, found bool, err error) {
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	family := byte(unix.AF_INET)
	if src.Addr().Is6() {
		family = unix.AF_INET6
	}
	if src.Addr().Is4() != dst.Addr().Is4() {
		return sk, false, nil
	}
	fd, err := takeDiagSocket()
	if err != nil {
		return sk, false, err
	}
	ok := false // the answer was read: fd goes back to the pool
	defer func() {
		if ok {
			putDiagSocket(fd)
		} else {
			unix.Close(fd)
		}
	}()
	seq := diagSeq.Add(1)

	req := diagRequest(seq, family, src, dst)
	ne := binary.NativeEndian
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return sk, false, fmt.Errorf("sock_diag: send: %w", err)
	}
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return sk, false, fmt.Errorf("sock_diag: receive: %w", err)
		}
		msgs, err := parseNetlink(buf[:n])
		if err != nil {
			return sk, false, fmt.Errorf("sock_diag: %w", err)
		}
		for _, m := range msgs {
			if m.seq != seq {
				// The late answer to a request on this socket that
				// timed out before its answer came.
				continue
			}
			ok = true
			switch m.typ {
			case unix.NLMSG_ERROR:
				if len(m.data) < 4 {
					return sk, false, fmt.Errorf("sock_diag: short error message")
				}
				errno := -int32(ne.Uint32(m.data))
				switch unix.Errno(errno) {
				case 0:
					continue
				case unix.ENOENT:
					return sk, false, nil
				}
				return sk, false, fmt.Errorf("sock_diag: %w", unix.Errno(errno))
			case unix.NLMSG_DONE:
				return sk, false, nil
			case unix.SOCK_DIAG_BY_FAMILY:
				if len(m.data) < sizeofInetDiagMsg {
					return sk, false, fmt.Errorf("sock_diag: short answer")
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
					return sk, false, nil
				}
				sk = diagSocket{uid: ne.Uint32(m.data[inetDiagMsgUIDOff:]), inode: ne.Uint32(m.data[inetDiagMsgInodeOff:]), state: m.data[1]}
				return sk, true, nil
			}
		}
	}
}

// diagSockets keeps the sock_diag sockets of finished owner checks for the
// next ones: a check then costs one send and one receive, instead of also a
// socket, a bind, a setsockopt and a close, which under a connect/close flood
// from another user are paid for every refused connection
// (BENCHMARKS.md "Refusals under a connect/close flood"). It holds a few more
// than Serve runs checks at once; any more are closed. A socket whose answer
// did not come is closed, not kept; a late answer on a kept one is told apart
// by its sequence number.
var (
	diagSockets = make(chan int, 2*maxPendingChecks)
	diagSeq     atomic.Uint32
)

func takeDiagSocket() (int, error) {
	select {
	case fd := <-diagSockets:
		return fd, nil
	default:
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_INET_DIAG)
	if err != nil {
		return -1, fmt.Errorf("sock_diag: %w", err)
	}
	tv := unix.Timeval{Sec: 2}
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("sock_diag: bind: %w", err)
	}
	return fd, nil
}

func putDiagSocket(fd int) {
	select {
	case diagSockets <- fd:
	default:
		unix.Close(fd)
	}
}

// diagRequest is the SOCK_DIAG_BY_FAMILY exact lookup of the TCP socket
// whose local end is src and remote end is dst, in any state.
func diagRequest(seq uint32, family byte, src, dst netip.AddrPort) []byte {
	req := make([]byte, sizeofNlMsghdr+sizeofInetDiagReqV2)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST)
	ne.PutUint32(req[8:], seq)
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
	return req
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
	seq  uint32
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
		msgs = append(msgs, netlinkMsg{typ: binary.NativeEndian.Uint16(b[4:]), seq: binary.NativeEndian.Uint32(b[8:]), data: b[sizeofNlMsghdr:l]})
		l = (l + 3) &^ 3
		if l > len(b) {
			break
		}
		b = b[l:]
	}
	return msgs, nil
}
