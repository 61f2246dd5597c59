package oslog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// The sockets of the two logs, where systemd and syslog daemons make them.
const (
	journalSocket = "/run/systemd/journal/socket"
	syslogSocket  = "/dev/log"
)

// write sends e to journald where it runs and to /dev/log otherwise, as
// systemd's Native Journal Protocol describes ("Automatic Protocol
// Upgrading", https://systemd.io/JOURNAL_NATIVE_PROTOCOL/): journald's
// /dev/log reads only the old BSD format, its own socket keeps every
// field.
func write(ctx context.Context, opts Options, e Entry) (string, error) {
	jpath, spath := opts.JournalSocket, opts.SyslogSocket
	if jpath == "" {
		jpath = journalSocket
	}
	if spath == "" {
		spath = syslogSocket
	}
	err := sendJournal(ctx, jpath, journalPayload(e, opts.Ident))
	if err == nil {
		return Journald, nil
	}
	if !absent(err) {
		return "", fmt.Errorf("journald %s: %w", jpath, err)
	}
	host, _ := os.Hostname()
	err = sendSyslog(ctx, spath, rfc5424(e, opts.Ident, host, os.Getpid()))
	if err == nil {
		return Syslog, nil
	}
	if absent(err) {
		return "", fmt.Errorf("%w: neither %s nor %s is there", ErrNoLog, jpath, spath)
	}
	return "", fmt.Errorf("syslog %s: %w", spath, err)
}

// absent reports whether err says that nobody listens on a socket's path:
// it does not exist, or it is left over from a daemon that is gone.
func absent(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED)
}

// dial connects a socket of the given type to path, with ctx's deadline
// on its writes.
func dial(ctx context.Context, network, path string) (*net.UnixConn, error) {
	c, err := net.DialUnix(network, nil, &net.UnixAddr{Name: path, Net: network})
	if err != nil {
		return nil, err
	}
	if d, ok := ctx.Deadline(); ok {
		c.SetWriteDeadline(d)
	}
	return c, nil
}

// sendJournal sends one entry to journald: as the datagram's payload, or,
// when it is too big for one datagram (EMSGSIZE), in a sealed memfd
// passed as the only content of an empty datagram.
func sendJournal(ctx context.Context, path string, payload []byte) error {
	c, err := dial(ctx, "unixgram", path)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write(payload)
	if !errors.Is(err, syscall.EMSGSIZE) {
		return err
	}
	fd, err := sealedMemfd(payload)
	if err != nil {
		return fmt.Errorf("an entry of %d bytes: %w", len(payload), err)
	}
	defer unix.Close(fd)
	return sendRights(c, unix.UnixRights(fd))
}

// sendRights sends an empty datagram carrying oob on the connected c,
// which net.UnixConn.WriteMsgUnix refuses to do on a connected datagram
// socket; the write waits as c's writes do, up to its deadline.
func sendRights(c *net.UnixConn, oob []byte) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Write(func(fd uintptr) bool {
		serr = unix.Sendmsg(int(fd), nil, oob, nil, unix.MSG_NOSIGNAL)
		return serr != unix.EAGAIN
	})
	if err != nil {
		return err
	}
	return serr
}

// sealedMemfd returns a memfd holding data, sealed against any change, as
// journald asks of the memfd it receives.
func sealedMemfd(data []byte) (int, error) {
	fd, err := unix.MemfdCreate("trustlaunch-journal", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return -1, fmt.Errorf("memfd_create: %w", err)
	}
	for rest := data; len(rest) > 0; {
		n, err := unix.Write(fd, rest)
		if err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("write memfd: %w", err)
		}
		rest = rest[n:]
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE|unix.F_SEAL_SEAL); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("seal memfd: %w", err)
	}
	return fd, nil
}

// sendSyslog sends one message to a syslog daemon's socket: a datagram,
// as rsyslog's and syslog-ng's /dev/log are, or, on a stream socket,
// the message and a newline (RFC 6587 section 3.4.2).
func sendSyslog(ctx context.Context, path string, msg []byte) error {
	c, err := dial(ctx, "unixgram", path)
	if errors.Is(err, syscall.EPROTOTYPE) {
		if c, err = dial(ctx, "unix", path); err == nil {
			defer c.Close()
			_, err = c.Write(append(msg, '\n'))
		}
		return err
	}
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write(msg)
	return err
}
