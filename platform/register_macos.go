package platform

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// macOS registration, the parts that are plain Go and tested on every OS;
// register_darwin.go runs lsregister and asks NSWorkspace.
//
// On macOS a URL handler is an application bundle whose Info.plist declares
// the scheme (CFBundleURLTypes); Launch Services starts it and hands it each
// link as a kAEGetURL Apple Event. trustlaunch.app (docs/macos.md) runs the
// same binary as the command line, so registering "this binary" means
// registering the bundle it lives in, found from the executable's path with
// symlinks resolved: /usr/local/bin/trustlaunch is a symlink into
// /Applications/trustlaunch.app.

// lsregister is Launch Services' registration tool. It is not on $PATH and
// not documented by a manual page, but its place has been the same since
// Mac OS X 10.5 and every installer that registers a bundle by hand runs it
// from there.
const lsregister = "/System/Library/Frameworks/CoreServices.framework/Frameworks/LaunchServices.framework/Support/lsregister"

// macInstallFix is the fix of an executable outside a bundle.
const macInstallFix = "install trustlaunch.app with the trustlaunch .pkg (it puts it in /Applications and links /usr/local/bin/trustlaunch to it), then run: /usr/local/bin/trustlaunch register"

// appBundleOf returns the .app bundle that holds exe, which must be its
// main executable, BUNDLE.app/Contents/MacOS/NAME.
func appBundleOf(exe string) (string, error) {
	macos := path.Dir(exe)
	contents := path.Dir(macos)
	bundle := path.Dir(contents)
	if path.Base(macos) != "MacOS" || path.Base(contents) != "Contents" || !strings.HasSuffix(bundle, ".app") {
		return "", &RegisterError{
			Err: fmt.Errorf("%s is not inside an app bundle: on macOS links reach an app bundle (trustlaunch.app), never a plain binary, so this copy cannot be registered: %w", exe, errors.ErrUnsupported),
			Fix: macInstallFix,
		}
	}
	return bundle, nil
}

// macHandler is what Launch Services says about trustlaunch:// links.
type macHandler struct {
	// App is the path of the bundle that opens trustlaunch:// links, ""
	// when none does.
	App string
}

// is reports whether the handler is bundle.
func (h macHandler) is(bundle string) bool {
	return h.App != "" && path.Clean(h.App) == path.Clean(bundle)
}

// macCheckReport is CheckRegistration's report on macOS.
func macCheckReport(exe, bundle string, h macHandler) Report {
	var r Report
	r.add("this binary", "%s", exe)
	r.add("app bundle", "%s", bundle)
	switch {
	case h.App == "":
		r.add("handler", "none")
		r.problem("no application opens trustlaunch:// links: Launch Services has not registered "+bundle,
			"run: "+path.Join(bundle, "Contents/MacOS/trustlaunch")+" register")
	case h.is(bundle):
		r.add("handler", "%s (this bundle)", h.App)
	default:
		r.add("handler", "%s", h.App)
		r.problem("trustlaunch:// links open "+h.App+", not "+bundle,
			"run: "+path.Join(bundle, "Contents/MacOS/trustlaunch")+" register --force")
	}
	return r
}

// macNeedsDefault decides, after lsregister has registered bundle, what
// register does about the default handler: nothing when links reach bundle
// (Launch Services picks the only one, or it was the default already);
// with force, make bundle the default (NSWorkspace); otherwise refuse with
// ErrOtherHandler, as on the other OSes.
func macNeedsDefault(bundle string, h macHandler, force bool) (setDefault bool, err error) {
	switch {
	case h.is(bundle):
		return false, nil
	case force:
		return true, nil
	case h.App == "":
		// Registered, yet Launch Services names nobody: make it the
		// default rather than leave the links to chance.
		return true, nil
	}
	return false, &RegisterError{
		Err: fmt.Errorf("%s opens trustlaunch:// links: %w", h.App, ErrOtherHandler),
		Fix: "to make " + bundle + " the handler instead, run: trustlaunch register --force",
	}
}
