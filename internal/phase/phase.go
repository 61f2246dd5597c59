// Package phase names the phases of a launch as a user sees them: the lines
// of the status screen (tui.Status), the phase of every launcher.Event and
// of a launcher.Result, and what the CLI reports when a launch ends. It is
// the one vocabulary the three share; the finer steps recorded in the audit
// log (a whitelist.Step, descriptor.StepFetch, connector.StepTLS, ...) say
// where inside a phase a launch ended.
package phase

// Phase is one line of the status screen.
type Phase string

// The phases, in launch order. A launch without an admin policy has no
// Policy line.
const (
	Whitelist  Phase = "whitelist"  // may the server launch anything here
	Descriptor Phase = "descriptor" // the descriptor: fetched, decoded, verified
	Policy     Phase = "policy"     // the admin policy: usable, and it allows the descriptor
	Proxy      Phase = "proxy"      // the tunnel: the connector, the first connection through the security proxy, the local end
	Emulator   Phase = "emulator"   // the local profile and the emulator it starts
)

// State is where a phase is.
type State int

const (
	Running State = iota // under way: the live screen shows "[....] phase"
	Done                 // succeeded: "[ok] phase: detail"
	Failed               // failed: "[failed] phase"; the caller prints the error
)

func (s State) String() string {
	switch s {
	case Running:
		return "running"
	case Done:
		return "done"
	case Failed:
		return "failed"
	}
	return "unknown"
}
