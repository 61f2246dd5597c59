package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// TestUnsafeAdminFilesCLI: an admin list or policy this user could write,
// or whose absence this user could have caused, stops every launch, and
// explain, paths and show say which file, why and how to fix it. The
// scripts show the same on Unix ([realadmincheck] lines); this test is how
// Windows sees it: the wineprefix build under Wine accepts the prefix
// owner's files, so there it says it cannot show the property, and test.sh
// runs it again without the tag, where the check refuses the user's files
// as a release does and the test must pass.
func TestUnsafeAdminFilesCLI(t *testing.T) {
	if !realAdminCheck(t) {
		t.Skip("the wineprefix build accepts the Wine prefix owner's files; test.sh runs this test without the tag, where the check refuses")
	}
	// Why the check refuses a user's file in a temporary directory: the
	// mode bits of /tmp on Unix, the owner on Windows.
	reason := "writable by"
	if runtime.GOOS == "windows" {
		reason = "owned by"
	}
	dir := testtmp.Dir(t)
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	t.Setenv("LOCALAPPDATA", filepath.Join(dir, "state"))
	unsafe := filepath.Join(dir, "unsafe.txt")
	if err := os.WriteFile(unsafe, []byte("AllowAdminListOnly\nportal.example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(dir, "policy.toml")
	if err := os.WriteFile(policy, []byte("require_signed = false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.txt")
	user := []string{"--user-whitelist", filepath.Join(dir, "user", "whitelist.txt")}
	cli := func(wantCode int, args ...string) (stdout, stderr string) {
		t.Helper()
		var out, errOut bytes.Buffer
		s := &stdio{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errOut, getenv: os.Getenv}
		args = append(append(args[:2:2], user...), args[2:]...)
		if code := run(t.Context(), args, s); code != wantCode {
			t.Errorf("trustlaunch %s = %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, wantCode, &out, &errOut)
		}
		return out.String(), errOut.String()
	}
	must := func(what, out string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s lacks %q:\n%s", what, w, out)
			}
		}
	}

	out, _ := cli(exitRefused, "whitelist", "explain", "--admin-whitelist", unsafe, "https://portal.example.com/")
	must("explain, unsafe admin list", out, "refused (admin-file-unsafe)", "cannot be used: ", reason)
	if strings.Contains(out, "would launch") {
		t.Errorf("explain admits through an unsafe admin list:\n%s", out)
	}

	out, _ = cli(exitRefused, "whitelist", "explain", "--admin-whitelist", missing, "https://portal.example.com/")
	must("explain, missing admin list", out, "missing.txt does not exist, and its absence cannot be trusted: ", "refused (admin-file-unsafe)")
	if strings.Contains(out, "exists") {
		t.Errorf("explain says a missing admin list exists:\n%s", out)
	}

	out, _ = cli(exitFailure, "whitelist", "paths", "--admin-whitelist", unsafe)
	must("paths, unsafe admin list", out, "ownership check FAILED", reason, "fix: ")

	out, _ = cli(exitFailure, "whitelist", "paths", "--admin-whitelist", missing)
	must("paths, missing admin list", out, "does not exist, but the directories above it are not safe", "fix: ")

	_, errOut := cli(exitFailure, "whitelist", "show", "--admin-whitelist", unsafe)
	must("show, unsafe admin list", errOut, "error: admin list ", "unsafe.txt")

	out, _ = cli(exitFailure, "whitelist", "paths", "--admin-policy", policy)
	must("paths, unsafe admin policy", out, "policy.toml", "unusable, so every launch stops", "fix: ")
}
