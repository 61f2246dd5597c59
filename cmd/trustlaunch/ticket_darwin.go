package main

import (
	"context"
	"os"
)

// runProcess runs this process's command line (os.Args), or, when Launch
// Services started the bundle's executable (isAppLaunch), the app that
// receives links as Apple Events (app_darwin.go). A link reaches the app in
// an event, never in an argv that other users' ps could read, so macOS needs
// no counterpart of Linux's re-execution (ticket_linux.go). A link typed on
// the command line ("trustlaunch open -- URL") is visible there as on any
// OS: the browser never does that on macOS.
func runProcess(ctx context.Context, argv []string, s *stdio) int {
	if exe, err := os.Executable(); err == nil && isAppLaunch(argv[1:], exe) {
		return runApp(ctx, s)
	}
	return run(ctx, argv[1:], s)
}
