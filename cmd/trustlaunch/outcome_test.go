package main

import (
	"testing"

	"github.com/trustlaunch/trustlaunch/audit"
	"github.com/trustlaunch/trustlaunch/launcher"
	"github.com/trustlaunch/trustlaunch/link"
)

// TestExitForEveryOutcome: each outcome of a launch or a detection has its
// code from the table, and a launch's outcomes are all mapped (a new one
// must be given its code here).
func TestExitForEveryOutcome(t *testing.T) {
	for _, tt := range []struct {
		o      audit.Outcome
		step   string
		status int
		want   int
	}{
		{audit.Launched, "launched", 7, 7},
		{audit.Launched, "launched", -1, 0},
		{audit.Launched, "launched", 300, 255},
		{audit.RefusedWhitelist, "admin-only-refused", 0, exitRefused},
		{audit.RefusedUser, "prompt-no", 0, exitRefused},
		{audit.RefusedPolicy, "policy", 0, exitRefused},
		{audit.Failed, "tcp", 0, exitFailure},
		{audit.Failed, link.StepLaunchURL, 0, exitUsage},
		{audit.Interrupted, "prompt-no", 0, exitInterrupted},
		{audit.Detected, launcher.StepDetectPost, 0, exitOK},
		{audit.RateLimited, launcher.StepDetectRateLimit, 0, exitRefused},
	} {
		if got := exitFor(tt.o, tt.step, tt.status); got != tt.want {
			t.Errorf("exitFor(%s, %s, %d) = %d, want %d", tt.o, tt.step, tt.status, got, tt.want)
		}
	}
	for _, o := range audit.LaunchOutcomes {
		if o != audit.Failed && exitFor(o, "x", 0) == exitFailure {
			t.Errorf("outcome %s has no exit code of its own", o)
		}
		if o.EventID() == 0 {
			t.Errorf("outcome %s has no event ID", o)
		}
	}
}
