package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/trustlaunch/trustlaunch/launcher"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

const demoUsage = `Run the whole product against an embedded portal, proxy and host.

Usage:
  trustlaunch demo [--no-tui] [--yes]

The demo starts, on 127.0.0.1 only, an HTTPS origin that serves a launch
descriptor, a TLS CONNECT proxy that checks the session token, and a small
host that answers each line in upper case. It then runs the real open flow
against them: the whitelist decision (your admin list applies; the user list
is a temporary one, so the trust prompt appears), the descriptor fetch, the
tunnel, and the "raw" profile, which relays this terminal to the host.
Type lines; end with Ctrl-D.

Examples:
  trustlaunch demo
  echo hello | trustlaunch demo --yes
`

func cmdDemo(ctx context.Context, s *stdio, args []string) int {
	fs := newFlagSet("demo", demoUsage, s)
	var o openOptions
	var yes bool
	fs.BoolVar(&o.noTUI, "no-tui", false, "ask with a plain text prompt instead of the full-screen one")
	fs.BoolVar(&yes, "yes", false, "answer the trust prompt with Yes (for scripted runs)")
	fs.DurationVar(&o.timeout, "prompt-timeout", 60*time.Second, "answer No when the prompt gets no answer in this time")
	o.paths = addListFlags(fs)
	if code, ok := parseFlags(fs, args, s); !ok {
		return code
	}
	if fs.NArg() != 0 {
		s.errorf("demo takes no arguments")
		return exitUsage
	}
	demo, err := launcher.StartDemo()
	if err != nil {
		s.errorf("demo: %v", err)
		return exitFailure
	}
	defer demo.Close()

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
	fmt.Fprintf(s.stderr, "trustlaunch demo: portal, proxy and host are running on 127.0.0.1.\n")
	fmt.Fprintf(s.stderr, "trustlaunch demo: the browser would now run: trustlaunch open -- '%s'\n\n", "trustlaunch://launch?url="+url.QueryEscape(demo.LaunchURL))

	prompter := newPrompter(s, o)
	if yes {
		prompter = answerPrompter{whitelist.AnswerYes}
	}
	return runLaunch(ctx, s, launchSetup{
		target:   demo.LaunchURL,
		paths:    o.paths,
		prompter: prompter,
		fetch:    launcher.FetchOptions{RootCAs: demo.OriginCA},
		plain:    o.noTUI,
	})
}

// answerPrompter answers every prompt the same way (demo --yes).
type answerPrompter struct{ a whitelist.Answer }

func (p answerPrompter) Prompt(context.Context, whitelist.PromptRequest) (whitelist.Answer, error) {
	return p.a, nil
}
