package whitelist

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/platform"
)

// fakePrompter answers with a fixed answer and records whether it was asked.
type fakePrompter struct {
	answer Answer
	err    error
	called int
	req    PromptRequest
}

func (p *fakePrompter) Prompt(_ context.Context, req PromptRequest) (Answer, error) {
	p.called++
	p.req = req
	return p.answer, p.err
}

func mustList(t *testing.T, text string) *List {
	t.Helper()
	l, probs, err := Parse("list.txt", []byte(text))
	if err != nil || len(probs) > 0 {
		t.Fatalf("Parse(%q): %v %v", text, err, probs)
	}
	return l
}

const portalURL = "https://portal.example.com/launch/1?ticket=abc"

func TestDecide(t *testing.T) {
	adminPrompt := Source{Path: "/etc/trustlaunch/whitelist.txt", List: mustList(t, "portal.example.com\n")}
	adminPromptOther := Source{Path: "/etc/trustlaunch/whitelist.txt", List: mustList(t, "other.example.com\n")}
	adminOnly := Source{Path: "/etc/trustlaunch/whitelist.txt", List: mustList(t, "AllowAdminListOnly\nother.example.com\n")}
	adminOnlyListed := Source{Path: "/etc/trustlaunch/whitelist.txt", List: mustList(t, "AllowAdminListOnly portal.example.com\n")}
	adminUnsafe := Source{Path: "/etc/trustlaunch/whitelist.txt", Err: errors.New("/etc/trustlaunch/whitelist.txt: writable by group")}
	userListed := Source{Path: "/home/u/.config/trustlaunch/whitelist.txt", List: mustList(t, "portal.example.com\n")}
	userOther := Source{Path: "/home/u/.config/trustlaunch/whitelist.txt", List: mustList(t, "other.example.com\n")}
	userBroken := Source{Path: "/home/u/.config/trustlaunch/whitelist.txt", Err: errors.New("not valid UTF-8")}

	tests := []struct {
		name      string
		url       string
		admin     Source
		user      Source
		answer    Answer
		promptErr error
		want      Step
		proceed   bool
		asked     bool
		msgHas    string
	}{
		{"not https", "http://portal.example.com/x", adminPrompt, userListed, AnswerAlways, nil, StepNotHTTPS, false, false, "does not begin with https"},
		{"invalid origin", "https://user@portal.example.com/", adminPrompt, userListed, AnswerAlways, nil, StepInvalidOrigin, false, false, "user info"},
		{"admin file unsafe", portalURL, adminUnsafe, userListed, AnswerAlways, nil, StepAdminFileUnsafe, false, false, "writable by group"},
		{"admin listed", portalURL, adminPrompt, Source{}, AnswerNo, nil, StepAdminListed, true, false, ""},
		{"admin-only listed", portalURL, adminOnlyListed, Source{}, AnswerNo, nil, StepAdminListed, true, false, ""},
		{"admin-only refused even if user-listed", portalURL, adminOnly, userListed, AnswerAlways, nil, StepAdminOnlyRefused, false, false,
			"You are not allowed to launch software downloaded from portal.example.com. Contact your system administrator for assistance."},
		{"prompt mode, user listed", portalURL, adminPromptOther, userListed, AnswerNo, nil, StepUserListed, true, false, ""},
		{"no admin file, user listed", portalURL, Source{}, userListed, AnswerNo, nil, StepUserListed, true, false, ""},
		{"prompt always", portalURL, adminPromptOther, userOther, AnswerAlways, nil, StepPromptAlways, true, true, ""},
		{"prompt yes", portalURL, Source{}, Source{}, AnswerYes, nil, StepPromptYes, true, true, ""},
		{"prompt no", portalURL, Source{}, Source{}, AnswerNo, nil, StepPromptNo, false, true, "you answered No"},
		{"prompt error is no", portalURL, Source{}, Source{}, AnswerAlways, errors.New("timed out"), StepPromptNo, false, true, "timed out"},
		{"broken user list prompts", portalURL, Source{}, userBroken, AnswerYes, nil, StepPromptYes, true, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakePrompter{answer: tt.answer, err: tt.promptErr}
			d := Decide(t.Context(), Input{LaunchURL: tt.url, Admin: tt.admin, User: tt.user, Prompter: p, Explain: true})
			if d.Step != tt.want || d.Proceed != tt.proceed {
				t.Fatalf("Decide = %s proceed=%v, want %s proceed=%v\ntrace: %s", d.Step, d.Proceed, tt.want, tt.proceed, strings.Join(d.Trace, "\n"))
			}
			if asked := p.called > 0; asked != tt.asked {
				t.Errorf("prompter called %d times, want asked=%v", p.called, tt.asked)
			}
			if p.called > 1 {
				t.Errorf("prompter called %d times", p.called)
			}
			if !strings.Contains(d.Message, tt.msgHas) {
				t.Errorf("message %q does not contain %q", d.Message, tt.msgHas)
			}
			if d.Refused() == tt.proceed {
				t.Errorf("Refused() = %v with proceed %v", d.Refused(), tt.proceed)
			}
			if len(d.Trace) == 0 {
				t.Error("no trace")
			}
			if tt.asked && (p.req.Origin.String() != "https://portal.example.com" || p.req.UserListPath != tt.user.Path) {
				t.Errorf("prompt request = %+v", p.req)
			}
		})
	}
}

func TestDecideWouldPrompt(t *testing.T) {
	d := Decide(t.Context(), Input{LaunchURL: portalURL})
	if d.Step != StepWouldPrompt || d.Proceed || d.Refused() {
		t.Errorf("nil prompter: %+v", d)
	}
	if len(d.Trace) != 0 {
		t.Errorf("trace recorded without Explain: %q", d.Trace)
	}
}

func TestDecideMatchedEntry(t *testing.T) {
	admin := Source{Path: "a", List: mustList(t, "x.example\nportal.example.com:443\n")}
	d := Decide(t.Context(), Input{LaunchURL: portalURL, Admin: admin})
	if d.Matched == nil || d.Matched.Line != 2 {
		t.Errorf("Matched = %+v", d.Matched)
	}
}

func TestAdminOnlyMessagePort(t *testing.T) {
	o, _ := ParseOrigin("https://portal.example.com:8443/")
	want := "You are not allowed to launch software downloaded from portal.example.com:8443. Contact your system administrator for assistance."
	if got := AdminOnlyMessage(o); got != want {
		t.Errorf("got %q", got)
	}
}

// TestDecideAdminMissingInUnsafeDir: an admin list that does not exist in a
// directory someone else could write (under Wine C:\ belongs to the
// user) is reported as missing, not as a file that "exists but cannot
// be used", and still stops the launch: whoever can write the directory
// could have removed the file.
func TestDecideAdminMissingInUnsafeDir(t *testing.T) {
	const path = `C:\Program Files\trustlaunch\whitelist.txt`
	unsafe := &platform.UnsafeFileError{Path: path, Reason: `directory C:\ is owned by VM\root, not Administrators, SYSTEM or TrustedInstaller`, Missing: true}
	userListed := Source{Path: "u.txt", List: mustList(t, "portal.example.com\n")}
	p := &fakePrompter{answer: AnswerAlways}
	d := Decide(t.Context(), Input{LaunchURL: portalURL, Admin: Source{Path: path, Err: unsafe}, User: userListed, Prompter: p, Explain: true})
	if d.Step != StepAdminFileUnsafe || d.Proceed || !d.Refused() || p.called != 0 {
		t.Fatalf("Decide = %s proceed=%v asked=%d, want %s, refused, not asked", d.Step, d.Proceed, p.called, StepAdminFileUnsafe)
	}
	trace := strings.Join(d.Trace, "\n")
	for _, text := range []string{trace, d.Message} {
		if strings.Contains(text, "exists") {
			t.Errorf("says the missing file exists: %q", text)
		}
		if !strings.Contains(text, "does not exist") || !strings.Contains(text, `directory C:\ is owned by`) {
			t.Errorf("%q: want it to say the file does not exist and which directory is at fault", text)
		}
	}
	// The same error without Missing keeps the old wording.
	unsafe.Missing = false
	d = Decide(t.Context(), Input{LaunchURL: portalURL, Admin: Source{Path: path, Err: unsafe}, Explain: true})
	if trace := strings.Join(d.Trace, "\n"); d.Step != StepAdminFileUnsafe || !strings.Contains(trace, "exists but cannot be used") {
		t.Errorf("an existing unsafe file: %s\n%s", d.Step, trace)
	}
}
