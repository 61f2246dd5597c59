//go:build !linux

package connector

import "net"

// unsentBytes is unknown here: the WebSocket linger then relies on its quiet
// period alone.
func unsentBytes(net.Conn) (int, bool) { return 0, false }
