package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/sessiontoken"
)

// tokenGroup is "trustlaunch token".
var tokenGroup = group{
	name: "token",
	about: `Issue and check session tokens, the token a launch descriptor carries and
the security proxy checks (for portal developers and proxy administrators;
the contract is in docs/proxy.md).
`,
	more: `Examples:
  trustlaunch token issue --key portal.key --iss https://portal.example.com \
      --aud proxy.example.com:8443 --dst mainframe.example.com:23 --sub alice
  trustlaunch token verify --keys portal.key.pub --iss https://portal.example.com \
      --aud proxy.example.com:8443 --dst mainframe.example.com:23 < token.txt
`,
	subs: []subcommand{
		{"issue", "sign a session token with a portal's key", tokenIssue},
		{"verify", "check a session token read on stdin as the proxy would", tokenVerify},
	},
}

const tokenIssueHelp = `Sign a session token with a portal's key.

Usage:
  trustlaunch token issue --key FILE --iss ORIGIN --aud PROXY --dst HOST:PORT --sub USER [--ttl DURATION] [--json]

issue signs a token with a key from "trustlaunch descriptor keygen" and
writes it to stdout: iss the portal's origin, aud the proxy's name (its
--audience: its address, as the descriptor's proxy.address), dst the one
destination, sub the user, a new jti, exp --ttl after now (default 120s,
at most 300s). A portal issues its tokens in its own code
(docs/portal.md); this is for tests and scripts.

Examples:
  trustlaunch token issue --key portal.key --iss https://portal.example.com \
      --aud proxy.example.com:8443 --dst mainframe.example.com:23 --sub alice
`

const tokenVerifyHelp = `Check a session token as the proxy would.

Usage:
  trustlaunch token verify --keys FILE --iss ORIGIN --aud PROXY [--dst HOST:PORT] [--at UNIX] [--json] < token

verify reads a token on stdin (never an argument: a token is a secret
until it expires) and checks it as the proxy would, against the public
keys in FILE (PEM, one or more, as FILE.pub from keygen): the signature,
iss, aud, the times and, with --dst, the destination. The single-use rule
is the proxy's and is not checked. Exit status 0 valid, 1 refused.

Examples:
  trustlaunch token verify --keys portal.key.pub --iss https://portal.example.com \
      --aud proxy.example.com:8443 --dst mainframe.example.com:23 < token.txt
`

func cmdToken(ctx context.Context, s *stdio, args []string) int {
	return tokenGroup.run(ctx, s, args)
}

// tokenJSON is what issue and verify print with --json.
type tokenJSON struct {
	Token  string               `json:"token,omitempty"`
	Claims *sessiontoken.Claims `json:"claims"`
	KeyID  string               `json:"kid,omitempty"`
}

func tokenIssue(ctx context.Context, s *stdio, args []string) int {
	fs := newFlagSet("token issue", tokenIssueHelp, s)
	keyFile := fs.String("key", "", "the portal's private key, from descriptor keygen (required)")
	iss := fs.String("iss", "", "the portal's origin, as the proxies list it (required)")
	aud := fs.String("aud", "", "the proxy's name, its --audience (required)")
	dst := fs.String("dst", "", "the destination host:port (required)")
	sub := fs.String("sub", "", "the user (required)")
	ttl := fs.Duration("ttl", sessiontoken.DefaultLifetime, "how long the token is valid, at most 300s")
	asJSON := fs.Bool("json", false, "print the token and its claims as JSON")
	if code, ok := parseFlags(fs, args, s); !ok {
		return code
	}
	if fs.NArg() != 0 || *keyFile == "" || *iss == "" || *aud == "" || *dst == "" || *sub == "" {
		s.errorf("token issue: want --key, --iss, --aud, --dst and --sub, and no arguments")
		s.hintf("run \"trustlaunch token issue --help\"")
		return exitUsage
	}
	pem, err := readNamedFile(ctx, *keyFile, maxKeyFile)
	if ctx.Err() != nil {
		s.errorf("token issue: interrupted")
		return exitInterrupted
	}
	if err != nil {
		s.errorf("token issue: %v", err)
		return exitFailure
	}
	key, err := sessiontoken.ParsePrivateKeyPEM(pem)
	if err != nil {
		s.errorf("token issue: %s: %v", *keyFile, err)
		return exitFailure
	}
	issuer, err := sessiontoken.NewIssuer(sessiontoken.IssuerConfig{Key: key, Issuer: *iss, Lifetime: *ttl})
	if err != nil {
		s.errorf("token issue: %v", strings.TrimPrefix(err.Error(), "sessiontoken: "))
		return exitUsage
	}
	tok, claims, err := issuer.Issue(sessiontoken.Grant{Audience: *aud, Destination: *dst, Subject: *sub})
	if err != nil {
		s.errorf("token issue: %v", strings.TrimPrefix(err.Error(), "sessiontoken: "))
		return exitUsage
	}
	if *asJSON {
		kid, _ := sessiontoken.KeyID(key.Public())
		return printJSON(s, tokenJSON{Token: tok, Claims: &claims, KeyID: kid})
	}
	fmt.Fprintln(s.stdout, tok)
	return exitOK
}

func tokenVerify(ctx context.Context, s *stdio, args []string) int {
	fs := newFlagSet("token verify", tokenVerifyHelp, s)
	keysFile := fs.String("keys", "", "the portals' public keys, PEM (required)")
	iss := fs.StringSlice("iss", nil, "an accepted issuer; repeat for several (required)")
	aud := fs.String("aud", "", "the proxy's name (required)")
	dst := fs.String("dst", "", "the destination the token must name")
	at := fs.Int64("at", 0, "check the times at this moment (Unix seconds) instead of now")
	asJSON := fs.Bool("json", false, "print the token's claims as JSON")
	if code, ok := parseFlags(fs, args, s); !ok {
		return code
	}
	if fs.NArg() != 0 || *keysFile == "" || len(*iss) == 0 || *aud == "" {
		s.errorf("token verify: want --keys, --iss and --aud, and the token on stdin")
		s.hintf("run \"trustlaunch token verify --help\"")
		return exitUsage
	}
	pemData, err := readNamedFile(ctx, *keysFile, maxKeyFile)
	if ctx.Err() != nil {
		s.errorf("token verify: interrupted")
		return exitInterrupted
	}
	if err != nil {
		s.errorf("token verify: %v", err)
		return exitFailure
	}
	keys, err := sessiontoken.ParseKeySet(pemData)
	if err != nil {
		s.errorf("token verify: %s: %v", *keysFile, err)
		return exitFailure
	}
	now := time.Now
	if *at != 0 {
		now = func() time.Time { return time.Unix(*at, 0) }
	}
	// No single-use record: this checks one token once, and a record
	// kept here would be no proxy's.
	v, err := sessiontoken.NewVerifier(sessiontoken.VerifierConfig{Keys: keys, Issuers: *iss, Audience: *aud, Replay: sessiontoken.NewMemoryReplay(1), Now: now})
	if err != nil {
		s.errorf("token verify: %v", strings.TrimPrefix(err.Error(), "sessiontoken: "))
		return exitUsage
	}
	data, err := readInput(ctx, s.stdin, sessiontoken.MaxBytes+2)
	if ctx.Err() != nil {
		s.errorf("token verify: interrupted")
		return exitInterrupted
	}
	if err != nil {
		s.errorf("token verify: read stdin: %v", err)
		return exitFailure
	}
	tok := strings.TrimRight(string(data), "\r\n")
	s.registry().Add(tok) // whatever is printed, never the token
	claims, err := v.Check(tok)
	if err == nil && *dst != "" {
		var want string
		if want, err = sessiontoken.NormalizeDestination(*dst); err != nil {
			s.errorf("token verify: --dst: %v", err)
			return exitUsage
		}
		if claims.Destination != want {
			err = &sessiontoken.Refusal{Reason: sessiontoken.WrongDest, Msg: fmt.Sprintf("the token is for %s, not %s", safetext.Quote(claims.Destination), safetext.Quote(want))}
		}
	}
	if err != nil {
		var rf *sessiontoken.Refusal
		if errors.As(err, &rf) && rf.KeyID != "" {
			s.errorf("token verify: %v (kid %s)", err, rf.KeyID)
		} else {
			s.errorf("token verify: %v", err)
		}
		return exitFailure
	}
	if *asJSON {
		return printJSON(s, tokenJSON{Claims: claims})
	}
	fmt.Fprintf(s.stdout, "ok: issued by %s to %s for %s through %s, jti %s, valid until %s\n",
		safetext.Quote(claims.Issuer), safetext.Quote(claims.Subject), claims.Destination, safetext.Quote(claims.Audience),
		safetext.Quote(claims.ID), time.Unix(claims.Expires, 0).UTC().Format(time.RFC3339))
	return exitOK
}

func printJSON(s *stdio, v any) int {
	enc := json.NewEncoder(s.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		s.errorf("%v", err)
		return exitFailure
	}
	return exitOK
}
