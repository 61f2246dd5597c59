// Command trustlaunch is the client-side session launcher: it decides whether a
// server may launch anything here, fetches its launch descriptor, tunnels to
// the security proxy and starts a terminal emulator. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/trustlaunch/trustlaunch/internal/redact"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	// runProcess, not run: on Linux, open re-executes itself to take the
	// link out of its argv, which only a whole process can do.
	code := runProcess(ctx, os.Args, &stdio{
		stdin:   os.Stdin,
		stdout:  os.Stdout,
		stderr:  os.Stderr,
		getenv:  os.Getenv,
		secrets: &redact.Set{},
	})
	stop()
	os.Exit(code)
}
