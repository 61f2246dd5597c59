//go:build unix

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// TestOutboundCredentialsFlag: a password in the outbound proxy's URL
// works and is warned about; the same credentials from a file of the
// user's own are taken without a warning; a file others can read, or a
// second source, is refused naming the flag, never the password.
func TestOutboundCredentialsFlag(t *testing.T) {
	dir := testtmp.Dir(t)
	creds := filepath.Join(dir, "proxy-credentials")
	if err := os.WriteFile(creds, []byte("alice:Fi1e-Pa55\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	loose := filepath.Join(dir, "loose")
	if err := os.WriteFile(loose, []byte("alice:Fi1e-Pa55\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name               string
		flags              outboundFlags
		env                string // HTTPS_PROXY
		wantWarn, wantErr  string
		wantUser, wantPass string
	}{
		{name: "password in the flag's URL", flags: outboundFlags{url: "http://alice:Url-Pa55@proxy.corp:3128"},
			wantWarn: "the outbound proxy URL (--outbound-proxy) holds a password", wantUser: "alice", wantPass: "Url-Pa55"},
		{name: "password in HTTPS_PROXY", env: "http://alice:Url-Pa55@proxy.corp:3128",
			wantWarn: "the outbound proxy URL (HTTPS_PROXY) holds a password", wantUser: "alice", wantPass: "Url-Pa55"},
		{name: "credentials file", flags: outboundFlags{url: "http://proxy.corp:3128", credentials: creds}, wantUser: "alice", wantPass: "Fi1e-Pa55"},
		{name: "credentials file with HTTPS_PROXY", env: "http://proxy.corp:3128", flags: outboundFlags{credentials: creds}, wantUser: "alice", wantPass: "Fi1e-Pa55"},
		{name: "file readable by others", flags: outboundFlags{url: "http://proxy.corp:3128", credentials: loose}, wantErr: "--outbound-proxy-credentials: " + loose + ": readable by others"},
		{name: "two sources", flags: outboundFlags{url: "http://alice:Url-Pa55@proxy.corp:3128", credentials: creds}, wantErr: "holds a user name already"},
		{name: "no proxy", flags: outboundFlags{url: "none", credentials: creds}, wantErr: "no outbound proxy is set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var errOut bytes.Buffer
			s := &stdio{stderr: &errOut, getenv: func(k string) string {
				if k == "HTTPS_PROXY" {
					return tc.env
				}
				return ""
			}}
			ob, err := outboundSetting(s, tc.flags, "")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "Pa55") {
					t.Errorf("the error shows a password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := errOut.String(); (tc.wantWarn == "") != (got == "") || !strings.Contains(got, tc.wantWarn) || strings.Contains(got, "Pa55") {
				t.Errorf("stderr = %q, want the warning %q (and no password)", got, tc.wantWarn)
			}
			u := ob.ProxyFor("secproxy.example:443")
			if pass, _ := u.User.Password(); u.User.Username() != tc.wantUser || pass != tc.wantPass {
				t.Errorf("credentials = %s, want %s's", u.Redacted(), tc.wantUser)
			}
		})
	}
}
