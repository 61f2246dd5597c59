package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/redact/redacttest"
	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// TestBundleHoldsNoSecret plants a token, a ticket, a query and an
// outbound proxy's password in the settings doctor reads (the URL it is
// given, HTTPS_PROXY) and in the audit log, writes a support bundle, and
// looks for each in the zip and in every file of it: as written, in lower
// case, percent-encoded and in base64 (redacttest.Leak's spellings).
func TestBundleHoldsNoSecret(t *testing.T) {
	const (
		token    = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZS1wbGFudGVkLXRva2VuIn0.c2lnbmF0dXJlLXBsYW50ZWQtaGVyZQ"
		ticket   = "TKT-7f3a9c1e5b2d8f4a6c0e"
		query    = "sessionref-5a8c2e9f1b7d3a6c"
		password = "0utb0und-Pa55w0rd-9f2c7a"
		auditTkt = "TKT-audit-1d4f7a2c9e6b3f8a"
		// The audit log's own: secrets this run of doctor does not know,
		// so only what the bundle redacts by itself keeps them out.
		logToken    = "eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiJsb2ctb25seS10b2tlbiJ9.bG9nLW9ubHktc2lnbmF0dXJl"
		logTicket   = "TKT-logonly-8e2b5d9a4c7f1e3b"
		logQuery    = "logonly-query-3c9e7a1f5b"
		logPassword = "L0gOnly-Pa55w0rd-4b8d1f"
	)
	dir := testtmp.Dir(t)
	state := filepath.Join(dir, "state")
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("APPDATA", filepath.Join(dir, "config"))
	t.Setenv("LOCALAPPDATA", state)
	t.Setenv("HTTPS_PROXY", "http://alice:"+url.QueryEscape(password)+"@proxy.corp.example:3128")
	t.Setenv("NO_PROXY", "127.0.0.1")

	// An audit log with the secrets where a careless writer could have
	// put them; the bundle must not rely on the log being clean.
	logDir := filepath.Join(state, "trustlaunch")
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		t.Fatal(err)
	}
	line := `{"schema":1,"time":"2026-12-07T10:00:00Z","origin":"https://portal.example.com","decision":"failed","step":"proxy","whitelist":"","descriptor_url":"https://portal.example.com/d/1?t=` + auditTkt + `","session":"Payroll","proxy":"proxy.example.com:8443","destination":"mainframe.example.com:23","bytes_up":0,"bytes_down":0,"duration_ms":12,"exit_status":null,` +
		`"error":"proxy answered 407 to Authorization: Bearer ` + logToken + ` after http://alice:` + logPassword + `@proxy.corp.example:3128 for https://portal.example.com/launch?ticket=` + logTicket + `&ref=` + logQuery + `; token=` + logToken + `"}` + "\n"
	if err := os.WriteFile(filepath.Join(logDir, "audit.log"), []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}

	noAdmin := noAdminDir(t)
	zipPath := filepath.Join(dir, "support.zip")
	var out, errOut bytes.Buffer
	s := &stdio{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: os.Getenv}
	code := run(context.Background(), []string{"doctor", "--bundle", zipPath, "--timeout", "5s",
		"--admin-whitelist", filepath.Join(noAdmin, "whitelist.txt"), "--admin-policy", filepath.Join(noAdmin, "policy.toml"),
		"--admin-profiles", filepath.Join(noAdmin, "profiles.toml"), "--ca-bundle", filepath.Join(noAdmin, "ca.pem"),
		"https://127.0.0.1:1/launch?ticket=" + ticket + "&ref=" + query + "#" + token}, s)
	if code != exitOK && code != exitFailure {
		t.Fatalf("doctor = %d\n%s", code, errOut.String())
	}
	raw, err := os.ReadFile(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	texts := map[string]string{"the zip": string(raw), "stdout": out.String(), "stderr": errOut.String()}
	want := map[string]bool{"README.txt": false, "version.json": false, "settings.json": false, "doctor.json": false, "doctor.txt": false, "profiles.json": false, "audit.jsonl": false}
	for _, f := range zr.File {
		if f.Method != zip.Store {
			t.Errorf("%s is compressed: a grep of the zip would not see into it", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		texts[f.Name] = string(data)
		want[f.Name] = true
	}
	for name, found := range want {
		if !found {
			t.Errorf("the bundle has no %s", name)
		}
	}
	// The bundle says what it is about, without the secrets.
	for name, sub := range map[string]string{
		"settings.json": "http://proxy.corp.example:3128 (from HTTPS_PROXY)",
		"doctor.json":   `"origin": "https://127.0.0.1:1"`,
		"audit.jsonl":   "proxy answered 407",
	} {
		if !strings.Contains(texts[name], sub) {
			t.Errorf("%s does not hold %q:\n%s", name, sub, texts[name])
		}
	}
	for _, secret := range []string{token, ticket, query, password, auditTkt, logToken, logTicket, logQuery, logPassword} {
		for name, text := range texts {
			for _, form := range []string{secret, strings.ToLower(secret), url.QueryEscape(secret), base64.StdEncoding.EncodeToString([]byte(secret))} {
				if strings.Contains(text, form) {
					t.Errorf("%s holds %q", name, form)
				}
			}
			if run, found := redacttest.Leak(text, secret); found {
				t.Errorf("%s holds %q, a spelling of a planted secret", name, run)
			}
		}
	}
}

// TestBundleRedactsProxyPasswords: a proxy password is kept out of the
// bundle however the URL is written, even when doctor could not read the
// setting (so no secret was registered): without a scheme, and with an
// unencoded "/", "?" or "#" in the password, which ends a URL's
// authority early.
func TestBundleRedactsProxyPasswords(t *testing.T) {
	for _, tc := range []struct{ in, secret, keep string }{
		{"http://alice:Pa55w0rd@proxy.corp:3128", "Pa55w0rd", "proxy.corp:3128"},
		{"http://alice:Pa/55?w#0rd@proxy.corp:3128", "55", "proxy.corp:3128"},
		{"see http://u:p/ss@h.corp:3128/x?q=1 there", "ss", "h.corp:3128/x"},
	} {
		if got := bundleRedact(tc.in); strings.Contains(got, tc.secret) || strings.Contains(got, "alice") || !strings.Contains(got, tc.keep) {
			t.Errorf("bundleRedact(%q) = %q, want no %q, no user, and %q kept", tc.in, got, tc.secret, tc.keep)
		}
	}
	for _, v := range []string{"alice:Pa55w0rd@proxy.corp:3128", "http://alice:Pa/55w0rd@proxy.corp:3128"} {
		if got := redactUserinfo(v); strings.Contains(got, "Pa") || strings.Contains(got, "alice") || !strings.HasSuffix(got, "@proxy.corp:3128") {
			t.Errorf("redactUserinfo(%q) = %q", v, got)
		}
	}
	// The environment as doctor --bundle records it, with a setting
	// doctor cannot use, so nothing was registered to scrub.
	s := &stdio{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string {
		if k == "HTTPS_PROXY" {
			return "alice:Pa/55w0rd@proxy.corp:3128"
		}
		return ""
	}}
	set := newBundleSettings(s, doctorOptions{outbound: outboundFlags{url: "none"}}, time.Now(), nil, errors.New("no audit log"))
	if got := set.Environment["HTTPS_PROXY"]; strings.Contains(got, "Pa") || strings.Contains(got, "alice") {
		t.Errorf("settings.json records HTTPS_PROXY as %q", got)
	}
}
