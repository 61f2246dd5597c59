package relay

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// RawIO returns c with its Read and Write made by raw read(2) and write(2)
// on the non-blocking socket, waiting in the netpoller as net does, when c
// is a *net.TCPConn; any other connection is returned as it is.
//
// Why: net's Read and Write enter the system call through the scheduler
// (entersyscall), and the first such entry after the process was idle
// wakes the runtime's sysmon thread from its deep sleep (a futex wake),
// which then polls every 20 µs again until the process is idle once more
// (Go issue 18236). A tunnel in bulk is idle each time it catches up with
// its peer, so this happened thousands of times a second; it was 11-12% of
// the tunnel's CPU (BENCHMARKS.md, issue 15, round 2). A non-blocking
// socket call returns in microseconds and never sleeps, so it needs
// neither the P hand-off nor sysmon: RawSyscall is the documented way to
// make a call without them.
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
	return &rawTCP{TCPConn: tc, rc: rc}
}

type rawTCP struct {
	*net.TCPConn
	rc syscall.RawConn
}

func (c *rawTCP) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var errno syscall.Errno
	err := c.rc.Read(func(fd uintptr) bool {
		for {
			r, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			switch e {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false // wait in the netpoller until readable
			}
			n, errno = int(r), e
			return true
		}
	})
	switch {
	case err != nil:
		return 0, c.opError("read", err)
	case errno != 0:
		return 0, c.opError("read", os.NewSyscallError("read", errno))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (c *rawTCP) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var errno syscall.Errno
	err := c.rc.Write(func(fd uintptr) bool {
		for n < len(p) {
			r, _, e := unix.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[n])), uintptr(len(p)-n))
			switch e {
			case 0:
				n += int(r)
			case unix.EINTR:
			case unix.EAGAIN:
				return false // wait in the netpoller until writable
			default:
				errno = e
				return true
			}
		}
		return true
	})
	switch {
	case err != nil:
		return n, c.opError("write", err)
	case errno != 0:
		return n, c.opError("write", os.NewSyscallError("write", errno))
	}
	return n, nil
}

// opError makes err read like net's own error for op: the RawConn's errors
// come as a "raw-read"/"raw-write" *net.OpError, whose cause is kept.
func (c *rawTCP) opError(op string, err error) error {
	if oe, ok := errors.AsType[*net.OpError](err); ok {
		err = oe.Err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
