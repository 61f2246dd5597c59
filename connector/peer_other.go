//go:build !linux

package connector

import (
	"fmt"
	"net"
	"runtime"
)

const peerCheckAvailable = false

// checkPeerOwner has no implementation here: macOS and Windows have no
// interface as direct as Linux's sock_diag for the owner of a TCP socket.
// It returns an error, never a silent pass (CONVENTIONS.md rule 5).
func checkPeerOwner(net.Conn) error {
	return fmt.Errorf("%w on %s", errPeerUnchecked, runtime.GOOS)
}
