// Package testuser creates throwaway Linux accounts for tests that need a
// real second user (another uid reading /proc, owning a file, connecting to a
// listener). Only tests import it.
//
// New(tb, prefix) runs useradd as a system account with its own group, no
// home and /usr/sbin/nologin as its shell, and removes it with userdel when tb
// finishes. It needs root: in CI (the environment variable CI is not empty)
// not being root fails the test, elsewhere it skips with the reason.
//
// Why one helper: tests of several packages create users at the same time
// under `go test ./...`, and shadow's useradd and userdel refuse at once,
// rather than wait, when another of them holds the lock of /etc/passwd,
// /etc/shadow, /etc/group or /etc/gshadow (exit status 1 or 10 with "cannot
// lock ...; try again later"). New retries exactly that failure, for a
// bounded time, and fails with the command's output on any other.
//
// The package has code only on Linux; on other systems it is this comment.
package testuser
