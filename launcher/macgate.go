package launcher

import (
	"fmt"

	"github.com/trustlaunch/trustlaunch/policy"
)

// MacOSGateError is a launch refused on macOS before anything else
// happens: the administrator has not enabled launching there, or the
// owner check's run-time self-check failed on this Mac.
//
// Launching on macOS rests on structures Apple does not document (the
// kernel's PCB list, libproc's socket records). The parsers check every
// record they read, and the self-check proves on each launch that the
// check admits this process's own connection and refuses it when told to;
// but no Mac ran any of it where this release was built. So `open` stays
// refused until an administrator, having run the first-run checklist of
// docs/macos.md on the fleet's macOS, turns on macos_launch in the
// admin policy or MacOSLaunch in the managed preferences: a decision made
// once per fleet, in a file only an administrator can write, rather than
// per user or baked into a build.
type MacOSGateError struct {
	Reason string
	hint   string
}

func (e *MacOSGateError) Error() string {
	return "launching is not enabled on this Mac: " + e.Reason
}

// Hint tells the user what to do.
func (e *MacOSGateError) Hint() string { return e.hint }

// macOSGate decides whether a launch may go on on macOS: the admin
// policy's opt-in, then selfCheck (connector.PeerSelfCheck). When it may,
// logf gets one line saying so and who enabled it: what the first-run
// checklist looks for.
func macOSGate(pol policy.Source, selfCheck func() error, logf func(string, ...any)) error {
	if pol.Policy == nil || !pol.Policy.MacOSLaunch {
		return &MacOSGateError{
			Reason: "the tunnel's owner check on macOS has not been verified on this fleet's Macs, and no administrator has enabled it",
			hint: fmt.Sprintf("ask your administrator: after the first-run checklist of docs/macos.md passes, they set macos_launch = true in %s or MacOSLaunch in the managed preferences (%s)",
				policy.DefaultFile(), policy.ManagedPrefsPath),
		}
	}
	if err := selfCheck(); err != nil {
		return &MacOSGateError{
			Reason: fmt.Sprintf("the owner check's self-check failed, so trustlaunch cannot tell which program connects to the tunnel: %v", err),
			hint:   "this macOS release may have changed the kernel structures trustlaunch reads; tell your administrator, quoting this message, and keep using the launcher you had",
		}
	}
	from := pol.Policy.MacOSLaunchSource()
	logf("owner check self-check passed: this process's own connection was admitted as this user and process, and refused when not admitted (launching enabled by %s)", from)
	return nil
}
