//go:build !windows

package connector

import "syscall"

// listenControl needs nothing outside Windows: a Unix listener's port
// cannot be bound again by another socket while it listens, SO_REUSEADDR
// or not (SO_REUSEPORT, which would allow it, is off unless both sockets
// set it and belong to the same user).
func listenControl(_, _ string, _ syscall.RawConn) error { return nil }
