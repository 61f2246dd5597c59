package connector

import (
	"net"
	"syscall"

	"golang.org/x/sys/windows"
)

// soExclusiveAddrUse is SO_EXCLUSIVEADDRUSE of winsock2.h, ((int)(~SO_REUSEADDR)),
// which golang.org/x/sys/windows does not define.
const soExclusiveAddrUse = ^windows.SO_REUSEADDR

// listenControl makes the local end's socket SO_EXCLUSIVEADDRUSE before it
// is bound. Without it, on Windows another process of the same user (or a
// service) can bind the same address and port with SO_REUSEADDR and take
// the connections meant for the tunnel, the emulator's with them, on an
// admin profile's fixed listen_port above all. Microsoft's advice for
// server sockets ("Using SO_REUSEADDR and SO_EXCLUSIVEADDRUSE").
func listenControl(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = windows.SetsockoptInt(windows.Handle(fd), windows.SOL_SOCKET, soExclusiveAddrUse, 1)
	}); err != nil {
		return err
	}
	if serr != nil {
		return &net.OpError{Op: "listen", Net: "tcp", Err: serr}
	}
	return nil
}
