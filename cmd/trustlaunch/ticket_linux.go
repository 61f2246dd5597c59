package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/trustlaunch/trustlaunch/link"
)

// openFDCommand is the hidden form `open` re-executes itself as on Linux:
// `trustlaunch __open-fd FD [open flags] --` takes the link from the
// inherited file descriptor FD instead of the command line. Nobody types it.
//
// Why: /proc/PID/cmdline is readable by every local user, and the link
// carries the portal's single-use ticket, which fetches the descriptor and
// with it the session token (docs/admin.md "Multi-user machines"). `open` checks its command
// line as given (exactly one URL after "--"), puts the URL in a memfd and
// execve's /proc/self/exe: the same process (PID, parent, process group,
// session, controlling terminal, stdio and environment unchanged, so the
// browser or xdg-open waiting on it sees its exit status), but with an argv
// that holds no URL. Only the moment between the two execs shows it.
//
// The hidden form grants nothing the public one does not: the link read from
// the file descriptor goes through the same link.Parse and the same flags, so
// `__open-fd 3 -- 3<file` does what `open -- "$(cat file)"` would.
const openFDCommand = "__open-fd"

// holdsSecrets reports whether subcommand sub holds a ticket or a session
// token in memory: the re-executed open, connect and demo (tokens), and the
// prompt window, which reads the descriptor URL from its hand-off file. Not
// __in-terminal: it holds neither, and the tunnel's peer check reads its
// /proc entries.
func holdsSecrets(sub string) bool {
	switch sub {
	case openFDCommand, "connect", "demo", promptWindowCommand:
		return true
	}
	return false
}

// runProcess runs this process's command line (os.Args) with what only a
// whole process may do: on Linux, re-executing `open` without the URL in
// argv, and making the processes that hold secrets non-dumpable. Tests call
// run instead.
func runProcess(ctx context.Context, argv []string, s *stdio) (code int) {
	sub := ""
	if len(argv) > 1 {
		sub = argv[1]
	}
	if sub == "open" || sub == openFDCommand {
		// What a browser runs: no way out of it may go unseen.
		defer func() { tellIfSilent(ctx, s, code) }()
	}
	if sub == openFDCommand {
		// The kernel named this process after /proc/self/exe ("exe"); give
		// it its own name back for ps and top. /proc/self/comm is writable
		// only while the process is still dumpable.
		if exe, err := os.Executable(); err == nil {
			_ = os.WriteFile("/proc/self/comm", []byte(filepath.Base(exe)), 0)
		}
	}
	if holdsSecrets(sub) {
		if err := protectMemory(); err != nil {
			s.errorf("%s: cannot protect this process's memory: %v", sub, err)
			return exitFailure
		}
	}
	switch sub {
	case "open":
		return reexecOpen(ctx, s, argv)
	case openFDCommand:
		return cmdOpenFD(ctx, s, argv[2:])
	}
	return run(ctx, argv[1:], s)
}

// protectMemory makes this process non-dumpable (PR_SET_DUMPABLE 0): no core
// file, and no ptrace, /proc/PID/mem, environ or fd by processes of the same
// user (only by root) while it holds the ticket or the token. runProcess
// sets it from the start rather than once the token arrives, because the
// ticket in the link is worth the token. execve resets it for the
// emulator (a program that is not setuid starts dumpable), and nothing reads
// a protected trustlaunch's /proc entries from another process: the tunnel's
// peer check reads the emulator's, and its own, which the kernel always lets
// a process read. Scanning all of the user's processes (connect --listen, the
// raw profile), it cannot read another protected trustlaunch's, which
// matters only when no readable process holds the socket: then it refuses.
func protectMemory() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl PR_SET_DUMPABLE: %w", err)
	}
	return nil
}

// reexecOpen checks `open`'s command line as given, then re-executes this
// program as openFDCommand with the URL in a memfd. It returns only when
// open must stop before that: a usage error, --help, or a failed re-exec
// (fail closed: the launch does not go on with the ticket in argv).
func reexecOpen(ctx context.Context, s *stdio, argv []string) int {
	args := argv[2:] // after "open"
	_, raw, code, ok := parseOpen(s, args)
	if !ok {
		return code
	}
	// A malformed URL is reported before the re-exec, as it always was.
	if _, err := link.Parse(raw); err != nil {
		return badLink(ctx, s, err)
	}
	// parseOpen accepted exactly one argument, after "--": args ends with
	// "--" and the URL. The flags before them are passed on as they are.
	if len(args) < 2 || args[len(args)-1] != raw || args[len(args)-2] != "--" {
		s.errorf("open: internal error: the URL is not the last argument after \"--\"")
		return exitFailure
	}
	rest := args[:len(args)-1]

	fd, err := urlMemfd(raw)
	if err != nil {
		s.errorf("open: cannot take the link out of the command line, where other users can read it: %v", err)
		return exitFailure
	}
	next := append([]string{argv[0], openFDCommand, strconv.Itoa(fd)}, rest...)
	// /proc/self/exe is this very program even if its path was replaced
	// or removed since it started (a package upgrade).
	err = unix.Exec("/proc/self/exe", next, os.Environ())
	unix.Close(fd)
	s.errorf("open: cannot take the link out of the command line, where other users can read it: re-executing this program: %v", err)
	return exitFailure
}

// urlMemfd returns a descriptor, inherited across execve, of an anonymous
// memory file holding raw. A memfd rather than a pipe: a pipe may hold only
// one page when the user's pipe quota is spent, and a URL is up to 8 KiB.
// /proc/PID/fd/N of a process is open to its own user only.
func urlMemfd(raw string) (int, error) {
	fd, err := unix.MemfdCreate("trustlaunch-launch-url", unix.MFD_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("memfd_create: %w", err)
	}
	if _, err := unix.Pwrite(fd, []byte(raw), 0); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("writing the memfd: %w", err)
	}
	// Close-on-exec until now, so no child started meanwhile could inherit
	// it; the exec that follows must.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("fcntl: %w", err)
	}
	return fd, nil
}

const openFDUsage = `internal: what "trustlaunch open" runs as on Linux, with the link on
file descriptor FD instead of in the command line, which other users can read.

Usage:
  trustlaunch __open-fd FD [open flags] --
`

// cmdOpenFD is openFDCommand: open, with the URL read from a descriptor.
func cmdOpenFD(ctx context.Context, s *stdio, args []string) int {
	if len(args) == 0 {
		s.errorf("%s: want the file descriptor that holds the link", openFDCommand)
		return exitUsage
	}
	fd, err := strconv.Atoi(args[0])
	if err != nil || fd < 3 || strconv.Itoa(fd) != args[0] {
		s.errorf("%s: %q is not a descriptor number above standard error", openFDCommand, args[0])
		return exitUsage
	}
	fs, o := newOpenFlagSet(s, openFDCommand, openFDUsage)
	if code, ok := parseFlags(fs, args[1:], s); !ok {
		return code
	}
	// The form open builds: its flags, then "--" and nothing after it.
	if fs.ArgsLenAtDash() != 0 || fs.NArg() != 0 {
		s.errorf("%s: want no argument after \"--\": the URL comes from descriptor %d", openFDCommand, fd)
		return exitUsage
	}
	if code, ok := o.check(s, openFDCommand); !ok {
		return code
	}
	raw, err := readURLFD(fd)
	if err != nil {
		s.errorf("%s: %v", openFDCommand, err)
		return exitUsage
	}
	return openURL(ctx, s, *o, raw)
}

// readURLFD reads the link from file descriptor fd and closes it, so that
// neither the emulator nor any other child inherits it. At most
// link.MaxLen+1 bytes are read: link.Parse refuses more.
func readURLFD(fd int) (string, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", fmt.Errorf("descriptor %d: %w", fd, err)
	}
	// Only a regular file (the memfd open writes): a read from a pipe or a
	// terminal could wait forever, and a descriptor that is not ours
	// (the runtime's) must not be closed.
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return "", fmt.Errorf("descriptor %d is not the memory file trustlaunch open passes", fd)
	}
	f := os.NewFile(uintptr(fd), "link")
	defer f.Close()
	buf := make([]byte, link.MaxLen+1)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the link from file descriptor %d: %w", fd, err)
	}
	return string(buf[:n]), nil
}
