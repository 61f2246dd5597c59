package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/connector/proxytest"
	"github.com/trustlaunch/trustlaunch/internal/redact/redacttest"
	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// TestConnectRefusalStderrHoldsNoToken: `connect` against a security
// proxy whose 403 reason carries the session token's base64 prints the
// status code and its standard phrase on stderr, and no spelling of the
// token.
func TestConnectRefusalStderrHoldsNoToken(t *testing.T) {
	const token = "tl-connect-token-8e41c0a7b2d9f3"
	p := proxytest.NewUnstartedConnectProxy()
	p.Status = 403
	p.StatusText = "denied " + base64.StdEncoding.EncodeToString([]byte("t="+token))
	p.Start()
	t.Cleanup(p.Close)
	ca := filepath.Join(testtmp.Dir(t), "ca.pem")
	if err := os.WriteFile(ca, p.CA.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	s := &stdio{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errOut, getenv: func(k string) string {
		if k == "TRUSTLAUNCH_TOKEN" {
			return token
		}
		return ""
	}}
	code := run(context.Background(), []string{"connect", "--stdio", "--outbound-proxy", "none", "--proxy", p.Addr, "--transport", "connect", "--to", "mainframe.example.com:23", "--ca", ca}, s)
	if code != exitFailure || !strings.Contains(errOut.String(), "(403 Forbidden)") {
		t.Fatalf("connect = %d, stderr %q; want a failure naming 403 Forbidden", code, errOut.String())
	}
	if run, ok := redacttest.Leak(errOut.String(), token); ok {
		t.Errorf("stderr shows the run %q of a spelling of the token: %q", run, errOut.String())
	}
}

// TestStderrScrubbed: the lines of stderr are the last lock: whatever a
// message holds of a secret the process registered is scrubbed, in any
// spelling.
func TestStderrScrubbed(t *testing.T) {
	const pass = "Corp-Pr0xy/Pa55w0rd!Spring"
	var errOut bytes.Buffer
	s := &stdio{stderr: &errOut}
	s.registry().Add(pass)
	s.errorf("refused %s", strings.ToLower(pass))
	s.hintf("basic %s", base64.StdEncoding.EncodeToString([]byte("alice:"+pass)))
	s.logf("echo %s", strings.ToUpper(pass))
	out := errOut.String()
	if strings.Count(out, "[redacted]") != 3 {
		t.Errorf("stderr %q: want each spelling of the password [redacted]", out)
	}
	if run, ok := redacttest.Leak(out, pass); ok {
		t.Errorf("stderr shows the run %q of a spelling of the password: %q", run, out)
	}
}
