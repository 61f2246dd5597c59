package main

import (
	"context"
	"runtime"
	"unsafe"

	"github.com/ebitengine/purego"
	"github.com/ebitengine/purego/objc"

	"github.com/trustlaunch/trustlaunch/link"
)

// The Objective-C side of trustlaunch.app, through purego (no cgo, so the
// release is still cross-compiled with CGO_ENABLED=0). It does three
// things and decides nothing: install a kAEGetURL handler before the app
// finishes launching, pass each event's URL string to appSession.deliver,
// and quit when appSession.serve is done. What happens to a link is
// app.go's, tested on every OS.

// AppKit must run on the main thread, and the main goroutine runs there
// only until it is moved: lock it in init, before main starts.
func init() { runtime.LockOSThread() }

// Four-character codes of <CoreServices/AE/AppleEvents.h> and
// <Carbon/HIToolbox/...>: the GetURL event ('GURL', 'GURL') and its direct
// object ('----'), which holds the URL as text.
const (
	kInternetEventClass = 0x4755524c // 'GURL'
	kAEGetURL           = 0x4755524c // 'GURL'
	keyDirectObject     = 0x2d2d2d2d // '----'
)

func sel(name string) objc.SEL { return objc.RegisterName(name) }

// runApp runs trustlaunch.app: it returns only if AppKit cannot be set up;
// otherwise the app ends with -[NSApplication terminate:] once the link's
// launch is over (or none came), which is how a Cocoa app quits. By then
// the launch has torn everything down and written its audit record, and
// no deferred function of main is left to run (main does nothing after
// runProcess but exit).
func runApp(ctx context.Context, s *stdio) int {
	if _, err := purego.Dlopen("/System/Library/Frameworks/AppKit.framework/AppKit", purego.RTLD_GLOBAL|purego.RTLD_NOW); err != nil {
		s.errorf("app: loading AppKit: %v", err)
		return exitFailure
	}
	session := newAppSession(func(string) {
		s.errorf("app: link refused: %s", appRefusal)
		tellUser(ctx, "trustlaunch: link refused", appRefusal)
	})

	handler, err := objc.RegisterClass("TrustlaunchLinkHandler", objc.GetClass("NSObject"), nil, nil, []objc.MethodDef{{
		Cmd: sel("handleGetURLEvent:withReplyEvent:"),
		Fn: func(_ objc.ID, _ objc.SEL, event, _ objc.ID) {
			session.deliver(eventURL(event))
		},
	}})
	if err != nil {
		s.errorf("app: %v", err)
		return exitFailure
	}
	app := objc.ID(objc.GetClass("NSApplication")).Send(sel("sharedApplication"))
	// Before -run, and so before -finishLaunching: the event of the link
	// that started the app is dispatched while the app finishes launching
	// and would be lost to a handler installed later.
	objc.ID(objc.GetClass("NSAppleEventManager")).Send(sel("sharedAppleEventManager")).Send(
		sel("setEventHandler:andSelector:forEventClass:andEventID:"),
		objc.ID(handler).Send(sel("new")), sel("handleGetURLEvent:withReplyEvent:"),
		uint32(kInternetEventClass), uint32(kAEGetURL))

	go func() {
		session.serve(ctx, appIdle, func(ctx context.Context, raw string) int {
			return openLink(ctx, s, raw)
		}, func() { tellUser(ctx, "trustlaunch", appNoLink) })
		app.Send(sel("performSelectorOnMainThread:withObject:waitUntilDone:"), sel("terminate:"), objc.ID(0), false)
	}()
	app.Send(sel("run"))
	// -run returns only after -stop:, which nothing sends.
	return exitOK
}

// eventURL returns the URL string of a kAEGetURL event: the direct
// object's text, copied into Go memory. At most link.MaxLen+1 bytes are
// copied, enough for link.Parse to refuse a longer link as too long.
func eventURL(event objc.ID) string {
	desc := event.Send(sel("paramDescriptorForKeyword:"), uint32(keyDirectObject))
	if desc == 0 {
		return ""
	}
	str := desc.Send(sel("stringValue"))
	if str == 0 {
		return ""
	}
	p := objc.Send[*byte](str, sel("UTF8String"))
	return cString(p, link.MaxLen+1)
}

// cString copies the NUL-terminated string at p, at most limit bytes.
// UTF8String's buffer belongs to the NSString, which the event keeps
// alive until the handler returns; the copy is made before that.
func cString(p *byte, limit int) string {
	if p == nil {
		return ""
	}
	b := make([]byte, 0, 256)
	for i := 0; i < limit; i++ {
		c := *(*byte)(unsafe.Add(unsafe.Pointer(p), i))
		if c == 0 {
			break
		}
		b = append(b, c)
	}
	return string(b)
}
