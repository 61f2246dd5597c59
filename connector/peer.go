package connector

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// errPeerUnchecked marks a local connection whose owner cannot be found:
// no check on this system, or a peer on another machine. Serve refuses it
// unless Config.AllowUncheckedPeers.
var errPeerUnchecked = errors.New("the owner of the connection cannot be checked")

// PeerCheckAvailable reports whether this system lets Serve check which user
// opened a local connection (Linux, Windows and macOS: yes; the BSDs: no). Where it
// returns false, Serve refuses every connection unless
// Config.AllowUncheckedPeers is set.
func PeerCheckAvailable() bool { return peerCheckAvailable }

// PeerOwnerError is the error of a local connection opened by another user.
// Owner and Want name the users as the system does: "uid 1000" on Linux, a
// SID such as "S-1-5-21-...-1001" on Windows.
// PID is the process that opened it, where the system names one (Windows);
// it is kept out of Owner so that refusals group by user, not by process
// (PeerSource).
type PeerOwnerError struct {
	Owner, Want string
	PID         int // 0: not known
}

func (e *PeerOwnerError) Error() string {
	if e.PID != 0 {
		return fmt.Sprintf("connection opened by %s (process %d), not by this user (%s)", e.Owner, e.PID, e.Want)
	}
	return fmt.Sprintf("connection opened by %s, not by this user (%s)", e.Owner, e.Want)
}

// PeerUnknownError is the error of a local connection whose owner cannot be
// established: the system describes its client end as a socket that no longer
// belongs to a process (Linux: a TIME_WAIT or FIN_WAIT2 orphan that the
// kernel keeps as a timewait minisock, reported with uid 0 and inode 0). Such
// a connection is refused even though its reported uid may equal ours (as
// root, uid 0 would pass), and a same-user client that writes and closes at
// once may be refused too: that is failing closed.
type PeerUnknownError struct {
	Reason string // why the owner is unknown, e.g. "the client socket is closed (TIME_WAIT)"
}

func (e *PeerUnknownError) Error() string {
	return "connection of owner unknown: " + e.Reason
}

// PeerProcessError is the error of a local connection opened by this user
// but by a process Config.AdmitProcess does not admit (during `open`: not
// the emulator or one of its descendants, such as a browser page that scans
// 127.0.0.1), or whose process cannot be found or inspected.
type PeerProcessError struct {
	Owner string // the user, as in PeerOwnerError: "uid 1000"
	PIDs  []int  // the processes found holding the connection; empty when none was
	Err   error  // why it was refused: AdmitProcess's error, or why no process could be found
}

func (e *PeerProcessError) Error() string {
	who := e.Owner
	if len(e.PIDs) > 0 {
		ps := make([]string, len(e.PIDs))
		for i, p := range e.PIDs {
			ps[i] = fmt.Sprint(p)
		}
		who += " in process " + strings.Join(ps, ", ")
	}
	return fmt.Sprintf("connection opened by %s, not by the emulator: %v", who, e.Err)
}

func (e *PeerProcessError) Unwrap() error { return e.Err }

// PeerSource returns who opened a refused local connection, in a short form
// fit for grouping refusals in logs: "uid 1001" (another user), "uid 1000
// (not the emulator)" (this user, another program), "owner unknown" (a
// closed socket), "owner unchecked" (no check on this system, or a peer on
// another machine), "owner check failed" (the check itself failed). It
// looks at the error's type, never its text.
func PeerSource(err error) string {
	var oe *PeerOwnerError
	var ue *PeerUnknownError
	var pe *PeerProcessError
	switch {
	case errors.As(err, &oe):
		return oe.Owner
	case errors.As(err, &ue):
		return "owner unknown"
	case errors.As(err, &pe):
		return pe.Owner + " (not the emulator)"
	case errors.Is(err, errPeerUnchecked):
		return "owner unchecked"
	}
	return "owner check failed"
}

// checkPeer returns nil when conn was opened by the current user (and, with
// Config.AdmitProcess, by an admitted process), or when its owner cannot be
// checked and the configuration allows that.
func (c *Connector) checkPeer(conn net.Conn) error {
	err := checkPeerOwner(conn, c.cfg.AdmitProcess, c.cfg.ProcessRoots)
	if errors.Is(err, errPeerUnchecked) && c.cfg.AllowUncheckedPeers {
		return nil
	}
	return err
}

// unmapped is ap with an IPv4-mapped address unmapped and no zone, the
// form the systems' socket tables are compared in (Windows, macOS).
func unmapped(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
}
