package oslogtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// Journal is a receiver of journald's native protocol on an AF_UNIX
// datagram socket, as systemd-journald listens on
// /run/systemd/journal/socket.
type Journal struct {
	Path string // the socket's path
	conn *net.UnixConn
}

// Datagram is what one datagram carried: the entry, its bytes, and
// whether they came in a memfd.
type Datagram struct {
	Entry Entry
	Raw   []byte
	Memfd bool
}

// ListenJournal listens on path until the test ends.
func ListenJournal(tb testing.TB, path string) *Journal {
	tb.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return &Journal{Path: path, conn: c}
}

// Next reads the next datagram, waiting until ctx ends. A datagram holds
// either the entry as its payload and no file descriptor, or an empty
// payload and exactly one memfd holding the entry; the protocol has
// journald ignore any other combination, and Next reports it as an error.
func (j *Journal) Next(ctx context.Context) (Datagram, error) {
	if d, ok := ctx.Deadline(); ok {
		j.conn.SetReadDeadline(d)
	}
	buf := make([]byte, 1<<20)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, flags, _, err := j.conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return Datagram{}, err
	}
	if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
		return Datagram{}, errors.New("a datagram larger than the receiver's buffer")
	}
	fds, err := rights(oob[:oobn])
	if err != nil {
		return Datagram{}, err
	}
	var d Datagram
	switch {
	case len(fds) == 0 && n > 0:
		d.Raw = buf[:n]
	case len(fds) == 1 && n == 0:
		d.Memfd = true
		d.Raw, err = readMemfd(fds[0])
		if err != nil {
			return Datagram{}, err
		}
	default:
		for _, fd := range fds {
			unix.Close(fd)
		}
		return Datagram{}, fmt.Errorf("a datagram of %d bytes with %d file descriptors, which journald ignores", n, len(fds))
	}
	d.Entry, err = ParseJournal(d.Raw)
	return d, err
}

// rights returns the file descriptors passed in a control message.
func rights(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		got, err := unix.ParseUnixRights(&m)
		if err != nil {
			return nil, err
		}
		fds = append(fds, got...)
	}
	return fds, nil
}

// readMemfd reads a memfd's content and checks that it is sealed against
// writes and resizing, as the protocol asks of a sender.
func readMemfd(fd int) ([]byte, error) {
	f := os.NewFile(uintptr(fd), "memfd")
	defer f.Close()
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	if err != nil {
		return nil, fmt.Errorf("the file descriptor is not a memfd: %w", err)
	}
	const want = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if seals&want != want {
		return nil, fmt.Errorf("the memfd is not sealed (seals %#x)", seals)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}
