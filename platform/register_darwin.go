package platform

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"
	"github.com/ebitengine/purego/objc"
)

// macOS: the pure decisions are in register_macos.go. Here: lsregister,
// and two NSWorkspace calls through purego (no cgo): which application
// opens a trustlaunch:// URL, and, on macOS 12 and later, making the
// bundle the default for the scheme.

// errSystemMac is register --system on macOS: Launch Services keeps one
// database per user and has no machine-wide default handler.
func errSystemMac(what string) error {
	return &RegisterError{
		Err: fmt.Errorf("%s --system: macOS has no machine-wide URL handler: Launch Services keeps one registration per user: %w", what, errors.ErrUnsupported),
		Fix: "the trustlaunch .pkg installs trustlaunch.app in /Applications for every user and registers it for the user logged in when it installs; any other user runs: /usr/local/bin/trustlaunch register",
	}
}

func register(ctx context.Context, opts RegisterOptions, exe string) (Report, error) {
	var r Report
	if opts.System {
		return r, errSystemMac("register")
	}
	bundle, err := appBundleOf(exe)
	if err != nil {
		return r, err
	}
	r.add("app bundle", "%s", bundle)
	if err := runLsregister(ctx, "-f", bundle); err != nil {
		return r, err
	}
	r.add("registered", "lsregister -f %s", bundle)
	h, err := macDefaultHandler()
	if err != nil {
		return r, err
	}
	set, err := macNeedsDefault(bundle, h, opts.Force)
	if err != nil || !set {
		return r, err
	}
	if err := macSetDefault(ctx, bundle); err != nil {
		return r, err
	}
	r.add("default handler", "%s (was %s)", bundle, orNone(h.App))
	return r, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func unregister(ctx context.Context, opts RegisterOptions) (Report, error) {
	var r Report
	if opts.System {
		return r, errSystemMac("unregister")
	}
	h, err := macDefaultHandler()
	if err != nil {
		return r, err
	}
	if h.App == "" || !strings.HasSuffix(strings.TrimSuffix(h.App, "/"), "/trustlaunch.app") {
		r.add("nothing to remove", "trustlaunch:// links open %s", orNone(h.App))
		return r, nil
	}
	if err := runLsregister(ctx, "-u", h.App); err != nil {
		return r, err
	}
	r.add("unregistered", "lsregister -u %s", h.App)
	r.warn("Launch Services registers an app in /Applications again when it next scans it",
		"to remove trustlaunch for good, remove /Applications/trustlaunch.app (docs/macos.md, \"The installer package (Jamf, Intune)\")")
	return r, nil
}

func checkRegistration(_ context.Context, opts RegisterOptions, exe string) (Report, error) {
	if opts.System {
		return Report{}, errSystemMac("register --check")
	}
	bundle, err := appBundleOf(exe)
	if err != nil {
		var r Report
		r.add("this binary", "%s", exe)
		return r, err
	}
	h, err := macDefaultHandler()
	if err != nil {
		return Report{}, err
	}
	return macCheckReport(exe, bundle, h), nil
}

func runLsregister(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, lsregister, args...).CombinedOutput()
	if err != nil {
		return &RegisterError{
			Err: fmt.Errorf("lsregister %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out))),
			Fix: "run it by hand to see why: " + lsregister + " " + strings.Join(args, " "),
		}
	}
	return nil
}

var (
	appKitOnce sync.Once
	appKitErr  error
)

// loadAppKit loads AppKit, which holds NSWorkspace, on first use: the
// command line needs it only for register and its check.
func loadAppKit() error {
	appKitOnce.Do(func() {
		_, appKitErr = purego.Dlopen("/System/Library/Frameworks/AppKit.framework/AppKit", purego.RTLD_GLOBAL|purego.RTLD_NOW)
	})
	return appKitErr
}

func sel(name string) objc.SEL { return objc.RegisterName(name) }

// nsString returns an autoreleased NSString of s.
func nsString(s string) objc.ID {
	b := append([]byte(s), 0)
	return objc.ID(objc.GetClass("NSString")).Send(sel("stringWithUTF8String:"), &b[0])
}

// goString copies an NSString into Go memory.
func goString(str objc.ID) string {
	if str == 0 {
		return ""
	}
	p := objc.Send[*byte](str, sel("UTF8String"))
	if p == nil {
		return ""
	}
	var b []byte
	for i := 0; ; i++ {
		c := *(*byte)(unsafe.Add(unsafe.Pointer(p), i))
		if c == 0 {
			return string(b)
		}
		b = append(b, c)
	}
}

// macDefaultHandler asks NSWorkspace which application opens
// trustlaunch://launch (URLForApplicationToOpenURL:, macOS 10.6+).
func macDefaultHandler() (macHandler, error) {
	if err := loadAppKit(); err != nil {
		return macHandler{}, fmt.Errorf("loading AppKit: %w", err)
	}
	ws := objc.ID(objc.GetClass("NSWorkspace")).Send(sel("sharedWorkspace"))
	u := objc.ID(objc.GetClass("NSURL")).Send(sel("URLWithString:"), nsString(URLScheme+"://launch"))
	app := ws.Send(sel("URLForApplicationToOpenURL:"), u)
	if app == 0 {
		return macHandler{}, nil
	}
	return macHandler{App: goString(app.Send(sel("path")))}, nil
}

// macSetDefault makes bundle the default handler of the scheme with
// -[NSWorkspace setDefaultApplicationAtURL:toOpenURLsWithScheme:
// completionHandler:] (macOS 12+, which is also the oldest macOS the
// binary runs on), and waits for its completion handler.
func macSetDefault(ctx context.Context, bundle string) error {
	if err := loadAppKit(); err != nil {
		return fmt.Errorf("loading AppKit: %w", err)
	}
	done := make(chan string, 1)
	block := objc.NewBlock(func(_ objc.Block, nserr objc.ID) {
		if nserr == 0 {
			done <- ""
			return
		}
		done <- goString(nserr.Send(sel("localizedDescription")))
	})
	defer block.Release()
	ws := objc.ID(objc.GetClass("NSWorkspace")).Send(sel("sharedWorkspace"))
	app := objc.ID(objc.GetClass("NSURL")).Send(sel("fileURLWithPath:"), nsString(bundle))
	ws.Send(sel("setDefaultApplicationAtURL:toOpenURLsWithScheme:completionHandler:"), app, nsString(URLScheme), block)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	select {
	case msg := <-done:
		if msg != "" {
			return &RegisterError{
				Err: fmt.Errorf("making %s the handler of trustlaunch:// links: %s", bundle, msg),
				Fix: "choose it when the browser asks which application opens the link, or run trustlaunch register --force again",
			}
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("making %s the handler of trustlaunch:// links: no answer from Launch Services: %w", bundle, ctx.Err())
	}
}
