//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/internal/squidacl"
	"github.com/trustlaunch/trustlaunch/sessiontoken"
)

// Exit codes.
const (
	exitOK      = 0 // success
	exitFailure = 1 // the configuration cannot be used, or the helper's I/O failed
	exitUsage   = 2 // a bad flag or argument
)

// name prefixes every line the helper writes to stderr, which Squid
// copies to cache.log.
const name = "trustlaunch-tokencheck"

// version is set at release time with -ldflags "-X main.version=...".
var version = ""

const usage = `trustlaunch-tokencheck checks trustlaunch session tokens on a proxy host.

Usage:
  trustlaunch-tokencheck squid --keys FILE --issuer ISS [--issuer ISS ...] --audience NAME [STORE] [--check]
  trustlaunch-tokencheck http --listen ADDR --keys FILE --issuer ISS [--issuer ISS ...] --audience NAME [STORE] [--check]
  trustlaunch-tokencheck version

squid   serves Squid's external ACL protocol on stdin and stdout: one answer
        per CONNECT, OK when its Proxy-Authorization carries a session token
        signed by a key in FILE, issued by an ISS for the audience NAME, for
        the requested destination, within its lifetime, and not used before
        from another client address. Refusals and errors go to stderr
        (Squid's cache.log), never with the token. --check only checks the
        configuration and exits.

http    serves the same check over HTTP on ADDR, for nginx auth_request in
        front of websockify and other forward-auth proxies: 200 when the
        token admits the request, 401 when it is refused, 403 when it
        cannot be checked ("trustlaunch-tokencheck http --help").

STORE   where the single-use records live. By default in the helper's
        memory, for one proxy host (--replay-capacity N). With several
        proxies (Squid SMP workers, hosts behind a load balancer) in one
        Redis 7 they all reach: --redis redis://USER@HOST:PORT
        [--redis-password-file FILE] [--redis-ca FILE]. When Redis cannot
        be reached every token is refused, and the log says why.

In squid.conf (docs/proxy.md):

  external_acl_type trustlaunch_token ttl=0 negative_ttl=0 \
      children-max=1 children-startup=1 concurrency=1000 queue-size=10000 \
      %>ha{Proxy-Authorization} %SRC %DST %PORT \
      /usr/bin/trustlaunch-tokencheck squid --keys /etc/squid/trustlaunch-keys.pem \
      --issuer https://portal.example.com --audience proxy.example.com:8443
  acl trustlaunch_token external trustlaunch_token
  deny_info 407:ERR_CACHE_ACCESS_DENIED trustlaunch_token
  http_access deny CONNECT !trustlaunch_token

Exit codes: 0 success, 1 the configuration cannot be used or I/O failed,
2 usage error.
`

const squidUsage = `Serve Squid's external ACL protocol (see "trustlaunch-tokencheck --help").

Usage:
  trustlaunch-tokencheck squid --keys FILE --issuer ISS [--issuer ISS ...] --audience NAME
      [--replay-capacity N | --redis URL [--redis-password-file FILE] [--redis-ca FILE]] [--check]
`

// run is main without the process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	case "version", "--version":
		fmt.Fprintf(stdout, "%s %s\n", name, versionString())
		return exitOK
	case "squid":
		return runSquid(ctx, args[1:], stdin, stdout, stderr)
	case "http":
		return runHTTP(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "%s: error: unknown command %s\n%s: hint: run \"%s --help\"\n", name, safetext.Quote(args[0]), name, name)
	return exitUsage
}

// checkFlags are the flags every way of serving the check takes: the
// keys, the accepted issuers, this proxy's name and the single-use store.
type checkFlags struct {
	keys     *string
	issuers  *[]string
	audience *string
	store    *storeFlags
	check    *bool
}

func addCheckFlags(fs *pflag.FlagSet) *checkFlags {
	return &checkFlags{
		keys:     fs.String("keys", "", "`FILE` of the portals' public keys: PEM PUBLIC KEY blocks, as `trustlaunch descriptor keygen` writes to KEY.pub (required)"),
		issuers:  fs.StringArray("issuer", nil, "an accepted iss, the portal's origin; repeat for several portals (required)"),
		audience: fs.String("audience", "", "this proxy's name, which a token's aud must hold (required)"),
		store:    addStoreFlags(fs),
		check:    fs.Bool("check", false, "check the configuration (and reach Redis with --redis), print it and exit"),
	}
}

// parseFlags parses args into fs, refusing a repeated flag (but
// --issuer) and arguments, and checks the required ones. It returns
// pflag.ErrHelp for --help.
func (c *checkFlags) parse(fs *pflag.FlagSet, args []string) error {
	seen := map[string]bool{}
	err := fs.ParseAll(args, func(f *pflag.Flag, value string) error {
		if seen[f.Name] && f.Name != "issuer" {
			return fmt.Errorf("flag --%s given more than once", f.Name)
		}
		seen[f.Name] = true
		return fs.Set(f.Name, value)
	})
	switch {
	case err != nil:
		return err
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %s", safetext.Quote(fs.Arg(0)))
	case *c.keys == "" || len(*c.issuers) == 0 || *c.audience == "":
		return errors.New("--keys, --issuer and --audience are required")
	}
	return c.store.validate(func(name string) bool { return seen[name] })
}

// verifier is the configured check.
type verifier struct {
	*sessiontoken.Verifier
	store   *store
	summary string
}

// open loads the keys and builds the verifier and its store.
func (c *checkFlags) open() (*verifier, error) {
	set, err := loadKeys(*c.keys)
	if err != nil {
		return nil, err
	}
	st, err := c.store.open()
	if err != nil {
		return nil, err
	}
	v, err := sessiontoken.NewVerifier(sessiontoken.VerifierConfig{Keys: set, Issuers: *c.issuers, Audience: *c.audience, Replay: st.replay})
	if err != nil {
		return nil, err
	}
	keyWord := "keys"
	if len(set.KeyIDs()) == 1 {
		keyWord = "key"
	}
	summary := fmt.Sprintf("audience %s, issuers %s, %d %s (kid %s) from %s, %s",
		safetext.Quote(*c.audience), quoteAll(*c.issuers), len(set.KeyIDs()), keyWord, strings.Join(set.KeyIDs(), ", "), safetext.Quote(*c.keys), st.summary)
	return &verifier{Verifier: v, store: st, summary: summary}, nil
}

// reach pings the store (Redis; the memory store always answers): with
// --check a failure is an error, when serving a warning in the log, since
// the checks fail closed until it answers.
func (v *verifier) reach(ctx context.Context) error {
	if v.store.redis == nil {
		return nil
	}
	return v.store.redis.Ping(ctx)
}

func runSquid(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("squid", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	flags := addCheckFlags(fs)
	fs.Usage = func() { fmt.Fprintf(stdout, "%s\nFlags:\n%s", squidUsage, fs.FlagUsages()) }
	err := flags.parse(fs, args)
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: squid: %s\n%s: hint: run \"%s squid --help\"\n", name, safetext.Inert(err.Error()), name, name)
		return exitUsage
	}
	v, code := openVerifier(ctx, flags, stdout, stderr)
	if v == nil {
		return code
	}
	fmt.Fprintf(stderr, "%s%s: %s serving Squid: %s\n", time.Now().Format("2006/01/02 15:04:05| "), name, versionString(), v.summary)
	warnUnreachable(ctx, v, stderr)
	checker := squidacl.NewChecker(v.Verifier, stderr, name)
	err = squidacl.Serve(ctx, stdin, stdout, squidacl.ServeConfig{Check: checker.Check, Broken: checker.Broken, Refuse: checker.Refuse})
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: %s\n", name, safetext.Inert(err.Error()))
		return exitFailure
	}
	return exitOK
}

// openVerifier builds the check from the flags. With --check it prints
// the configuration, reaches the store and returns nil with the exit
// code; a configuration that cannot be used is nil and exitFailure.
func openVerifier(ctx context.Context, flags *checkFlags, stdout, stderr io.Writer) (*verifier, int) {
	v, err := flags.open()
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: %s\n", name, safetext.Inert(err.Error()))
		return nil, exitFailure
	}
	if !*flags.check {
		return v, exitOK
	}
	if err := v.reach(ctx); err != nil {
		fmt.Fprintf(stderr, "%s: error: %s\n", name, safetext.Inert(err.Error()))
		return nil, exitFailure
	}
	fmt.Fprintf(stdout, "ok: %s\n", v.summary)
	return nil, exitOK
}

// warnUnreachable logs, at start-up, a store that does not answer.
func warnUnreachable(ctx context.Context, v *verifier, log io.Writer) {
	if err := v.reach(ctx); err != nil {
		fmt.Fprintf(log, "%s%s: warning: %s; every token is refused until it answers\n", time.Now().Format("2006/01/02 15:04:05| "), name, safetext.Inert(err.Error()))
	}
}

// maxKeyFile bounds the key file: MaxKeys PEM public keys are a few KiB.
const maxKeyFile = 1 << 20

// loadKeys reads the key file. A file that anyone may write is refused:
// whoever can add a key there can mint tokens this proxy admits.
func loadKeys(path string) (*sessiontoken.KeySet, error) {
	data, err := configFile{flag: "--keys", max: maxKeyFile, consequence: "anyone could add a key"}.read(path)
	if err != nil {
		return nil, err
	}
	set, err := sessiontoken.ParseKeySet(data)
	if err != nil {
		return nil, fmt.Errorf("--keys: %s: %w", path, err)
	}
	return set, nil
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = safetext.Quote(s)
	}
	return strings.Join(q, ", ")
}

// versionString returns the ldflags version, else the module version from
// the build info (go install), else "devel".
func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
