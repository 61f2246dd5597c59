//go:build linux

// Package peers starts real third-party peers — Squid, websockify, stunnel,
// Hercules, s3270, rsyslog — on loopback for integration tests and benchmarks, in the
// shape of net/http/httptest: each Start function takes a testing.TB, returns
// a running peer, fails the test (never skips it) when the peer cannot start,
// and registers its teardown with t.Cleanup. It is test support: import it
// only from _test.go files.
//
// # Rules every peer follows
//
//   - Everything listens on 127.0.0.1 only, and Squid admits CONNECT only to
//     loopback destinations.
//   - Each peer runs in the foreground in its own process group, with its own
//     configuration and logs (and pid file, where it writes one) in a
//     t.TempDir(). Teardown sends SIGTERM to the group, waits a bounded
//     time, then SIGKILLs it, so helper processes (Squid's ACL helpers,
//     websockify's per-connection forks) go too. Squid is given its orderly
//     shutdown (about a second): only then does it remove its shared memory
//     segments, named by a service name (-n) unique to each Squid; after a
//     test that killed it, the cleanup removes them. /dev/shm is left as it
//     was found.
//   - Run as root, Squid drops to Debian's "proxy" user; StartSquid hands
//     its directory to that user and makes the per-test parent directory
//     searchable (o+x) so the files are reachable.
//   - Output is captured; when the test has failed, the tail of every log is
//     written to the test log.
//   - A missing binary fails the test with the Debian package that provides
//     it (RequireBinary). CI installs them; a skip would hide the gap.
//   - Start-up is bounded (Options.StartTimeout) and never polls with
//     time.Sleep.
//
// # How each peer reports that it is ready, and on which port
//
// Choosing a port by binding :0, closing, and handing the number to a daemon
// races with every other process on the machine, so each peer uses the best
// mechanism it offers:
//
//   - websockify is started with --inetd and inherits, as its stdin, a
//     listening socket the harness bound on 127.0.0.1:0. The port is known
//     before the process starts and connections queue in the kernel backlog,
//     so there is nothing to wait for; the harness still waits for the
//     "proxying from inetd" start-up line so a broken installation fails at
//     start rather than at the first dial.
//   - stunnel is configured with accept = 127.0.0.1:0 and logs
//     "Service [x] (FD=n) bound to 127.0.0.1:PORT" at debug level 6, after
//     listen(2); the harness reads the port from that line. (A probe dial
//     would not do: stunnel would open a tunnel to the destination for it.)
//   - Squid 5.7 refuses port 0 ("https_port: Port cannot be 0"), so it gets
//     a port found by binding :0 and closing. Squid logs "Accepting HTTPS
//     Socket connections at ... local=127.0.0.1:PORT", or "commBind ...
//     Address already in use" and exits when the race was lost; the harness
//     waits for one or the other on Squid's stderr (squid -N -d 1) and
//     retries with a fresh port a few times. Squid prints the "Accepting"
//     line a few milliseconds before it calls listen(2) (seen with strace),
//     so the harness then dials the port, on a 5 ms ticker bounded by the
//     start-up deadline, until a TCP connection succeeds.
//   - Hercules has no port-0 mode either: same treatment, with its
//     "HHCTE003I Waiting for console connection on port N" line (and
//     HHCTE002W, "waiting for port to become free", as the lost race).
//   - echod, the out-of-process echo server, inherits its listening socket
//     as file descriptor 3 and prints "echod: serving ADDR".
//   - rsyslogd listens on a Unix datagram socket, not a port, and tells
//     systemd's notify socket READY=1 once it has started (sd_notify); the
//     harness names a socket of its own in NOTIFY_SOCKET and waits for
//     that datagram.
//
// Peer logs are printed only on failure, with anything shaped like a JWT
// replaced by [redacted]: websockify logs every request path, token
// included.
//
// # Adding a peer
//
// A new peer follows StartWebsockify or StartHercules: record its binary
// and Debian package in internal/debpkg and the package in test.sh's
// DEBIAN_PACKAGES (the install check and TestEveryProgramRecorded fail
// otherwise), take an Options struct with a
// StartTimeout, write its configuration into t.TempDir(), start it with
// startProcess (process group, captured output, teardown, dump on failure),
// and return only once it is ready — by a line it prints (waitLine), a
// listening socket it inherits, or a dial loop (waitDialable) when its ready
// line can precede listen(2). Tools written for the harness are main
// packages under internal/peers, built with BuildTool.
//
// # Tokens
//
// Squid checks session tokens as a deployment does: StartSquid configures
// trustlaunch-tokencheck, the shipped external ACL helper
// (cmd/trustlaunch-tokencheck, built with "go build"), with the lines of
// docs/proxy.md, and a TokenIssuer issues the tokens with package
// sessiontoken, as a portal does. websockify's JWTTokenApi plugin reads
// its own format, HS256 JWTs carrying host, port and exp from the token=
// query parameter, signed by a TokenKey (package hs256).
package peers
