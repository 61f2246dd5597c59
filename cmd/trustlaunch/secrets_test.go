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
	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// b64RunIn finds in s, in any case, a run of 16 characters of the base64
// of secret at any of the three byte alignments.
func b64RunIn(s, secret string) (string, bool) {
	ls := strings.ToLower(s)
	for k := range 3 {
		enc := strings.ToLower(strings.TrimRight(base64.StdEncoding.EncodeToString([]byte("{p:"[:k]+secret+`"}`)), "="))
		for i := 4; i+16 <= len(enc)-4; i++ {
			if strings.Contains(ls, enc[i:i+16]) {
				return enc[i : i+16], true
			}
		}
	}
	return "", false
}

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
	if strings.Contains(strings.ToLower(errOut.String()), token) {
		t.Errorf("stderr shows the token: %q", errOut.String())
	}
	if run, ok := b64RunIn(errOut.String(), token); ok {
		t.Errorf("stderr shows the run %q of the token's base64: %q", run, errOut.String())
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
	if strings.Contains(strings.ToLower(out), strings.ToLower(pass)) || strings.Count(out, "[redacted]") != 3 {
		t.Errorf("stderr %q: want each spelling of the password [redacted]", out)
	}
	if run, ok := b64RunIn(out, pass); ok {
		t.Errorf("stderr shows the run %q of the password's base64: %q", run, out)
	}
}
