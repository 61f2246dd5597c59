package main

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// trustlaunch.app (docs/macos.md) runs this same binary. Launch Services
// starts the bundle's executable with no arguments (macOS before 10.9 added
// one, -psn_0_NNNN, the process serial number) and hands it each clicked
// link as a kAEGetURL Apple Event; the command line, through the symlink
// /usr/local/bin/trustlaunch, runs it with arguments. So the app is the
// bundle's executable started without a command. What it does with the
// links is decided here, in plain Go tested on every OS; app_darwin.go only
// receives the events.

// isAppLaunch reports whether a process with these arguments (after the
// program name) and executable path was started by Launch Services as
// trustlaunch.app rather than from a command line.
func isAppLaunch(args []string, exe string) bool {
	if !inAppBundle(exe) {
		return false
	}
	switch len(args) {
	case 0:
		return true
	case 1:
		return strings.HasPrefix(args[0], "-psn_")
	}
	return false
}

// inAppBundle reports whether exe is NAME.app/Contents/MacOS/PROGRAM.
func inAppBundle(exe string) bool {
	macos := filepath.Dir(exe)
	contents := filepath.Dir(macos)
	return filepath.Base(macos) == "MacOS" && filepath.Base(contents) == "Contents" &&
		strings.HasSuffix(filepath.Base(filepath.Dir(contents)), ".app")
}

// appIdle is how long the app waits for a link after it starts. A link
// click starts the app and delivers its event within a second; an app
// opened from the Finder gets none and should not linger invisibly (it has
// no Dock icon or menu, LSUIElement), so it says what it is for and quits.
const appIdle = 15 * time.Second

// appSession is the app's handling of links: it launches exactly one, the
// first, through the same path as "trustlaunch open -- URL", and refuses
// every other link for as long as the app runs, that is, while the first
// launch runs and until the app has quit after it.
//
// Refused rather than queued: a link carries a single-use ticket of a few
// minutes (docs/portal.md), so a link queued behind a session that lasts an
// hour would fail when its turn came, long after the click; refused at
// once, the user hears why while the click is fresh and can click again
// when the session is over. Launch Services starts one instance of the
// app, so one app process runs one launch at a time.
type appSession struct {
	links  chan string
	refuse func(raw string) // tells the user; runs on a goroutine of its own

	mu     sync.Mutex
	taken  bool
	closed bool           // serve is done: the app is quitting
	wg     sync.WaitGroup // refuse calls running on goroutines
}

func newAppSession(refuse func(raw string)) *appSession {
	return &appSession{links: make(chan string, 1), refuse: refuse}
}

// deliver hands one link to the session. It runs on the main thread, in
// the Apple Event handler, which must return for the app to go on
// receiving events, so it does not block while serve runs: a refusal is
// told on a goroutine. Once serve is done the app is about to quit, and a
// refusal is told before deliver returns, which holds the quit back until
// the user has been told. It reports whether the link will be launched.
func (a *appSession) deliver(raw string) bool {
	a.mu.Lock()
	first, closed := !a.taken, a.closed
	a.taken = true
	if !first && !closed {
		a.wg.Add(1)
	}
	a.mu.Unlock()
	switch {
	case first:
		a.links <- raw // the buffer holds the one link ever sent
		return true
	case closed:
		a.refuse(raw)
		return false
	}
	go func() {
		defer a.wg.Done()
		a.refuse(raw)
	}()
	return false
}

// serve waits up to idle for the first link and runs open on it; it returns
// open's exit code, or idle's result when no link came (after telling the
// user, through noLink), or exitInterrupted when ctx ends first. It then
// waits for the refusals still being told, so none is cut off by the app
// quitting.
func (a *appSession) serve(ctx context.Context, idle time.Duration, open func(context.Context, string) int, noLink func()) int {
	defer a.waitRefusals()
	t := time.NewTimer(idle)
	defer t.Stop()
	select {
	case raw := <-a.links:
		return open(ctx, raw)
	case <-t.C:
		// From now on a late link is refused rather than lost: the app
		// is about to quit.
		a.mu.Lock()
		late := a.taken
		a.taken = true
		a.mu.Unlock()
		if late {
			// It arrived between the timer and the lock: launch it.
			return open(ctx, <-a.links)
		}
		noLink()
		return exitOK
	case <-ctx.Done():
		a.mu.Lock()
		a.taken = true
		a.mu.Unlock()
		return exitInterrupted
	}
}

func (a *appSession) waitRefusals() {
	a.mu.Lock()
	a.taken, a.closed = true, true // no refusal goroutine starts after this
	a.mu.Unlock()
	a.wg.Wait()
}

// appRefusal is what a user who clicked a second link is told.
const appRefusal = "trustlaunch opens one link at a time, and a session it launched is still running. " +
	"End that session (quit its emulator), then click the link again."

// appNoLink is what a user who opened trustlaunch.app by hand is told.
const appNoLink = "trustlaunch.app has no window: it opens the trustlaunch:// links of your portal's Launch buttons. " +
	"Click one in your browser. Its command line is /usr/local/bin/trustlaunch."

// openLink runs raw through open exactly as "trustlaunch open -- RAW" would,
// with open's default flags: the app has no command line to take flags from.
func openLink(ctx context.Context, s *stdio, raw string) int {
	o, raw, code, ok := parseOpen(s, []string{"--", raw})
	if !ok {
		return code
	}
	return openURL(ctx, s, o, raw)
}
