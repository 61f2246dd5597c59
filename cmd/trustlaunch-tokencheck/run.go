//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
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
  trustlaunch-tokencheck squid --keys FILE --issuer ISS [--issuer ISS ...] --audience NAME [--check]
  trustlaunch-tokencheck version

squid   serves Squid's external ACL protocol on stdin and stdout: one answer
        per CONNECT, OK when its Proxy-Authorization carries a session token
        signed by a key in FILE, issued by an ISS for the audience NAME, for
        the requested destination, within its lifetime, and not used before
        from another client address. Refusals and errors go to stderr
        (Squid's cache.log), never with the token. --check only checks the
        configuration and exits.

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
  trustlaunch-tokencheck squid --keys FILE --issuer ISS [--issuer ISS ...] --audience NAME [--check]
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
	}
	fmt.Fprintf(stderr, "%s: error: unknown command %s\n%s: hint: run \"%s --help\"\n", name, safetext.Quote(args[0]), name, name)
	return exitUsage
}

func runSquid(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("squid", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	keys := fs.String("keys", "", "`FILE` of the portals' public keys: PEM PUBLIC KEY blocks, as `trustlaunch descriptor keygen` writes to KEY.pub (required)")
	issuers := fs.StringArray("issuer", nil, "an accepted iss, the portal's origin; repeat for several portals (required)")
	audience := fs.String("audience", "", "this proxy's name, which a token's aud must hold (required)")
	capacity := fs.Int("replay-capacity", sessiontoken.DefaultReplayCapacity, "how many unexpired tokens the single-use memory holds; when full, new tokens are refused")
	check := fs.Bool("check", false, "check the configuration, print it and exit")
	fs.Usage = func() { fmt.Fprintf(stdout, "%s\nFlags:\n%s", squidUsage, fs.FlagUsages()) }
	seen := map[string]bool{}
	err := fs.ParseAll(args, func(f *pflag.Flag, value string) error {
		if seen[f.Name] && f.Name != "issuer" {
			return fmt.Errorf("flag --%s given more than once", f.Name)
		}
		seen[f.Name] = true
		return fs.Set(f.Name, value)
	})
	switch {
	case errors.Is(err, pflag.ErrHelp):
		return exitOK
	case err == nil && fs.NArg() > 0:
		err = fmt.Errorf("unexpected argument %s", safetext.Quote(fs.Arg(0)))
	case err == nil && (*keys == "" || len(*issuers) == 0 || *audience == ""):
		err = errors.New("--keys, --issuer and --audience are required")
	case err == nil && *capacity < 1:
		err = errors.New("--replay-capacity must be at least 1")
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: squid: %s\n%s: hint: run \"%s squid --help\"\n", name, safetext.Inert(err.Error()), name, name)
		return exitUsage
	}

	set, err := loadKeys(*keys)
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: %s\n", name, safetext.Inert(err.Error()))
		return exitFailure
	}
	replay := sessiontoken.NewMemoryReplay(*capacity)
	v, err := sessiontoken.NewVerifier(sessiontoken.VerifierConfig{Keys: set, Issuers: *issuers, Audience: *audience, Replay: replay})
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: %s\n", name, safetext.Inert(err.Error()))
		return exitFailure
	}
	keyWord := "keys"
	if len(set.KeyIDs()) == 1 {
		keyWord = "key"
	}
	summary := fmt.Sprintf("audience %s, issuers %s, %d %s (kid %s) from %s, single-use memory for %d tokens",
		safetext.Quote(*audience), quoteAll(*issuers), len(set.KeyIDs()), keyWord, strings.Join(set.KeyIDs(), ", "), safetext.Quote(*keys), *capacity)
	if *check {
		fmt.Fprintf(stdout, "ok: %s\n", summary)
		return exitOK
	}
	fmt.Fprintf(stderr, "%s%s: %s serving Squid: %s\n", time.Now().Format("2006/01/02 15:04:05| "), name, versionString(), summary)
	checker := squidacl.NewChecker(v, stderr, name)
	err = squidacl.Serve(ctx, stdin, stdout, squidacl.ServeConfig{Check: checker.Check, Broken: checker.Broken})
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: %s\n", name, safetext.Inert(err.Error()))
		return exitFailure
	}
	return exitOK
}

// maxKeyFile bounds the key file: MaxKeys PEM public keys are a few KiB.
const maxKeyFile = 1 << 20

// loadKeys reads the key file. A file that anyone may write is refused:
// whoever can add a key there can mint tokens this proxy admits.
func loadKeys(path string) (*sessiontoken.KeySet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--keys: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("--keys: %w", err)
	}
	switch {
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("--keys: %s is not a regular file", path)
	case fi.Mode().Perm()&0o002 != 0:
		return nil, fmt.Errorf("--keys: %s is writable by any user (mode %04o), so anyone could add a key: chmod o-w %s", path, fi.Mode().Perm(), path)
	case fi.Size() > maxKeyFile:
		return nil, fmt.Errorf("--keys: %s is larger than %d KiB", path, maxKeyFile>>10)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("--keys: %w", err)
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
