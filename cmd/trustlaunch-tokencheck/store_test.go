//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

func TestParseRedisURL(t *testing.T) {
	for _, tt := range []struct {
		in, addr, user string
		db             int
		tls            bool
		err            string
	}{
		{in: "redis://127.0.0.1:6379", addr: "127.0.0.1:6379"},
		{in: "redis://tokencheck@redis.example.com:6379/2", addr: "redis.example.com:6379", user: "tokencheck", db: 2},
		{in: "rediss://tokencheck@[2001:db8::1]:6380", addr: "[2001:db8::1]:6380", user: "tokencheck", tls: true},
		{in: "redis://u:secret@h:6379", err: "holds a password"},
		{in: "redis://:secret@h:6379", err: "holds a password"},
		{in: "http://h:6379", err: "want redis:// or rediss://"},
		{in: "redis://h", err: "is not HOST:PORT"},
		{in: "redis://h:6379/x", err: "is not a number"},
		{in: "redis://h:6379?db=1", err: "query"},
	} {
		c, err := parseRedisURL(tt.in)
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err = %v, want %q", tt.in, err, tt.err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("%s: the error quotes the password", tt.in)
			}
		case err != nil:
			t.Errorf("%s: %v", tt.in, err)
		case c.Addr != tt.addr || c.Username != tt.user || c.DB != tt.db || (c.TLS != nil) != tt.tls:
			t.Errorf("%s: %+v", tt.in, c)
		}
	}
}

func TestStoreFlags(t *testing.T) {
	dir := testtmp.Dir(t)
	_, keys := writeKey(t, dir)
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	common := []string{"squid", "--keys", keys, "--issuer", "https://portal.example.com", "--audience", "proxy.example.com:8443"}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--redis", "redis://127.0.0.1:1", "--replay-capacity", "5"}, exitUsage, "leave it out with --redis"},
		{[]string{"--redis-password-file", pw}, exitUsage, "need --redis"},
		{[]string{"--redis", "redis://u:s3cret@127.0.0.1:1"}, exitFailure, "--redis-password-file"},
		{[]string{"--redis", "redis://127.0.0.1:1", "--redis-ca", pw}, exitFailure, "--redis-ca is for a rediss:// URL"},
		// Nothing listens on port 1: --check reaches Redis and says so.
		{[]string{"--redis", "redis://tokencheck@127.0.0.1:1", "--redis-password-file", pw, "--check"}, exitFailure, "the single-use store (Redis at 127.0.0.1:1) cannot record the token"},
	} {
		code, stdout, stderr := runWith("", append(append([]string{}, common...), tt.args...)...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("%q: %d %q %q, want %d and %q", tt.args, code, stdout, stderr, tt.code, tt.want)
		}
		if strings.Contains(stdout+stderr, "s3cret") {
			t.Errorf("%q: the password is in the output", tt.args)
		}
	}

	// A password file other users can read, and a CA file they can
	// write, are refused before anything is sent to Redis: the first
	// gives the password away, the second lets anyone pose as Redis,
	// whose answers decide single use.
	pwOpen := filepath.Join(dir, "pw-open")
	caOpen := filepath.Join(dir, "ca-open.pem")
	for path, mode := range map[string]os.FileMode{pwOpen: 0o604, caOpen: 0o666} {
		if err := os.WriteFile(path, []byte("s3cret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--redis", "redis://tokencheck@127.0.0.1:1", "--redis-password-file", pwOpen, "--check"}, "--redis-password-file: " + pwOpen + " is readable by any user (mode 0604), and it holds a password: chmod o-rwx"},
		{[]string{"--redis", "rediss://127.0.0.1:1", "--redis-ca", caOpen, "--check"}, "--redis-ca: " + caOpen + " is writable by any user (mode 0666), so anyone could add a CA"},
	} {
		code, stdout, stderr := runWith("", append(append([]string{}, common...), tt.args...)...)
		if code != exitFailure || !strings.Contains(stderr, tt.want) || strings.Contains(stdout+stderr, "s3cret") {
			t.Errorf("%q: %d %q %q, want %d and %q", tt.args, code, stdout, stderr, exitFailure, tt.want)
		}
	}

	// Serving with Redis down: the helper starts (Squid would restart a
	// helper that exits, in a loop), says so, and refuses.
	code, _, stderr := runWith("", append(append([]string{}, common...), "--redis", "redis://127.0.0.1:1")...)
	if code != exitOK || !strings.Contains(stderr, "warning: the single-use store (Redis at 127.0.0.1:1) cannot record the token") || !strings.Contains(stderr, "every token is refused until it answers") {
		t.Errorf("serving with Redis down: %d %q", code, stderr)
	}
}
