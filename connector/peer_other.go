//go:build !linux && !windows && !darwin

package connector

import (
	"fmt"
	"net"
	"runtime"
)

const peerCheckAvailable = false

// checkPeerOwner has no implementation on this system (the BSDs, among
// others): it returns an error, never a silent pass (docs/design.md "Fail
// closed").
func checkPeerOwner(net.Conn, func(int) error, func() []int) error {
	return fmt.Errorf("%w on %s", errPeerUnchecked, runtime.GOOS)
}
