package launcher

import (
	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/policy"
)

// platformGate: on macOS, the administrator's opt-in and the owner
// check's run-time self-check (macgate.go).
func platformGate(pol policy.Source, logf func(string, ...any)) error {
	return macOSGate(pol, connector.PeerSelfCheck, logf)
}
