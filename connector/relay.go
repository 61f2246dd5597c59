package connector

import (
	"context"
	"net"

	"github.com/trustlaunch/trustlaunch/connector/internal/relay"
)

// Relay copies a to b and b to a until both directions end, then closes
// both and returns the byte counts. EOF in one direction half-closes the
// other end (CloseWrite: TCP FIN, TLS close_notify, or the WebSocket
// tunnel's linger) and lets the opposite direction finish; a failure in
// either direction, or the end of ctx, sets a past deadline on both ends,
// which unblocks any pending Read or Write, and closes both at once. The
// first error is returned: a *StepError of StepRelay when the tunnel from
// Dial failed, ctx.Err() when ctx ended.
func Relay(ctx context.Context, a, b net.Conn) (aToB, bToA int64, err error) {
	return relay.Relay(ctx, a, b)
}
