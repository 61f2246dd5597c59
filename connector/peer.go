package connector

import (
	"errors"
	"fmt"
	"net"
)

// errPeerUnchecked marks a local connection whose owner cannot be found:
// no check on this system, or a peer on another machine. Serve refuses it
// unless Config.AllowUncheckedPeers.
var errPeerUnchecked = errors.New("the owner of the connection cannot be checked")

// PeerCheckAvailable reports whether this system lets Serve check which user
// opened a local connection (Linux and Windows: yes; macOS: no). Where it
// returns false, Serve refuses every connection unless
// Config.AllowUncheckedPeers is set.
func PeerCheckAvailable() bool { return peerCheckAvailable }

// PeerOwnerError is the error of a local connection opened by another user.
// Owner and Want name the users as the system does: "uid 1000" on Linux, a
// SID such as "S-1-5-21-...-1001" on Windows.
type PeerOwnerError struct {
	Owner, Want string
}

func (e *PeerOwnerError) Error() string {
	return fmt.Sprintf("connection opened by %s, not by this user (%s)", e.Owner, e.Want)
}

// checkPeer returns nil when conn was opened by the current user, or when
// its owner cannot be checked and the configuration allows that.
func (c *Connector) checkPeer(conn net.Conn) error {
	err := checkPeerOwner(conn)
	if errors.Is(err, errPeerUnchecked) && c.cfg.AllowUncheckedPeers {
		return nil
	}
	return err
}
