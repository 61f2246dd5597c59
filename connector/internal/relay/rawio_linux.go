package relay

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// RawIO returns c with its Read and Write made by raw read(2) and write(2)
// on the non-blocking socket, waiting in the netpoller as net does, when c
// is a *net.TCPConn; any other connection is returned as it is.
//
// Why: net's Read and Write enter the system call through the scheduler
// (entersyscall), and the first such entry after the process was idle wakes
// the runtime's sysmon thread from its deep sleep (a futex wake), which then
// polls every 20 µs again until the process is idle once more
// (golang/go#18236). A tunnel in bulk is idle each time it catches up with
// its peer, so this happened thousands of times a second; it was 11-12% of
// the tunnel's CPU
// (BENCHMARKS.md "Against proxytunnel, the peer of the same shape"). A
// non-blocking socket call returns in microseconds and never sleeps, so it
// needs neither the P hand-off nor sysmon: RawSyscall is the documented way
// to make a call without them.
//
// Deadlines, Close, CloseWrite and the addresses are the TCP connection's;
// errors are *net.OpError as net returns them (a timeout is
// os.ErrDeadlineExceeded, a closed connection net.ErrClosed).
func RawIO(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	r := &rawTCP{TCPConn: tc, rc: rc}
	// The system-call functions are made once: a closure per call would
	// be three allocations per Read and per Write.
	r.rd.fn, r.wr.fn = r.read, r.write
	return r
}

// rawTCP is RawIO's connection. Each direction keeps its call's buffer
// and result in op, under op's lock: Read and Write may each be called
// from several goroutines at once, as on any net.Conn.
type rawTCP struct {
	*net.TCPConn
	rc     syscall.RawConn
	rd, wr rawOp
}

type rawOp struct {
	mu    sync.Mutex
	p     []byte
	n     int
	errno syscall.Errno
	fn    func(fd uintptr) bool
}

func (c *rawTCP) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, err := c.do(&c.rd, p)
	if err == nil && n == 0 {
		return 0, io.EOF
	}
	return n, err
}

// read is one read(2) into c.rd.p; false asks the RawConn to wait in the
// netpoller until the socket is readable.
func (c *rawTCP) read(fd uintptr) bool {
	op := &c.rd
	for {
		r, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&op.p[0])), uintptr(len(op.p)))
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		if e != 0 {
			op.errno = e
		} else {
			op.n = int(r)
		}
		return true
	}
}

func (c *rawTCP) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return c.do(&c.wr, p)
}

// do makes one Read or Write of p through the RawConn, with op (c.rd or
// c.wr) holding the call's buffer and result: the count done (for a write
// that failed part way, what was written) and the error as net's.
func (c *rawTCP) do(op *rawOp, p []byte) (int, error) {
	name, call := "read", c.rc.Read
	if op == &c.wr {
		name, call = "write", c.rc.Write
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	op.p, op.n, op.errno = p, 0, 0
	err := call(op.fn)
	op.p = nil // not kept while idle
	switch {
	case err != nil:
		return op.n, c.opError(name, err)
	case op.errno != 0:
		return op.n, c.opError(name, os.NewSyscallError(name, op.errno))
	}
	return op.n, nil
}

// write writes all of c.wr.p, as net's Write does; false asks the RawConn
// to wait in the netpoller until the socket is writable again.
func (c *rawTCP) write(fd uintptr) bool {
	op := &c.wr
	for op.n < len(op.p) {
		r, _, e := unix.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&op.p[op.n])), uintptr(len(op.p)-op.n))
		switch e {
		case 0:
			op.n += int(r)
		case unix.EINTR:
		case unix.EAGAIN:
			return false
		default:
			op.errno = e
			return true
		}
	}
	return true
}

// opError makes err read like net's own error for op: the RawConn's errors
// come as a "raw-read"/"raw-write" *net.OpError, whose cause is kept.
func (c *rawTCP) opError(op string, err error) error {
	if oe, ok := errors.AsType[*net.OpError](err); ok {
		err = oe.Err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
