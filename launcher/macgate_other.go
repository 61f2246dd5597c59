//go:build !darwin

package launcher

import "github.com/trustlaunch/trustlaunch/policy"

// platformGate: Linux and Windows need nothing past PeerCheckAvailable;
// their owner checks read documented interfaces (sock_diag, the TCP
// table).
func platformGate(policy.Source, func(string, ...any)) error { return nil }
