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
	StepNotHTTPS         Step = "not-https"          // 1: the launch URL is not https
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

// Decide runs the decision flow of DESIGN.md. It is a pure function of its
// input and the prompter's answer; writing an Always answer to the user list
// is the caller's job (AddToUserList), after the decision.
func Decide(ctx context.Context, in Input) Decision {
	var d Decision
	// The trace is built only for `whitelist explain`: formatting it on every
	// launch would cost more than the rest of the decision.
	trace := in.Explain
	stop := func(step Step, proceed bool, msg string, err error) Decision {
		d.Step, d.Proceed, d.Message, d.Err = step, proceed, msg, err
		if trace {
			d.tracef("decision: %s", step)
		}
		return d
	}

	// Step 1: https only.
	o, err := ParseOrigin(in.LaunchURL)
	if errors.Is(err, ErrNotHTTPS) {
		if trace {
			d.tracef("1. launch URL is not https: %v", err)
		}
		return stop(StepNotHTTPS, false, "Launch refused: the launch URL does not begin with https://, so its server cannot be verified.", err)
	}
	if err != nil {
		if trace {
			d.tracef("1. launch URL is https but its host is not acceptable: %v", err)
		}
		return stop(StepInvalidOrigin, false, "Launch refused: "+err.Error()+".", err)
	}
	d.Origin = o
	if trace {
		d.tracef("1. launch URL is https; origin %s", o)
	}

	// Step 2: the admin list.
	switch {
	case in.Admin.Err != nil && adminMissing(in.Admin.Err):
		// No file, but a directory above it that others could write: they
		// could have removed it, so this stops the launch like an unsafe
		// file does (DESIGN.md, fail closed); only the words differ.
		if trace {
			d.tracef("2. admin list %s does not exist, and its absence cannot be trusted: %v", in.Admin.Path, in.Admin.Err)
		}
		return stop(StepAdminFileUnsafe, false, "Launch refused: the administrator's whitelist does not exist, but the directories above it are not safe, so it may have been removed: "+in.Admin.Err.Error()+".", in.Admin.Err)
	case in.Admin.Err != nil:
		if trace {
			d.tracef("2. admin list %s exists but cannot be used: %v", in.Admin.Path, in.Admin.Err)
		}
		return stop(StepAdminFileUnsafe, false, "Launch refused: the administrator's whitelist cannot be used: "+in.Admin.Err.Error()+".", in.Admin.Err)
	case in.Admin.List == nil:
		if trace {
			d.tracef("2. admin list %s does not exist; prompt mode", in.Admin.Path)
		}
	default:
		mode := "prompt mode"
		if in.Admin.List.AdminOnly {
			mode = Keyword + " mode"
		}
		listPath := in.Admin.Path
		if in.Admin.List.ModeFrom != "" {
			mode += " from " + in.Admin.List.ModeFrom
		}
		if in.Admin.List.Registry {
			listPath = in.Admin.List.Path // Group Policy's entries
		}
		if e, ok := in.Admin.List.Match(o); ok {
			d.Matched = &e
			if trace {
				at := "line " + strconv.Itoa(e.Line)
				if in.Admin.List.Registry {
					at = "value " + strconv.Itoa(e.Line)
				}
				d.tracef("2. admin list %s (%s): %s %s admits %s", listPath, mode, at, e, o)
			}
			return stop(StepAdminListed, true, "", nil)
		}
		if in.Admin.List.AdminOnly {
			if trace {
				d.tracef("2. admin list %s (%s): %s is not listed", listPath, mode, o)
			}
			return stop(StepAdminOnlyRefused, false, AdminOnlyMessage(o), nil)
		}
		if trace {
			d.tracef("2. admin list %s (%s): %s is not listed", listPath, mode, o)
		}
	}

	// Step 3: the user list. An unusable user list only means we ask: asking
	// is the safe direction, and Always will refuse to overwrite it.
	switch {
	case in.User.Err != nil:
		if trace {
			d.tracef("3. user list %s cannot be used (%v); ignoring it", in.User.Path, in.User.Err)
		}
	case in.User.List == nil:
		if trace {
			d.tracef("3. user list %s does not exist", in.User.Path)
		}
	default:
		if e, ok := in.User.List.Match(o); ok {
			d.Matched = &e
			if trace {
				d.tracef("3. user list %s: line %d %s admits %s", in.User.Path, e.Line, e, o)
			}
			return stop(StepUserListed, true, "", nil)
		}
		if trace {
			d.tracef("3. user list %s: %s is not listed", in.User.Path, o)
		}
	}

	// Step 4: ask.
	if in.Prompter == nil {
		if trace {
			d.tracef("4. would ask the user: %q %s", Question, o)
		}
		return stop(StepWouldPrompt, false, "", nil)
	}
	ans, err := in.Prompter.Prompt(ctx, PromptRequest{Origin: o, LaunchURL: in.LaunchURL, UserListPath: in.User.Path})
	if err != nil {
		ans = AnswerNo // whatever the prompter returned, an error refuses
	}
	if trace {
		d.tracef("4. asked the user: %s", ans)
	}
	switch ans {
	case AnswerAlways:
		return stop(StepPromptAlways, true, "", nil)
	case AnswerYes:
		return stop(StepPromptYes, true, "", nil)
	}
	msg := "Launch refused: you answered No."
	if err != nil {
		msg = "Launch refused: the trust prompt got no answer (" + err.Error() + ")."
	}
	return stop(StepPromptNo, false, msg, err)
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
