package main

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/demo"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/platform"
)

// demo --serve keeps the demo's portal, proxy and host running and prints
// a link that a browser on this machine can click. The link cannot be a
// trustlaunch:// link: the real handler, `trustlaunch open`, would fetch
// the descriptor with the machine's roots and check it against the
// machine's policy, and the demo's portal has a certificate from a CA, and
// signs with a key, that exist only in the demo process. Making `open`
// trust them, even for a while, would let any page that fires a link reach
// whatever holds that CA or key, and a crash would leave the trust behind.
//
// So the link is trustlaunch-demo://, a scheme of its own, whose handler
// (demoLinkCommand) the demo registers for the current user while it runs
// and removes when it exits. The handler trusts nothing and launches
// nothing: it passes the link, a string, to the running demo over a Unix
// socket in a directory only the user can enter, and the demo runs the
// launch, with its own CA, policy and prompt, in its own terminal, and
// only for the one link it printed last (each carries a single-use ticket).
// A page that fires other trustlaunch-demo:// links is refused.
//
// After a crash or SIGKILL the registration remains, but nothing listens
// on the socket: the handler then tells the user that no demo is running,
// launches nothing, and removes the stale registration. The next demo
// --serve replaces it too.

// demoLinkCommand is the hidden subcommand that trustlaunch-demo:// links
// run: `trustlaunch __demo-link -- LINK`. Nobody types it.
const demoLinkCommand = "__demo-link"

// demoLinkPrefix starts every link the demo prints.
const demoLinkPrefix = platform.DemoScheme + "://launch?url="

// Bounds of the hand-over between the handler and the demo.
const (
	maxDemoLink     = 16 << 10
	demoLinkTimeout = 10 * time.Second
)

// demoSocket returns the socket the running demo listens on: in the
// user's runtime directory ($XDG_RUNTIME_DIR, which only the user can
// enter and which logout empties) when there is one, else in trustlaunch's
// state directory. Its directory is made private (0700, the user's own),
// so no other user can plant a socket there or connect to the demo's.
func demoSocket(getenv func(string) string) (string, error) {
	dir := ""
	if rt := getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(rt) {
		dir = filepath.Join(rt, "trustlaunch")
	} else {
		state, err := platform.UserStateDir()
		if err != nil {
			return "", err
		}
		dir = state
	}
	if err := platform.MkdirPrivate(dir); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "demo.sock")
	// sockaddr_un holds about 108 bytes on Linux, 104 on macOS.
	if len(path) > 100 {
		return "", fmt.Errorf("the socket path %s is too long for a Unix socket; set XDG_RUNTIME_DIR to a shorter directory", path)
	}
	return path, nil
}

// demoLink is the link the demo prints for a descriptor URL.
func demoLink(descriptorURL string) string {
	return demoLinkPrefix + url.QueryEscape(descriptorURL)
}

// demoServer hands the link the demo printed last to the launch loop when
// the handler brings it back.
type demoServer struct {
	mu     sync.Mutex
	link   string // the link printed last and not used yet; "" while none is
	target string // its descriptor URL
	// accepted receives the descriptor URL of a link the handler brought.
	accepted chan string
}

// offer makes link, for target, the one link the demo accepts.
func (d *demoServer) offer(link, target string) {
	d.mu.Lock()
	d.link, d.target = link, target
	d.mu.Unlock()
}

// take uses link: it returns its descriptor URL when link is the one
// offered, once.
func (d *demoServer) take(link string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	// The link holds the ticket: compared in constant time.
	if d.link == "" || subtle.ConstantTimeCompare([]byte(link), []byte(d.link)) != 1 {
		return "", false
	}
	target := d.target
	d.link, d.target = "", ""
	return target, true
}

// serve answers the handlers that connect, until ln is closed.
func (d *demoServer) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go d.serveConn(c)
	}
}

// serveConn reads one link and answers "launching", or "refused: why".
func (d *demoServer) serveConn(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(demoLinkTimeout))
	line, err := bufio.NewReader(io.LimitReader(c, maxDemoLink)).ReadString('\n')
	if err != nil {
		return
	}
	target, ok := d.take(strings.TrimSuffix(line, "\n"))
	if !ok {
		fmt.Fprint(c, "refused: this is not the link the running trustlaunch demo printed last, or it was used already, or a launch is running\n")
		return
	}
	d.accepted <- target
	fmt.Fprint(c, "launching\n")
}

// listenDemo listens on the demo's socket. A socket another demo listens
// on is an error; one that a killed demo left is replaced.
func listenDemo(ctx context.Context, path string) (net.Listener, error) {
	var dialer net.Dialer
	if c, err := dialer.DialContext(ctx, "unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("another trustlaunch demo --serve is running (it listens on %s): stop it first", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return net.Listen("unix", path)
}

// serveDemo is demo --serve: it registers the demo's handler, prints a
// link, runs a launch each time the handler brings the link back, and
// prints a new one, until it is interrupted. Whatever ends it, the
// registration is removed before it returns.
func serveDemo(ctx context.Context, s *stdio, world *demo.World, ls launchSetup, plan demoPlan, after func()) int {
	sock, err := demoSocket(s.getenv)
	if err != nil {
		s.errorf("demo: %v", err)
		return exitFailure
	}
	// Listen before registering: a handler that a click starts in between
	// finds this demo, not a missing one whose registration it would remove.
	ln, err := listenDemo(ctx, sock)
	if err != nil {
		s.errorf("demo: %v", err)
		return exitFailure
	}
	defer ln.Close() // and the socket file with it
	srv := &demoServer{accepted: make(chan string, 1)}
	go srv.serve(ln)

	fmt.Fprintf(s.stderr, "trustlaunch demo: %s.\n", plan.why)
	fmt.Fprintf(s.stderr, "trustlaunch demo: portal, proxy and host run on 127.0.0.1 until Ctrl-C.\n")
	fmt.Fprintf(s.stderr, "trustlaunch demo: its descriptor is signed, with a key its own policy trusts.\n")
	fmt.Fprintf(s.stderr, "trustlaunch demo: your user list is left alone: Always adds to a temporary one.\n")
	registered := registerDemoLinks(ctx, s)
	if registered {
		defer func() {
			// The context may be cancelled already: the removal must run.
			if _, err := platform.UnregisterDemoHandler(context.WithoutCancel(ctx)); err != nil {
				s.warnf("demo: removing the %s:// handler: %v", platform.DemoScheme, err)
				if h := hintOf(err); h != "" {
					s.hintf("%s", h)
				}
			}
		}()
	}
	for {
		target := world.NewLaunchURL()
		link := demoLink(target)
		srv.offer(link, target)
		printDemoLink(s, link, registered)
		select {
		case <-ctx.Done():
			fmt.Fprintf(s.stderr, "\ntrustlaunch demo: stopped; %s:// links launch nothing now.\n", platform.DemoScheme)
			return exitInterrupted
		case target = <-srv.accepted:
		}
		fmt.Fprintf(s.stderr, "trustlaunch demo: the handler brought the link back; launching.\n\n")
		ls.target = target
		runLaunch(ctx, s, ls)
		if ctx.Err() != nil {
			fmt.Fprintf(s.stderr, "trustlaunch demo: stopped; %s:// links launch nothing now.\n", platform.DemoScheme)
			return exitInterrupted
		}
		after()
	}
}

// registerDemoLinks registers the demo's handler and says so; when it
// cannot, it says how to run the handler by hand.
func registerDemoLinks(ctx context.Context, s *stdio) bool {
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err == nil {
		_, err = platform.RegisterDemoHandler(ctx, exe, []string{demoLinkCommand, "--"})
	}
	if err != nil {
		s.warnf("demo: %s:// links cannot be registered: %v", platform.DemoScheme, err)
		if h := hintOf(err); h != "" {
			s.hintf("%s", h)
		}
		return false
	}
	fmt.Fprintf(s.stderr, "trustlaunch demo: %s:// links open with this demo until it exits.\n", platform.DemoScheme)
	fmt.Fprintf(s.stderr, "  Your trustlaunch:// handler, and what it trusts, are not changed.\n")
	return true
}

// printDemoLink prints the link to click, and the command a browser runs
// for it.
func printDemoLink(s *stdio, link string, registered bool) {
	if registered {
		how := "in a browser on this machine"
		if runtime.GOOS == "linux" {
			how += ", or run xdg-open on it" // what a browser runs
		}
		fmt.Fprintf(s.stderr, "trustlaunch demo: click this link %s:\n  %s\n", how, link)
		return
	}
	fmt.Fprintf(s.stderr, "trustlaunch demo: run in another terminal what a browser would run for the link:\n")
	fmt.Fprintf(s.stderr, "  trustlaunch %s -- '%s'\n", demoLinkCommand, link)
}

// cmdDemoLink is the handler of trustlaunch-demo:// links: it passes the
// link to the running demo --serve, and launches nothing itself. With no
// demo running it tells the user so and removes the registration a
// killed demo left.
func cmdDemoLink(ctx context.Context, s *stdio, args []string) int {
	fs := newFlagSet(demoLinkCommand, "internal: the handler of "+platform.DemoScheme+":// links, registered by trustlaunch demo --serve\n", s)
	if code, ok := parseFlags(fs, args, s); !ok {
		return code
	}
	if fs.ArgsLenAtDash() != 0 || fs.NArg() != 1 {
		s.errorf("%s: want one link after --", demoLinkCommand)
		return exitUsage
	}
	link := fs.Arg(0)
	if !strings.HasPrefix(link, demoLinkPrefix) || len(link) > maxDemoLink || strings.ContainsAny(link, "\r\n") {
		return demoLinkFailed(ctx, s, exitUsage, "this is not a link trustlaunch demo --serve prints")
	}
	sock, err := demoSocket(s.getenv)
	if err != nil {
		return demoLinkFailed(ctx, s, exitFailure, err.Error())
	}
	var dialer net.Dialer
	c, err := dialer.DialContext(ctx, "unix", sock)
	if err != nil {
		// Nobody listens: the demo that registered the link has exited
		// without removing its handler (it was killed). Remove it now, so
		// the next link of this kind finds no handler at all. Whatever the
		// error, no live demo is cut off: the socket is in the user's own
		// directory, where nobody else can make a listening demo
		// unreachable.
		_, _ = platform.UnregisterDemoHandler(context.WithoutCancel(ctx))
		return demoLinkFailed(ctx, s, exitFailure, "no trustlaunch demo --serve is running, so nothing was launched; "+
			platform.DemoScheme+":// links work only while it runs")
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(demoLinkTimeout))
	if _, err := fmt.Fprintf(c, "%s\n", link); err != nil {
		return demoLinkFailed(ctx, s, exitFailure, "passing the link to the demo: "+err.Error())
	}
	reply, err := bufio.NewReader(io.LimitReader(c, 4<<10)).ReadString('\n')
	reply = strings.TrimSuffix(reply, "\n")
	switch {
	case err != nil:
		return demoLinkFailed(ctx, s, exitFailure, "the demo did not answer: "+err.Error())
	case reply == "launching":
		fmt.Fprintln(s.stderr, "trustlaunch: the demo runs the launch in its terminal")
		return exitOK
	}
	return demoLinkFailed(ctx, s, exitRefused, "the demo "+safetext.Sanitize(reply))
}

// demoLinkFailed says why a demo link launched nothing: on stderr, and
// where a browser started the handler, as a notification or in a window.
func demoLinkFailed(ctx context.Context, s *stdio, code int, why string) int {
	s.errorf("%s", why)
	tellUser(ctx, "trustlaunch demo: nothing launched", why)
	return code
}
