package main

import (
	"context"
	"fmt"

	"github.com/trustlaunch/trustlaunch/audit"
	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/launcher"
)

// runDetect answers a trustlaunch://detect link (launcher.Detect) and turns
// the result into an exit code from the table: 0 the portal took the
// answer, 3 nothing was sent (the server is not listed, not https, or was
// answered less than 10 s ago), 1 the POST failed, 130 interrupted. It
// never prompts and never notifies: any page can fire a detect link, and
// an unlisted server must cause nothing a user or the page could see. The
// audit log records every outcome. outbound is the run's one outbound-proxy
// setting (nil: the environment's), as for a launch.
func runDetect(ctx context.Context, s *stdio, paths *listPaths, target string, outbound *connector.OutboundProxy) int {
	admin, user := loadLists(s, paths)
	opts := launcher.DetectOptions{
		Secrets: s.registry(),
		URL:     target,
		Admin:   admin,
		User:    user,
		Version: versionString(),
		Fetch:   descriptor.FetchOptions{UserAgent: connector.UserAgent(versionString()), Outbound: outbound},
	}
	if alog, err := audit.New(audit.Options{}); err != nil {
		s.warnf("no audit log: %v", err)
	} else {
		opts.Audit = alog
	}
	res := launcher.Detect(ctx, opts)
	switch {
	case res.Outcome == audit.Interrupted:
		s.errorf("detect: interrupted")
	case res.Sent:
		fmt.Fprintf(s.stderr, "trustlaunch: detect: answered %s (%s)\n", res.Decision.Origin, res.Decision.Step)
	case res.Refused():
		s.errorf("%s", res.Message())
		if fix := fixFor(res.Decision.Err); fix != "" {
			s.hintf("%s", fix)
		}
	default:
		s.errorf("%s", res.Message())
		if h := hintOf(res.Err); h != "" {
			s.hintf("%s", h)
		}
	}
	return exitFor(res.Outcome, res.Step, 0)
}
