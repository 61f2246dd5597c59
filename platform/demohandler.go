package platform

import (
	"context"
	"fmt"
	"regexp"
)

// DemoScheme is the scheme of the links that `trustlaunch demo --serve`
// prints. It is not URLScheme on purpose: the demo's portal has a
// certificate from a CA that exists only in the demo process, and its
// descriptors are signed with a key that exists only there. The real
// handler, `trustlaunch open`, must never trust them, so the demo's links
// go to a handler of their own, registered while the demo runs, that only
// passes the link to the running demo (docs/design.md, "The demo's
// links").
const DemoScheme = "trustlaunch-demo"

// demoMarkerValue is registerMarker's value in the registration that
// RegisterDemoHandler writes, so that UnregisterDemoHandler removes that
// and nothing else, and a demo may replace the one a killed demo left.
const demoMarkerValue = "trustlaunch demo --serve"

// demoArg is what the fixed arguments of the demo handler's command may
// be: plain words, so that they need no quoting in a desktop entry's Exec
// or a Windows command line.
var demoArg = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// RegisterDemoHandler makes exe, run with args and then the link as the
// last argument, the current user's handler for trustlaunch-demo:// links
// (DemoScheme): on Linux the desktop entry trustlaunch-demo.desktop in
// $XDG_DATA_HOME/applications, made the default with xdg-mime; on Windows
// the key HKCU\Software\Classes\trustlaunch-demo. It never touches the
// registration of trustlaunch:// links. args must be plain words; the
// last one should be "--", so that a link is never read as a flag.
//
// It replaces a registration that an earlier demo wrote (one killed before
// it could remove it), and nothing else. Undo it with
// UnregisterDemoHandler. Errors are *RegisterError with a Fix.
func RegisterDemoHandler(ctx context.Context, exe string, args []string) (Report, error) {
	for _, a := range args {
		if !demoArg.MatchString(a) {
			return Report{}, fmt.Errorf("demo handler: argument %q is not a plain word", a)
		}
	}
	return registerDemoHandler(ctx, exe, args)
}

// UnregisterDemoHandler removes what RegisterDemoHandler wrote, and
// nothing else. Removing nothing is not an error.
func UnregisterDemoHandler(ctx context.Context) (Report, error) {
	return unregisterDemoHandler(ctx)
}
