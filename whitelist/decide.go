package whitelist

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/trustlaunch/trustlaunch/platform"
)

// Step names the branch of the decision flow that decided a launch. The
// values are stable: they appear in the audit log and in `whitelist explain`.
type Step string

const (
	StepNotHTTPS         Step = "not-https"          // 1: the descriptor URL is not https
	StepInvalidOrigin    Step = "invalid-origin"     // the URL's host failed normalization
	StepAdminFileUnsafe  Step = "admin-file-unsafe"  // 2: the admin list cannot be trusted or read, or is missing below an unsafe directory
	StepAdminListed      Step = "admin-listed"       // 2: the admin list admits the origin
	StepAdminOnlyRefused Step = "admin-only-refused" // 2: AllowAdminListOnly and not listed
	StepUserListed       Step = "user-listed"        // 3: the user list admits the origin
	StepPromptAlways     Step = "prompt-always"      // 4: the user answered Always
	StepPromptYes        Step = "prompt-yes"         // 4: the user answered Yes
	StepPromptNo         Step = "prompt-no"          // 4: No, Esc, timeout, closed terminal or a prompt error
	StepWouldPrompt      Step = "would-prompt"       // 4 with no Prompter: `whitelist explain`
)

// Source is one whitelist as the decision sees it.
type Source struct {
	Path     string
	List     *List     // nil when the file does not exist
	Err      error     // the file exists but cannot be used; for the admin list this stops the launch
	Problems []Problem // entries skipped while parsing, for warnings
}

// Input is everything the decision depends on. Decide does no I/O of its own
// beyond calling Prompter.
type Input struct {
	LaunchURL string // the descriptor URL, whose origin is the server being trusted
	Admin     Source
	User      Source
	Prompter  Prompter // nil: do not ask; the result is StepWouldPrompt
	Explain   bool     // record Decision.Trace
}

// Decision is the outcome of the flow.
type Decision struct {
	Step    Step
	Proceed bool
	Origin  Origin // zero for not-https and invalid-origin
	Matched *Entry // the entry that admitted the origin, for admin-listed and user-listed
	Message string // one sentence for the user
	Err     error  // the underlying error, when there is one
	Trace   []string
}

// Refused reports whether the launch must stop because of policy or the user.
func (d Decision) Refused() bool { return !d.Proceed && d.Step != StepWouldPrompt }

// Decide runs the decision flow (docs/design.md "The decision flow"). It is
// a pure function of its input and the prompter's answer; writing an Always
// answer to the user list is the caller's job (AddToUserList), after the
// decision.
func Decide(ctx context.Context, in Input) Decision {
	// The trace is built only for `whitelist explain`: formatting it on every
	// launch would cost more than the rest of the decision.
	f := flow{in: in, trace: in.Explain}
	// The steps in order; the first that decides ends the flow.
	if f.httpsOrigin() || f.adminList() || f.userList() {
		return f.d
	}
	f.ask(ctx) // always decides
	return f.d
}

// flow is one run of Decide: its input and the decision so far. Each step
// returns decided=true once the decision is made (stop), false to go on.
type flow struct {
	in    Input
	trace bool // record Decision.Trace; every tracef sits behind it, so a launch does not box its arguments
	d     Decision
}

// stop decides: the step that decided, whether the launch proceeds, the
// sentence for the user and the underlying error.
func (f *flow) stop(step Step, proceed bool, msg string, err error) (decided bool) {
	f.d.Step, f.d.Proceed, f.d.Message, f.d.Err = step, proceed, msg, err
	if f.trace {
		f.d.tracef("decision: %s", step)
	}
	return true
}

// httpsOrigin is step 1: https only, and a host that normalizes. Its origin
// is the server the rest of the flow trusts or not.
func (f *flow) httpsOrigin() (decided bool) {
	o, err := ParseOrigin(f.in.LaunchURL)
	switch {
	case errors.Is(err, ErrNotHTTPS):
		if f.trace {
			f.d.tracef("1. descriptor URL is not https: %v", err)
		}
		return f.stop(StepNotHTTPS, false, "Launch refused: the descriptor URL does not begin with https://, so its server cannot be verified.", err)
	case err != nil:
		if f.trace {
			f.d.tracef("1. descriptor URL is https but its host is not acceptable: %v", err)
		}
		return f.stop(StepInvalidOrigin, false, "Launch refused: "+err.Error()+".", err)
	}
	f.d.Origin = o
	if f.trace {
		f.d.tracef("1. descriptor URL is https; origin %s", o)
	}
	return false
}

// adminList is step 2: an admin list that cannot be used stops the launch;
// a missing one is prompt mode; a usable one is looked up (adminEntries).
func (f *flow) adminList() (decided bool) {
	admin := &f.in.Admin
	switch {
	case admin.Err != nil && adminMissing(admin.Err):
		// No file, but a directory above it that others could write: they
		// could have removed it, so this stops the launch like an unsafe
		// file does (docs/design.md "Fail closed"); only the words differ.
		if f.trace {
			f.d.tracef("2. admin list %s does not exist, and its absence cannot be trusted: %v", admin.Path, admin.Err)
		}
		return f.stop(StepAdminFileUnsafe, false, "Launch refused: the administrator's whitelist does not exist, but the directories above it are not safe, so it may have been removed: "+admin.Err.Error()+".", admin.Err)
	case admin.Err != nil:
		if f.trace {
			f.d.tracef("2. admin list %s exists but cannot be used: %v", admin.Path, admin.Err)
		}
		return f.stop(StepAdminFileUnsafe, false, "Launch refused: the administrator's whitelist cannot be used: "+admin.Err.Error()+".", admin.Err)
	case admin.List == nil:
		if f.trace {
			f.d.tracef("2. admin list %s does not exist; prompt mode", admin.Path)
		}
		return false
	}
	return f.adminEntries()
}

// adminEntries looks the origin up in a usable admin list: listed proceeds;
// not listed refuses in admin-only mode and goes on to the user list in
// prompt mode.
func (f *flow) adminEntries() (decided bool) {
	list := f.in.Admin.List
	e, listed := list.Match(f.d.Origin)
	if f.trace {
		f.traceAdmin(e, listed)
	}
	switch {
	case listed:
		f.d.Matched = &e
		return f.stop(StepAdminListed, true, "", nil)
	case list.AdminOnly:
		return f.stop(StepAdminOnlyRefused, false, AdminOnlyMessage(f.d.Origin), nil)
	}
	return false
}

// traceAdmin records the admin list's answer, naming where its entries
// came from (the file, or Group Policy's values) and its mode.
func (f *flow) traceAdmin(e Entry, listed bool) {
	list := f.in.Admin.List
	mode := "prompt mode"
	if list.AdminOnly {
		mode = Keyword + " mode"
	}
	if list.ModeFrom != "" {
		mode += " from " + list.ModeFrom
	}
	path, at := f.in.Admin.Path, "line"
	if list.Registry {
		path, at = list.Path, "value" // Group Policy's entries
	}
	if listed {
		f.d.tracef("2. admin list %s (%s): %s %d %s admits %s", path, mode, at, e.Line, e, f.d.Origin)
		return
	}
	f.d.tracef("2. admin list %s (%s): %s is not listed", path, mode, f.d.Origin)
}

// userList is step 3: the user's own list admits the origin, or the flow
// goes on to ask. An unusable user list only means we ask: asking is the
// safe direction, and Always will refuse to overwrite it.
func (f *flow) userList() (decided bool) {
	user := &f.in.User
	switch {
	case user.Err != nil:
		if f.trace {
			f.d.tracef("3. user list %s cannot be used (%v); ignoring it", user.Path, user.Err)
		}
	case user.List == nil:
		if f.trace {
			f.d.tracef("3. user list %s does not exist", user.Path)
		}
	default:
		if e, ok := user.List.Match(f.d.Origin); ok {
			f.d.Matched = &e
			if f.trace {
				f.d.tracef("3. user list %s: line %d %s admits %s", user.Path, e.Line, e, f.d.Origin)
			}
			return f.stop(StepUserListed, true, "", nil)
		}
		if f.trace {
			f.d.tracef("3. user list %s: %s is not listed", user.Path, f.d.Origin)
		}
	}
	return false
}

// ask is step 4: the prompter's answer decides, and every error of the
// prompter is No. Without a prompter (`whitelist explain`) the flow ends
// where it would ask.
func (f *flow) ask(ctx context.Context) {
	o := f.d.Origin
	if f.in.Prompter == nil {
		if f.trace {
			f.d.tracef("4. would ask the user: %q %s", Question, o)
		}
		f.stop(StepWouldPrompt, false, "", nil)
		return
	}
	ans, err := f.in.Prompter.Prompt(ctx, PromptRequest{Origin: o, LaunchURL: f.in.LaunchURL, UserListPath: f.in.User.Path})
	if err != nil {
		ans = AnswerNo // whatever the prompter returned, an error refuses
	}
	if f.trace {
		f.d.tracef("4. asked the user: %s", ans)
	}
	switch {
	case ans == AnswerAlways:
		f.stop(StepPromptAlways, true, "", nil)
	case ans == AnswerYes:
		f.stop(StepPromptYes, true, "", nil)
	case err != nil:
		f.stop(StepPromptNo, false, "Launch refused: the trust prompt got no answer ("+err.Error()+").", err)
	default: // No, and any answer that is not Always or Yes
		f.stop(StepPromptNo, false, "Launch refused: you answered No.", nil)
	}
}

// adminMissing reports whether err is the admin-file check's verdict on a
// file that does not exist below an unsafe directory.
func adminMissing(err error) bool {
	var u *platform.UnsafeFileError
	return errors.As(err, &u) && u.Missing
}

// AdminOnlyMessage is the refusal of Allow Admin List Only mode, word for word
// from the trusted-server list seed.
func AdminOnlyMessage(o Origin) string {
	return "You are not allowed to launch software downloaded from " + ServerName(o) + ". Contact your system administrator for assistance."
}

// ServerName is how a server is named to the user: its host, with the port
// when that is not 443.
func ServerName(o Origin) string {
	if o.port == DefaultPort || o.port == 0 {
		return o.host
	}
	return o.host + ":" + strconv.Itoa(int(o.port))
}

func (d *Decision) tracef(format string, args ...any) {
	d.Trace = append(d.Trace, fmt.Sprintf(format, args...))
}
