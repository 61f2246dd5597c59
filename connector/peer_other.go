//go:build !linux && !windows

package connector

import (
	"fmt"
	"net"
	"runtime"
)

const peerCheckAvailable = false

// checkPeerOwner has no implementation here: macOS has no documented
// interface for the owner of another process's TCP socket (its
// net.inet.tcp.pcblist_n records are private kernel structures). It
// returns an error, never a silent pass (docs/design.md "Fail closed").
func checkPeerOwner(net.Conn, func(int) error, func() []int) error {
	return fmt.Errorf("%w on %s", errPeerUnchecked, runtime.GOOS)
}
