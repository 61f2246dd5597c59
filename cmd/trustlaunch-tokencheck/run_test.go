//go:build unix

package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
	"github.com/trustlaunch/trustlaunch/sessiontoken"
)

func writeKey(t *testing.T, dir string) (ed25519.PrivateKey, string) {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(key.Public())
	path := filepath.Join(dir, "keys.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return key, path
}

func runWith(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestRun(t *testing.T) {
	dir := testtmp.Dir(t)
	key, keys := writeKey(t, dir)
	common := []string{"squid", "--keys", keys, "--issuer", "https://portal.example.com", "--audience", "proxy.example.com:8443"}

	t.Run("usage", func(t *testing.T) {
		if code, _, stderr := runWith(""); code != exitUsage || !strings.Contains(stderr, "Usage:") {
			t.Errorf("no arguments: %d %q", code, stderr)
		}
		if code, stdout, _ := runWith("", "--help"); code != exitOK || !strings.Contains(stdout, "external_acl_type trustlaunch_token") {
			t.Errorf("--help: %d %q", code, stdout)
		}
		if code, stdout, _ := runWith("", "version"); code != exitOK || !strings.HasPrefix(stdout, "trustlaunch-tokencheck ") {
			t.Errorf("version: %d %q", code, stdout)
		}
		for _, args := range [][]string{
			{"serve"},
			{"squid"},
			{"squid", "--keys", keys, "--audience", "a"},
			append(append([]string{}, common...), "--audience", "b"),
			append(append([]string{}, common...), "extra"),
			append(append([]string{}, common...), "--replay-capacity", "0"),
		} {
			if code, _, stderr := runWith("", args...); code != exitUsage || !strings.Contains(stderr, "trustlaunch-tokencheck: error:") {
				t.Errorf("%q: %d %q", args, code, stderr)
			}
		}
	})

	t.Run("check", func(t *testing.T) {
		code, stdout, stderr := runWith("", append(append([]string{}, common...), "--issuer", "https://other.example.com", "--check")...)
		kid, _ := sessiontoken.KeyID(key.Public())
		if code != exitOK || !strings.Contains(stdout, "ok: audience \"proxy.example.com:8443\", issuers \"https://portal.example.com\", \"https://other.example.com\", 1 key (kid "+kid+")") {
			t.Fatalf("--check: %d %q %q", code, stdout, stderr)
		}
	})

	t.Run("key file", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.pem")
		os.WriteFile(bad, []byte("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n"), 0o644)
		for name, path := range map[string]string{"missing": filepath.Join(dir, "nope.pem"), "a directory": dir, "damaged": bad} {
			args := append([]string{"squid", "--keys", path}, common[3:]...)
			if code, _, stderr := runWith("", args...); code != exitFailure || !strings.Contains(stderr, "--keys") {
				t.Errorf("%s: %d %q", name, code, stderr)
			}
		}
		open := filepath.Join(dir, "open.pem")
		data, _ := os.ReadFile(keys)
		os.WriteFile(open, data, 0o644)
		os.Chmod(open, 0o666)
		args := append([]string{"squid", "--keys", open}, common[3:]...)
		if code, _, stderr := runWith("", args...); code != exitFailure || !strings.Contains(stderr, "writable by any user") {
			t.Errorf("world-writable: %d %q", code, stderr)
		}
	})

	t.Run("serve", func(t *testing.T) {
		iss, err := sessiontoken.NewIssuer(sessiontoken.IssuerConfig{Key: key, Issuer: "https://portal.example.com"})
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := iss.Issue(sessiontoken.Grant{Audience: "proxy.example.com:8443", Destination: "mainframe.example.com:23", Subject: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		in := "0 " + url.PathEscape("Bearer "+tok) + " 192.0.2.1 mainframe.example.com 23 -\n" +
			"1 " + url.PathEscape("Bearer "+tok) + " 192.0.2.2 mainframe.example.com 23 -\n"
		code, stdout, stderr := runWith(in, common...)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		// Two clients at once on two channels: whichever comes first is
		// admitted, the other refused.
		if strings.Count(stdout, " OK user=alice ") != 1 || strings.Count(stdout, " ERR message=replayed") != 1 {
			t.Errorf("answers %q", stdout)
		}
		if !strings.Contains(stderr, "serving Squid") || !strings.Contains(stderr, "refused (replayed)") {
			t.Errorf("log %q", stderr)
		}
		if strings.Contains(stdout+stderr, tok) {
			t.Error("the token reached the answers or the log")
		}
	})
}

// TestUsageShowsDocumentedConf: the squid.conf lines --help prints are
// docs/proxy.md's tested ones (internal/peers runs every test Squid with
// that block), so an administrator who copies either copies what the
// tests run.
func TestUsageShowsDocumentedConf(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs/proxy.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), "<!-- tested: squid.conf token check -->\n```\n")
	tested, _, closed := strings.Cut(after, "```\n")
	if !ok || !closed {
		t.Fatal("docs/proxy.md has no tested squid.conf block")
	}
	_, after, ok = strings.Cut(usage, "In squid.conf (docs/proxy.md):\n\n")
	shown, _, ended := strings.Cut(after, "\n\n")
	if !ok || !ended {
		t.Fatal("the usage text shows no squid.conf lines")
	}
	var lines []string
	for line := range strings.SplitSeq(shown, "\n") {
		lines = append(lines, strings.TrimPrefix(line, "  "))
	}
	if got := strings.Join(lines, "\n") + "\n"; got != tested {
		t.Errorf("--help shows other squid.conf lines than docs/proxy.md's tested block:\n%s\nwant:\n%s", got, tested)
	}
}
