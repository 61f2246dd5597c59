package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/demo"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

const demoUsage = `Run the whole product against an embedded portal, proxy and host.

Usage:
  trustlaunch demo [--no-tui] [--yes] [--raw]

The demo starts, on 127.0.0.1 only, an HTTPS origin that serves a launch
descriptor, a TLS CONNECT proxy that checks the session token, and a host
behind it. It then runs the real open flow against them: the whitelist
decision (your admin list applies; the user list is a temporary one, so the
trust prompt appears), the descriptor fetch, the tunnel, and the emulator.

With c3270 installed and this terminal as stdin, the host is a TN3270
application and the descriptor names the c3270 profile: c3270 shows a 3270
screen; type into the field, press Enter for the host's answer; PF3 (the
F3 key) ends the session. Otherwise, or with --raw, the host answers each
line in upper case and the "raw" profile relays this terminal to it; type
lines, end with Ctrl-D.

%s

Examples:
  trustlaunch demo
  echo hello | trustlaunch demo --yes
`

// demoC3270Hint says how to get the 3270 demo.
const demoC3270Hint = "install c3270 for the 3270 session (Debian, Ubuntu: sudo apt-get install c3270; macOS: brew install x3270)"

// demoPlan is what the demo will run on this machine.
type demoPlan struct {
	tn3270 bool
	why    string // one line for --help and the start of the demo
}

// planDemo chooses the TN3270 host and c3270 when c3270 is on PATH and
// stdin is a terminal (c3270 draws on it), else the line host and raw.
func planDemo(raw, terminal bool) demoPlan {
	c3270, err := exec.LookPath("c3270")
	switch {
	case raw:
		return demoPlan{why: "--raw: the demo relays this terminal raw to a line host"}
	case err != nil:
		return demoPlan{why: "c3270 is not installed, so the demo relays this terminal raw to a line host; " + demoC3270Hint}
	case !terminal:
		return demoPlan{why: "stdin is not a terminal, which c3270 needs, so the demo relays it raw to a line host (c3270 is at " + c3270 + ")"}
	}
	return demoPlan{tn3270: true, why: "c3270 is installed (" + c3270 + "), so the demo runs it against a TN3270 host"}
}

func cmdDemo(ctx context.Context, s *stdio, args []string) int {
	// --help says what this machine will run when the demo is started in
	// a terminal, as a new user would: it depends on c3270 being installed.
	fs := newFlagSet("demo", fmt.Sprintf(demoUsage, "On this machine: "+planDemo(false, true).why+"."), s)
	var o openOptions
	var yes, raw bool
	fs.BoolVar(&o.noTUI, "no-tui", false, "ask with a plain text prompt instead of the full-screen one")
	fs.BoolVar(&yes, "yes", false, "answer the trust prompt with Yes (for scripted runs)")
	fs.BoolVar(&raw, "raw", false, "relay this terminal raw to a line host, even when c3270 is installed")
	fs.DurationVar(&o.timeout, "prompt-timeout", 60*time.Second, "answer No when the prompt gets no answer in this time")
	o.paths = addListFlags(fs)
	if code, ok := parseFlags(fs, args, s); !ok {
		return code
	}
	if fs.NArg() != 0 {
		s.errorf("demo takes no arguments")
		return exitUsage
	}
	if !yes && !isTerminal(s.stdin) {
		// The prompt would look for a terminal or a window to ask in, and
		// a scripted run has neither: say at once what to do.
		s.errorf("demo: stdin is not a terminal, so nobody can answer the trust prompt; use --yes to answer Yes (echo hello | trustlaunch demo --yes)")
		return exitUsage
	}
	plan := planDemo(raw, isTerminal(s.stdin))
	signer, err := descriptor.GenerateKey("")
	if err != nil {
		s.errorf("demo: %v", err)
		return exitFailure
	}
	world, err := demo.Start(demo.Options{TN3270: plan.tn3270, Signer: signer})
	if err != nil {
		s.errorf("demo: %v", err)
		return exitFailure
	}
	defer world.Close()

	if o.paths.user == "" {
		dir, err := os.MkdirTemp("", "trustlaunch-demo-")
		if err != nil {
			s.errorf("demo: %v", err)
			return exitFailure
		}
		defer os.RemoveAll(dir)
		o.paths.user = filepath.Join(dir, "whitelist.txt")
	}
	if err := o.paths.resolve(); err != nil {
		s.errorf("demo: %v", err)
		return exitFailure
	}
	// Short lines: with the trust prompt under them they fit 80x24, so
	// nothing has scrolled away when the question appears.
	fmt.Fprintf(s.stderr, "trustlaunch demo: %s.\n", plan.why)
	fmt.Fprintf(s.stderr, "trustlaunch demo: portal, proxy and host run on 127.0.0.1; a browser would run\n")
	fmt.Fprintf(s.stderr, "  trustlaunch open -- '%s'\n", "trustlaunch://launch?url="+url.QueryEscape(world.LaunchURL))

	prompter := newPrompter(s, o)
	if yes {
		prompter = answerPrompter{whitelist.AnswerYes}
	}
	policy, done, err := demoPolicy(s, world)
	if err != nil {
		s.errorf("demo: %v", err)
		return exitFailure
	}
	defer done()
	return runLaunch(ctx, s, launchSetup{
		target:   world.LaunchURL,
		paths:    o.paths,
		prompter: prompter,
		fetch:    descriptor.FetchOptions{RootCAs: world.OriginCA},
		plain:    o.noTUI,
		policy:   policy,
		demo:     true,
	})
}

// answerPrompter answers every prompt the same way (demo --yes).
type answerPrompter struct{ a whitelist.Answer }

func (p answerPrompter) Prompt(context.Context, whitelist.PromptRequest) (whitelist.Answer, error) {
	return p.a, nil
}
