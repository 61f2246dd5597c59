//go:build unix

package launcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/audit"
	"github.com/trustlaunch/trustlaunch/policy"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// answer is a Prompter that answers a, with err.
type answer struct {
	a   whitelist.Answer
	err error
}

func (p answer) Prompt(context.Context, whitelist.PromptRequest) (whitelist.Answer, error) {
	return p.a, p.err
}

// TestLaunchOutcomes: each way a launch ends has one outcome, which the
// result carries (cmd maps it to the exit code) and the audit record's
// decision repeats, with the step that decided.
func TestLaunchOutcomes(t *testing.T) {
	unlisted := func(p whitelist.Prompter) func(*world, *Options) {
		return func(_ *world, o *Options) {
			o.User = whitelist.Source{Path: "/nonexistent-trustlaunch-test/user.txt"}
			o.Prompter = p
		}
	}
	tests := []struct {
		name  string
		setup func(*world, *Options)
		want  audit.Outcome
		step  string
	}{
		{"the emulator ran", func(*world, *Options) {}, audit.Launched, StepLaunched},
		{"admin-only list", func(_ *world, o *Options) {
			o.Admin = whitelist.Source{Path: "admin.txt", List: whitelist.NewList("admin.txt", true, nil)}
		}, audit.RefusedWhitelist, string(whitelist.StepAdminOnlyRefused)},
		{"not https", func(w *world, o *Options) {
			o.LaunchURL = strings.Replace(o.LaunchURL, "https://", "http://", 1)
		}, audit.RefusedWhitelist, string(whitelist.StepNotHTTPS)},
		{"admin list unusable", func(_ *world, o *Options) {
			o.Admin = whitelist.Source{Path: "admin.txt", Err: errors.New("admin.txt: writable by others")}
		}, audit.RefusedWhitelist, string(whitelist.StepAdminFileUnsafe)},
		{"the user answered No", unlisted(answer{whitelist.AnswerNo, nil}), audit.RefusedUser, string(whitelist.StepPromptNo)},
		{"nobody answered", unlisted(answer{whitelist.AnswerNo, errors.New("no answer before the timeout")}), audit.RefusedUser, string(whitelist.StepPromptNo)},
		{"Ctrl-C at the prompt", unlisted(answer{whitelist.AnswerNo, fmt.Errorf("%w (interrupt)", whitelist.ErrInterrupted)}), audit.Interrupted, string(whitelist.StepPromptNo)},
		{"the admin policy refused the descriptor", func(_ *world, o *Options) {
			o.Policy = policy.Source{Path: "policy.toml", Policy: mustPolicy(t, "proxies = []\n")}
		}, audit.RefusedPolicy, policy.Step},
		{"the admin policy cannot be used", func(_ *world, o *Options) {
			o.Policy = policy.Source{Path: "policy.toml", Err: errors.New("policy.toml: writable by others")}
		}, audit.RefusedPolicy, policy.Step},
		{"no such profile", func(w *world, _ *Options) { w.set("profile", "nonesuch") }, audit.Failed, StepProfile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, "connect")
			opts, alog := w.options(t, "fake", strings.NewReader(""), io.Discard)
			tt.setup(w, &opts)
			res := Launch(t.Context(), opts)
			if res.Outcome != tt.want || res.Step != tt.step {
				t.Fatalf("outcome %s at step %s (err %v), want %s at %s", res.Outcome, res.Step, res.Err, tt.want, tt.step)
			}
			recs, err := alog.ReadRecent(1)
			if err != nil || len(recs) != 1 {
				t.Fatalf("audit: %v %v", recs, err)
			}
			if r := recs[0]; r.Decision != tt.want || r.Step != tt.step || r.Schema != audit.Schema || r.Action != audit.ActionLaunch || r.Demo {
				t.Errorf("audit record %+v, want decision %s at %s, schema %d, action launch, not demo", r, tt.want, tt.step, audit.Schema)
			}
		})
	}
}

// TestLaunchDemoMarked: a launch of `trustlaunch demo` says so in its
// record.
func TestLaunchDemoMarked(t *testing.T) {
	w := newWorld(t, "connect")
	opts, alog := w.options(t, "fake", strings.NewReader(""), io.Discard)
	opts.Demo = true
	if res := Launch(t.Context(), opts); res.Outcome != audit.Launched {
		t.Fatalf("outcome %s (%v)", res.Outcome, res.Err)
	}
	if recs, err := alog.ReadRecent(1); err != nil || len(recs) != 1 || !recs[0].Demo {
		t.Fatalf("audit %+v %v, want a record marked demo", recs, err)
	}
}

// slowYes answers Yes after wait: a user who takes that long to decide.
type slowYes struct{ wait time.Duration }

func (p slowYes) Prompt(ctx context.Context, _ whitelist.PromptRequest) (whitelist.Answer, error) {
	select {
	case <-time.After(p.wait):
		return whitelist.AnswerYes, nil
	case <-ctx.Done():
		return whitelist.AnswerNo, ctx.Err()
	}
}

// TestLaunchTimings: the record has the time of each phase the launch went
// through, measured once by the step runner: the prompt's wait inside the
// decision, the proxy's TCP, TLS and request inside the proxy's phase, and
// the phases within the launch's duration. A launch refused at the
// decision has no time for the phases it never reached.
func TestLaunchTimings(t *testing.T) {
	const think = 40 * time.Millisecond
	w := newWorld(t, "connect")
	opts, alog := w.options(t, "fake", strings.NewReader(""), io.Discard)
	opts.User = whitelist.Source{Path: "/nonexistent-trustlaunch-test/user.txt"}
	opts.Prompter = slowYes{think}
	opts.Policy = policy.Source{Path: "policy.toml", Policy: mustPolicy(t, "require_signed = false\n")}
	if res := Launch(t.Context(), opts); res.Outcome != audit.Launched {
		t.Fatalf("outcome %s (%v)", res.Outcome, res.Err)
	}
	recs, err := alog.ReadRecent(1)
	if err != nil || len(recs) != 1 {
		t.Fatalf("audit: %v %v", recs, err)
	}
	tm := recs[0].Timings
	for _, p := range tm.Phases() {
		if p.Took <= 0 && p.Name != "policy" { // a policy with no lists checks in well under a microsecond
			t.Errorf("phase %s has no time: %+v", p.Name, tm)
		}
	}
	if tm.Prompt < think || tm.Decision < tm.Prompt {
		t.Errorf("prompt %v, decision %v; want the %v wait, inside the decision", tm.Prompt, tm.Decision, think)
	}
	if sub := tm.ProxyTCP + tm.ProxyTLS + tm.ProxyRequest; sub > tm.Proxy {
		t.Errorf("the proxy's TCP, TLS and request take %v, more than its phase, %v", sub, tm.Proxy)
	}
	// duration_ms is whole milliseconds: give it one.
	if sum := tm.Decision + tm.Fetch + tm.Policy + tm.Proxy + tm.Emulator + tm.Session; sum > recs[0].Duration+time.Millisecond {
		t.Errorf("the phases take %v, more than the launch, %v", sum, recs[0].Duration)
	}

	opts, alog = w.options(t, "fake", strings.NewReader(""), io.Discard)
	opts.User = whitelist.Source{Path: "/nonexistent-trustlaunch-test/user.txt"}
	opts.Prompter = answer{whitelist.AnswerNo, nil}
	Launch(t.Context(), opts)
	recs, err = alog.ReadRecent(1)
	if err != nil || len(recs) != 1 {
		t.Fatalf("audit: %v %v", recs, err)
	}
	if tm := recs[0].Timings; tm.Decision <= 0 || tm.Fetch != 0 || tm.Proxy != 0 || tm.Emulator != 0 || tm.Session != 0 {
		t.Errorf("refused at the prompt: %+v; want the decision's time alone", tm)
	}
}
