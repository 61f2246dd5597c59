package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/platform"
	"github.com/trustlaunch/trustlaunch/policy"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// descriptorGroup is "trustlaunch descriptor".
var descriptorGroup = group{
	name: "descriptor",
	about: `Make publisher keys, and sign and verify launch descriptors (for portal
operators and administrators).
`,
	more: `Examples:
  trustlaunch descriptor keygen --name "Payroll portal" /etc/portal/publisher.key
  trustlaunch descriptor sign --key /etc/portal/publisher.key < d.json
  curl -s https://portal.example.com/d/1 | trustlaunch descriptor verify --origin https://portal.example.com/
`,
	subs: []subcommand{
		{"keygen", "make a publisher key pair and print its [[publishers]] table", descKeygen},
		{"sign", "sign a descriptor read on stdin", descSign},
		{"verify", "check a descriptor read on stdin against the admin policy", descVerify},
	},
}

const descKeygenHelp = `Make a publisher key pair for signing launch descriptors.

Usage:
  trustlaunch descriptor keygen [--alg EdDSA|ES256] [--name NAME] FILE

keygen writes the private key to FILE (PKCS #8 PEM, readable by you only:
mode 0600, on Windows an access list for you alone; never over an existing
file) and its public key to FILE.pub, and prints the [[publishers]] table
an administrator adds to the admin policy. The private key stays on the
portal.

Examples:
  trustlaunch descriptor keygen --name "Payroll portal" /etc/portal/publisher.key
`

const descSignHelp = `Sign a launch descriptor.

Usage:
  trustlaunch descriptor sign --key FILE [--ttl DURATION] < descriptor.json > descriptor.jws

sign reads descriptor JSON on stdin, checks it, adds iat and exp (now and
now + --ttl, at most 300 s) unless present, and writes the compact JWS to
stdout. Serve it as Content-Type application/jose.

Examples:
  trustlaunch descriptor sign --key /etc/portal/publisher.key < d.json
`

const descVerifyHelp = `Check a descriptor against the admin policy, as a launch would.

Usage:
  trustlaunch descriptor verify [--admin-policy FILE] [--origin URL] [--at UNIX] [--json] < descriptor.jws

verify reads a signed (or unsigned) descriptor on stdin and checks the
signature, its publisher and origin binding, the times, the proxy and the
destination. Exit status 0 allowed, 1 refused or invalid.

Examples:
  curl -s https://portal.example.com/d/1 | trustlaunch descriptor verify --origin https://portal.example.com/
  trustlaunch descriptor verify --admin-policy ./policy.toml < d.jws
`

// maxStdinDescriptor bounds what sign and verify read.
const maxStdinDescriptor = 256 << 10

func cmdDescriptor(ctx context.Context, s *stdio, args []string) int {
	return descriptorGroup.run(ctx, s, args)
}

func descKeygen(_ context.Context, s *stdio, args []string) int {
	fs := newFlagSet("descriptor keygen", descKeygenHelp, s)
	alg := fs.String("alg", "EdDSA", "the signing algorithm `ALG`: EdDSA (Ed25519) or ES256 (ECDSA P-256)")
	name := fs.String("name", "", "the publisher's `NAME` for the policy snippet (default: the file's base name)")
	if code, ok := parseFlags(fs, args, s); !ok {
		return code
	}
	if fs.NArg() != 1 {
		s.errorf("descriptor keygen: want 1 argument FILE, got %d", fs.NArg())
		return exitUsage
	}
	path := fs.Arg(0)
	key, err := descriptor.GenerateKey(*alg)
	if err != nil {
		s.errorf("descriptor keygen: %v", err)
		return exitUsage
	}
	priv, err := descriptor.MarshalPrivateKeyPEM(key)
	if err != nil {
		s.errorf("descriptor keygen: %v", err)
		return exitFailure
	}
	pub, err := descriptor.MarshalPublicKeyPEM(key.Public())
	if err != nil {
		s.errorf("descriptor keygen: %v", err)
		return exitFailure
	}
	if err := writePrivateFile(path, priv); err != nil {
		s.errorf("descriptor keygen: %v", err)
		return exitFailure
	}
	if err := platform.WriteFileAtomic(path+".pub", pub, 0o644); err != nil {
		os.Remove(path) // a private key without its public half helps nobody
		s.errorf("descriptor keygen: %v", err)
		return exitFailure
	}
	kid, _ := descriptor.KeyID(key.Public())
	n := *name
	if n == "" {
		n = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	fmt.Fprintf(s.stderr, "trustlaunch: wrote the private key to %s (keep it on the portal) and the public key to %s.pub\n", path, path)
	fmt.Fprintf(s.stdout, "# add to the admin policy (policy.toml); kid %s\n[[publishers]]\nname = %q\nkey = \"\"\"\n%s\"\"\"\n", kid, n, pub)
	return exitOK
}

// writePrivateFile writes a file that must not exist yet, whole or not at
// all, readable by this user only (platform.RestrictToOwner, before any
// byte is written): a temporary file in the same directory, fsynced, then
// linked to its name (link fails if the name exists, where rename would
// replace it) and removed. A private key is never left half written, nor
// written over another.
func writePrivateFile(path string, data []byte) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s exists; choose another name or remove it first", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer os.Remove(name)
	if err := platform.RestrictToOwner(tmp); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(name, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists; choose another name or remove it first", path)
		}
		return err
	}
	return nil
}

// maxKeyFile bounds a private key file (descriptor sign --key): a PEM key
// is a few hundred bytes.
const maxKeyFile = 64 << 10

func readStdin(ctx context.Context, s *stdio) ([]byte, error) {
	data, err := readInput(ctx, s.stdin, maxStdinDescriptor)
	if ctx.Err() != nil {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("read stdin: %w", err)
	}
	if len(data) > maxStdinDescriptor {
		return nil, fmt.Errorf("stdin is larger than %d KiB", maxStdinDescriptor>>10)
	}
	return data, nil
}

func descSign(ctx context.Context, s *stdio, args []string) int {
	fs := newFlagSet("descriptor sign", descSignHelp, s)
	keyFile := fs.String("key", "", "the publisher's private key `FILE`, from descriptor keygen (required)")
	ttl := fs.Duration("ttl", 120*time.Second, "how long the signed descriptor is valid, at most 300s")
	if code, ok := parseFlags(fs, args, s); !ok {
		return code
	}
	if fs.NArg() != 0 || *keyFile == "" {
		s.errorf("descriptor sign: want --key FILE and the descriptor on stdin")
		return exitUsage
	}
	pem, err := readNamedFile(ctx, *keyFile, maxKeyFile)
	if ctx.Err() != nil {
		s.errorf("descriptor sign: interrupted")
		return exitInterrupted
	}
	if err != nil {
		s.errorf("descriptor sign: %v", err)
		return exitFailure
	}
	key, err := descriptor.ParsePrivateKeyPEM(pem)
	if err != nil {
		s.errorf("descriptor sign: %s: %v", *keyFile, err)
		return exitFailure
	}
	data, err := readStdin(ctx, s)
	if ctx.Err() != nil {
		s.errorf("descriptor sign: interrupted")
		return exitInterrupted
	}
	if err != nil {
		s.errorf("descriptor sign: %v", err)
		return exitFailure
	}
	out, err := descriptor.Sign(data, key, time.Now(), *ttl)
	if err != nil {
		s.errorf("descriptor sign: %v", err)
		return exitFailure
	}
	fmt.Fprintf(s.stdout, "%s\n", out)
	return exitOK
}

// descVerifyJSON is descriptor verify --json. The token is never in it.
type descVerifyJSON struct {
	jsonHead
	// Policy is the admin policy file checked against; PolicyState "ok"
	// or "absent" (no restriction past the origin).
	Policy      string `json:"policy"`
	PolicyState string `json:"policy_state"`
	// Signed, with Publisher and KeyID, says who signed it.
	Signed     bool          `json:"signed"`
	Publisher  string        `json:"publisher,omitempty"`
	KeyID      string        `json:"kid,omitempty"`
	Descriptor *verifiedJSON `json:"descriptor"` // null when it could not be read or verified
}

// verifiedJSON is what descriptor verify --json shows of a descriptor.
type verifiedJSON struct {
	Session     string `json:"session"`
	Profile     string `json:"profile"`
	Proxy       string `json:"proxy"`
	Transport   string `json:"transport"`
	Destination string `json:"destination"`
	TLS         bool   `json:"destination_tls"`
	IssuedAt    int64  `json:"iat,omitempty"`
	Expires     int64  `json:"exp,omitempty"`
}

// newVerifiedJSON is d for descriptor verify --json, without its token.
func newVerifiedJSON(d *descriptor.Descriptor) *verifiedJSON {
	return &verifiedJSON{safetext.Sanitize(d.Session), d.Profile, d.Proxy.Address, d.Proxy.Transport,
		net.JoinHostPort(d.Destination.Host, strconv.Itoa(d.Destination.Port)), d.Destination.TLS, d.IssuedAt, d.Expires}
}

// decodeForVerify reads data as verify does: a JSON descriptor as it is,
// anything else as a signed one checked against pol's publishers.
func decodeForVerify(data []byte, pol *policy.Policy, origin whitelist.Origin, now time.Time) (*descriptor.Descriptor, error) {
	trimmed := strings.TrimSpace(string(data))
	if strings.HasPrefix(trimmed, "{") {
		return descriptor.Decode([]byte(trimmed))
	}
	o := descriptor.VerifyOptions{Origin: origin, Now: now}
	if pol != nil {
		o.Publishers = pol // else none: a signed descriptor is refused
	}
	return descriptor.VerifySigned(data, o)
}

func descVerify(ctx context.Context, s *stdio, args []string) int {
	flags := newFlagSet("descriptor verify", descVerifyHelp, s)
	policyPath := flags.String("admin-policy", "", "check against the policy `FILE` instead of "+platform.AdminPolicyPath()+" (read without the ownership check)")
	originURL := flags.String("origin", "", "the `URL` the descriptor came from, for publishers bound to origins")
	at := flags.Int64("at", 0, "check iat and exp at this time (`UNIX` seconds) instead of now")
	asJSON := addJSONFlag(flags)
	if code, ok := parseFlags(flags, args, s); !ok {
		return code
	}
	if flags.NArg() != 0 {
		s.errorf("descriptor verify: takes the descriptor on stdin, no arguments")
		return exitUsage
	}
	path := *policyPath
	if path == "" {
		path = platform.AdminPolicyPath()
	}
	doc := descVerifyJSON{jsonHead: newHead("descriptor verify"), Policy: path, PolicyState: "ok"}
	// fail reports a refusal: on stderr, or with --json as the document's
	// problem. Usage errors and interruptions stay on stderr.
	fail := func(file string, line int, msg string) int {
		if *asJSON {
			doc.add(jsonProblem{File: file, Line: line, Severity: severityError, Message: msg})
			return writeJSON(s, doc, false)
		}
		if file != "" && line > 0 {
			msg = fmt.Sprintf("%s:%d: %s", file, line, msg)
		}
		s.errorf("%s", msg)
		return exitFailure
	}
	// Read without the ownership check: verify decides no launch, and an
	// administrator checks a draft policy before pushing it.
	pol, probs, err := readPolicy(ctx, path)
	switch {
	case ctx.Err() != nil:
		s.errorf("descriptor verify: interrupted")
		return exitInterrupted
	case errors.Is(err, fs.ErrNotExist):
		pol, doc.PolicyState = nil, "absent"
	case err != nil:
		return fail("", 0, fmt.Sprintf("descriptor verify: %v", err))
	case len(probs) > 0:
		return policyProblems(s, &doc, path, probs, *asJSON)
	}
	var origin whitelist.Origin
	if *originURL != "" {
		if origin, err = whitelist.ParseOrigin(*originURL); err != nil {
			s.errorf("descriptor verify: --origin: %v", err)
			return exitUsage
		}
	}
	now := time.Now()
	if *at != 0 {
		now = time.Unix(*at, 0)
	}
	data, err := readStdin(ctx, s)
	if ctx.Err() != nil {
		s.errorf("descriptor verify: interrupted")
		return exitInterrupted
	}
	if err != nil {
		return fail("", 0, fmt.Sprintf("descriptor verify: %v", err))
	}
	d, err := decodeForVerify(data, pol, origin, now)
	if err != nil {
		return fail("", 0, fmt.Sprintf("descriptor verify: %v", err))
	}
	// What the descriptor says goes into the document even when the
	// policy refuses it: the script wants to know what was refused.
	doc.Signed, doc.Publisher, doc.KeyID, doc.Descriptor = d.Publisher != "", d.Publisher, d.PublisherKeyID, newVerifiedJSON(d)
	if _, err := pol.Check(d); err != nil {
		return fail("", 0, fmt.Sprintf("descriptor verify: %v", err))
	}
	if *asJSON {
		doc.OK = true
		return writeJSON(s, doc, true)
	}
	printVerified(s, d, pol != nil, path)
	return exitOK
}

// printVerified prints descriptor verify's verdict for a person: who
// signed it, the policy that allowed it, and the descriptor (its token
// redacted).
func printVerified(s *stdio, d *descriptor.Descriptor, hasPolicy bool, path string) {
	signed := "unsigned"
	if d.Publisher != "" {
		signed = "signed by " + d.Publisher + " (kid " + d.PublisherKeyID + ")"
	}
	where := "no admin policy at " + path
	if hasPolicy {
		where = "allowed by " + path
	}
	fmt.Fprintf(s.stdout, "ok: %s; %s\n%s\n", signed, where, d)
}

// policyProblems reports the problems of the policy verify was to check
// against: as error lines, or with asJSON as doc's problems.
func policyProblems(s *stdio, doc *descVerifyJSON, path string, probs []policy.Problem, asJSON bool) int {
	if !asJSON {
		for _, pr := range probs {
			s.errorf("%s", pr.Format(path))
		}
		return exitFailure
	}
	for _, pr := range probs {
		doc.add(jsonProblem{File: path, Line: pr.Line, Key: pr.Key, Severity: severityError, Message: pr.Msg})
	}
	return writeJSON(s, *doc, false)
}

// policySource returns the admin policy of a launch: the demo's own, or the
// file at paths.policy under the ownership check.
func (ls launchSetup) policySource() policy.Source {
	if ls.policy != nil {
		return *ls.policy
	}
	return policy.Load(ls.paths.policy)
}
