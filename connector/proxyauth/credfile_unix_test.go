//go:build unix

package proxyauth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadCredentialsFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("alice:s3cret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if u, p, err := ReadCredentialsFile(write("ok", 0o600)); err != nil || u != "alice" || p != "s3cret" {
		t.Fatalf("mode 600: %q %q %v", u, p, err)
	}
	for _, tc := range []struct {
		name    string
		mode    os.FileMode
		wantErr string
	}{
		{"group-readable", 0o640, "readable by others (mode 0640)"},
		{"world-readable", 0o604, "readable by others (mode 0604)"},
		{"group-writable", 0o620, "writable by group"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ReadCredentialsFile(write(tc.name, tc.mode))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("err = %v, want %q without the password", err, tc.wantErr)
			}
		})
	}
	if _, _, err := ReadCredentialsFile(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("a missing file was accepted")
	}
}
