//go:build unix

package launcher

import (
	"os"
	"testing"
)

// The Windows counterpart of this check is TestUnsafeAdminProfiles, which
// test.sh runs under Wine without the wineprefix tag (the release way).

// TestAdminProfilesRealCheck loads an admin file that passes the real
// ownership check, from a root-owned directory under /run. Root only.
func TestAdminProfilesRealCheck(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("this test needs root, and CI runs as root")
		}
		t.Skip("needs root to create a root-owned admin directory; CI runs it")
	}
	dir, err := os.MkdirTemp("/run", "trustlaunch-profiles-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	admin := writeFile(t, dir, "profiles.toml", "[profile.payroll]\ncommand = [\"c3270\", \"{host}:{port}\"]\n")
	ps, err := LoadProfiles(ProfileOptions{AdminFile: admin, UserFile: noAdminProfiles})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := ps.Resolve("payroll"); err != nil || p.Source != admin+":1" {
		t.Fatalf("Resolve = %+v, %v", p, err)
	}
	if err := os.Chmod(admin, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadProfiles(ProfileOptions{AdminFile: admin, UserFile: noAdminProfiles}); err == nil {
		t.Fatal("a world-writable admin file was loaded")
	}
}
