package platform

import (
	"context"
	"errors"
	"fmt"
)

// On macOS, Launch Services hands a clicked URL to an application bundle
// whose Info.plist declares the scheme under CFBundleURLTypes, and it
// delivers the URL as a kAEGetURL Apple Event to the running app, not as a
// command-line argument. A plain command-line binary such as trustlaunch
// can therefore not be registered as a handler: there is nothing to write
// that would make "open -- URL" run. trustlaunch does not ship an app
// bundle yet, so register explains this and fails, check reports it, and
// unregister has nothing to remove.

// macOSHelp is the Fix of every macOS registration error: what works today
// and what a handler needs.
const macOSHelp = `on macOS a URL handler must be an app bundle, and trustlaunch has none yet.
Until it does, open a link by hand: in the browser, copy the link address of "Launch session", then run
  trustlaunch open -- 'trustlaunch://launch?url=...'
in Terminal (quote the link). A bundle needs: Info.plist with CFBundleURLTypes -> CFBundleURLSchemes = [trustlaunch],
an executable that handles the kAEGetURL Apple Event and runs "trustlaunch open -- URL",
installation in /Applications, and registration with Launch Services (it happens when the app is first opened,
or: /System/Library/Frameworks/CoreServices.framework/Frameworks/LaunchServices.framework/Support/lsregister -f /Applications/trustlaunch.app)`

func errMacOS(what string) error {
	return &RegisterError{
		Err: fmt.Errorf("%s: macOS delivers a clicked URL to an app bundle as an Apple Event, not on the command line, so this binary cannot be registered: %w", what, errors.ErrUnsupported),
		Fix: macOSHelp,
	}
}

func register(_ context.Context, _ RegisterOptions, _ string) (Report, error) {
	return Report{}, errMacOS("register")
}

func unregister(_ context.Context, _ RegisterOptions) (Report, error) {
	var r Report
	r.add("nothing to remove", "trustlaunch register writes nothing on macOS")
	return r, nil
}

func checkRegistration(_ context.Context, _ RegisterOptions, exe string) (Report, error) {
	var r Report
	r.add("this binary", "%s", exe)
	return r, errMacOS("check")
}
