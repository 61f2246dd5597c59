//go:build !windows

package proxyauth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCCachePath(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "primary"), []byte("tkt1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env, wantPath, wantErr string
	}{
		{env: "FILE:/tmp/cc", wantPath: "/tmp/cc"},
		{env: "/tmp/cc", wantPath: "/tmp/cc"},
		{env: "file:/tmp/cc", wantPath: "/tmp/cc"},
		{env: "DIR::/tmp/d/tkt", wantPath: "/tmp/d/tkt"},
		{env: "DIR:" + dir, wantPath: filepath.Join(dir, "tkt1")},
		{env: "DIR:" + filepath.Join(dir, "none"), wantErr: "has no primary cache"},
		{env: "KCM:", wantErr: `credential cache "KCM:" is not supported`},
		{env: "KCM:1000", wantErr: "is not supported"},
		{env: "KEYRING:persistent:1000", wantErr: "kernel keyring"},
		{env: "API:", wantErr: "macOS"},
		{env: "MEMORY:x", wantErr: "another process"},
		{env: "WEIRD:x", wantErr: "unknown cache type"},
		{env: "FILE:relative", wantErr: "not an absolute path"},
		{env: "FILE:", wantErr: "not an absolute path"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			_, path, err := ccachePath(Config{Getenv: func(k string) string {
				if k == "KRB5CCNAME" {
					return tc.env
				}
				return ""
			}})
			if tc.wantErr != "" {
				var pe *Error
				if !errors.As(err, &pe) || !strings.Contains(pe.Msg, tc.wantErr) || pe.Hint == "" {
					t.Fatalf("ccachePath(%q) = %q, %v; want an *Error with %q and a hint", tc.env, path, err, tc.wantErr)
				}
				return
			}
			if err != nil || path != tc.wantPath {
				t.Fatalf("ccachePath(%q) = %q, %v; want %q", tc.env, path, err, tc.wantPath)
			}
		})
	}
}

func TestCCachePathDefault(t *testing.T) {
	_, path, err := ccachePath(Config{Getenv: func(string) string { return "" }})
	if err != nil || !strings.HasPrefix(path, "/tmp/krb5cc_") {
		t.Fatalf("default cache = %q, %v; want /tmp/krb5cc_UID", path, err)
	}
}
