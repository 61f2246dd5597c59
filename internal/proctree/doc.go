// Package proctree tracks the processes below this one on macOS, the
// stand-in for Linux's child subreaper: while an emulator runs, the
// tracker records every descendant (EVFILT_PROC on each, and a scan at
// least every 25 ms), so that a launch's teardown can end a process that
// left the emulator's tree when its parent exited and launchd adopted it.
// The launcher's darwin teardown (launcher/emulator_darwin.go) is its
// only user; on other systems the package is empty, since Linux has the
// subreaper and Windows the job object.
package proctree
