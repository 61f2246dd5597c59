//go:build linux

package peers

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TokenCheckHTTPOptions configures StartTokenCheckHTTP.
type TokenCheckHTTPOptions struct {
	// Tokens is the portal whose tokens the endpoint admits; nil means a
	// new one (Ed25519) for the audience "ws.test:443".
	Tokens *TokenIssuer
	// HelperArgs are appended to the command line, e.g. "--redis URL".
	HelperArgs []string
	// StartTimeout bounds start-up (default DefaultStartTimeout).
	StartTimeout time.Duration
}

// TokenCheckHTTP is a running `trustlaunch-tokencheck http`, the
// forward-auth endpoint nginx's auth_request asks, on 127.0.0.1.
type TokenCheckHTTP struct {
	Addr   string // "127.0.0.1:PORT"
	Tokens *TokenIssuer
	Dir    string
	*Process
}

// tokenCheckPortAttempts is how often StartTokenCheckHTTP retries when
// the port it chose was taken before the endpoint bound it.
const tokenCheckPortAttempts = 5

// StartTokenCheckHTTP builds cmd/trustlaunch-tokencheck and runs its http
// command with the portal's public key, and returns once it listens.
func StartTokenCheckHTTP(t testing.TB, opts TokenCheckHTTPOptions) *TokenCheckHTTP {
	t.Helper()
	if opts.StartTimeout == 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	tc := &TokenCheckHTTP{Tokens: opts.Tokens, Dir: t.TempDir()}
	if tc.Tokens == nil {
		tc.Tokens = NewTokenIssuer(t, "ws.test:443", "")
	}
	bin := BuildTokenCheck(t, tc.Dir)
	keys := filepath.Join(tc.Dir, "trustlaunch-keys.pem")
	pub, err := publicKeyPEM(tc.Tokens.Key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, keys, pub, 0o644)
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("tokencheck: %v", err)
		}
		tc.Addr = fmt.Sprintf("127.0.0.1:%d", port)
		args := append([]string{"http", "--listen", tc.Addr, "--keys", keys, "--issuer", PortalIssuer, "--audience", tc.Tokens.Audience}, opts.HelperArgs...)
		cmd := exec.Command(bin, args...)
		cmd.Dir = tc.Dir
		p, err := startProcess(t, "tokencheck", tc.Dir, cmd)
		if err != nil {
			t.Fatalf("%v", err)
		}
		_, err = p.waitLine(t.Context(), opts.StartTimeout, func(line string) bool {
			return strings.Contains(line, "serving HTTP on "+tc.Addr)
		})
		p.doneWatching()
		if err == nil {
			tc.Process = p
			return tc
		}
		p.Stop()
		if strings.Contains(p.Log(), "address already in use") && attempt < tokenCheckPortAttempts {
			t.Logf("tokencheck: port %d was taken before it listened; retrying", port)
			continue
		}
		t.Fatalf("trustlaunch-tokencheck http did not start: %v\n%s", err, redactTokens(tail(p.Log())))
	}
}

// RedactTokens hides compact JWS tokens in s, for a test that prints a
// log or an output on failure.
func RedactTokens(s string) string { return redactTokens(s) }

// FinalLog stops the process and returns all it wrote, once its output
// has been read to the end: what a test searches for planted tokens.
func (p *Process) FinalLog() string {
	p.Stop()
	select {
	case <-p.outDone:
	case <-time.After(10 * time.Second):
		// A child that inherited the output and outlived the group
		// keeps the pipe open: the log so far is all there is.
	}
	return p.Log()
}
