package main

import (
	"github.com/trustlaunch/trustlaunch/audit"
	"github.com/trustlaunch/trustlaunch/link"
	"github.com/trustlaunch/trustlaunch/policy"
)

// exitFor returns the exit code of a launch or a detection from its
// outcome: the one classification (audit.Outcome) decides the exit code,
// the audit record's decision and the OS log's event alike. A launch that
// ran its emulator exits with the emulator's status.
func exitFor(o audit.Outcome, step string, status int) int {
	switch o {
	case audit.Launched:
		return min(max(status, 0), 255)
	case audit.Detected:
		return exitOK
	case audit.RefusedWhitelist, audit.RefusedUser, audit.RefusedPolicy, audit.RateLimited:
		return exitRefused
	case audit.Interrupted:
		return exitInterrupted
	}
	if step == link.StepLaunchURL {
		return exitUsage // the link itself is malformed
	}
	return exitFailure
}

// newAuditLog opens the user's audit log, whose launch records also go to
// the OS's log at the level this machine's admin policy sets (os_log, or
// Group Policy's OSLog): src, as loaded for the launch.
func newAuditLog(src policy.Source) (*audit.Log, error) {
	return audit.New(audit.Options{OSLog: src.OSLogLevel()})
}
