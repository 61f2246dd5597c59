package main

import "context"

// runProcess runs this process's command line (os.Args). Linux re-executes
// `open` so that the link leaves its argv (ticket_linux.go), and macOS
// receives links as Apple Events (ticket_darwin.go); there is no such
// step here. Windows has no /proc; another process's command line is read
// through a handle to the process, whose access is governed by the
// process's security descriptor, by default built from its creator's
// token (Microsoft, "Process Security and Access Rights"). What that
// grants other users is the Windows issue's to establish.
func runProcess(ctx context.Context, argv []string, s *stdio) int {
	return run(ctx, argv[1:], s)
}
