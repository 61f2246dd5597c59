package audit

import "github.com/trustlaunch/trustlaunch/internal/oslog"

// Outcome is how a launch ended: the one classification that the audit
// record's decision, the event in the OS's log (its event ID and severity)
// and trustlaunch's exit code share (docs/admin.md "Launch records"). The
// step of the record says where inside its phase a launch ended.
type Outcome string

// The outcomes of a launch.
const (
	// Launched: the emulator ran; its exit status is the launch's.
	Launched Outcome = "launched"
	// RefusedWhitelist: the trust decision refused the server: a link
	// that is not https or whose host is not acceptable, a server the
	// admin list does not name in AllowAdminListOnly mode, an admin list
	// that cannot be used (fail closed).
	RefusedWhitelist Outcome = "refused-whitelist"
	// RefusedUser: the user answered No, or nobody answered the prompt
	// (its timeout, a closed terminal, no terminal to ask on).
	RefusedUser Outcome = "refused-user"
	// RefusedPolicy: the admin policy refused the descriptor, or cannot
	// be used and so stops every launch (fail closed).
	RefusedPolicy Outcome = "refused-policy"
	// Failed: a step failed (the record's step names it): the link, the
	// descriptor's fetch, the tunnel, the emulator's start, ...
	Failed Outcome = "failed"
	// Interrupted: Ctrl-C or a signal ended the launch, the trust prompt
	// included.
	Interrupted Outcome = "interrupted"
)

// The outcomes of a detect link (launcher.Detect), which asks nobody and
// launches nothing. A detection the lists refuse is RefusedWhitelist, one
// that failed is Failed, one interrupted Interrupted, as for a launch.
const (
	// Detected: the portal was told this trustlaunch's version.
	Detected Outcome = "detected"
	// RateLimited: the same host was answered less than 10 s before.
	RateLimited Outcome = "rate-limited"
)

// outcomeInfo is what an outcome means outside the audit log.
type outcomeInfo struct {
	severity oslog.Severity // in the OS's log: syslog's severity, the Windows event type
	eventID  uint32         // the Windows event ID (docs/admin.md)
	// messageID is the journald MESSAGE_ID: a random 128-bit ID per
	// outcome, as journald's catalog asks, so that `journalctl
	// MESSAGE_ID=...` finds one class whatever the message says.
	messageID string
	summary   string // what the OS log's message begins with
}

// outcomes is the table the event IDs and message IDs come from; launches
// only (detections go to the audit log alone).
var outcomes = map[Outcome]outcomeInfo{
	Launched:         {oslog.Info, 100, "d6ae5c3d1c1b4290bead7fc299994a55", "launched"},
	RefusedWhitelist: {oslog.Warning, 101, "153ca037995c4d86b4c4c7df6bc48ff8", "launch refused by the whitelist"},
	RefusedUser:      {oslog.Warning, 102, "ff90cb77087b47d6bcc662dd27546564", "launch refused by the user"},
	RefusedPolicy:    {oslog.Warning, 103, "5027d11f3f504556b67bbd79a2a11ec7", "launch refused by the admin policy"},
	Failed:           {oslog.Error, 104, "571d779d4dc64eef89103abd8b1dd096", "launch failed"},
	Interrupted:      {oslog.Info, 105, "5cba237e63b34037a6e42294a70baee1", "launch interrupted"},
}

// LaunchOutcomes are the outcomes of a launch, in the order docs/admin.md
// lists them.
var LaunchOutcomes = []Outcome{Launched, RefusedWhitelist, RefusedUser, RefusedPolicy, Failed, Interrupted}

// EventID returns the Windows event ID of a launch's outcome, 0 for one
// that is not a launch's.
func (o Outcome) EventID() uint32 { return outcomes[o].eventID }

// MessageID returns the journald MESSAGE_ID of a launch's outcome, "" for
// one that is not a launch's.
func (o Outcome) MessageID() string { return outcomes[o].messageID }

// Severity returns the severity of a launch's outcome in the OS's log;
// an outcome that is not a launch's (a line read from an older log) is
// an error, so that no level filters it out.
func (o Outcome) Severity() oslog.Severity {
	if i, ok := outcomes[o]; ok {
		return i.severity
	}
	return oslog.Error
}

// Refused reports whether the outcome is a refusal: by the whitelist, the
// user or the admin policy.
func (o Outcome) Refused() bool {
	return o == RefusedWhitelist || o == RefusedUser || o == RefusedPolicy
}
