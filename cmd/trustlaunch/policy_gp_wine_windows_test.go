//go:build wineprefix

package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
	"github.com/trustlaunch/trustlaunch/platform"
)

// TestGroupPolicyExplainWine: values written with reg add under
// HKLM\Software\Policies\trustlaunch (Wine's reg.exe, in the throwaway
// prefix of test.sh's Windows phase) change what whitelist explain decides,
// and show and paths say where each setting came from. It writes HKLM, so
// it is built only with the wineprefix tag.
func TestGroupPolicyExplainWine(t *testing.T) {
	key := platform.GroupPolicyPath
	regDelete := func() { exec.Command("reg", "delete", key, "/f").Run() }
	regDelete() // a leftover of an interrupted run
	t.Cleanup(regDelete)
	reg := func(args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "reg", append([]string{"add"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("reg add %v: %v\n%s", args, err, out)
		}
	}
	dir := testtmp.Dir(t)
	files := []string{
		"--admin-whitelist", filepath.Join(dir, "admin", "whitelist.txt"),
		"--admin-policy", filepath.Join(dir, "admin", "policy.toml"),
		"--user-whitelist", filepath.Join(dir, "user", "whitelist.txt"),
	}
	cli := func(wantCode int, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		s := &stdio{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
		args = append(append(args[:2:2], files...), args[2:]...)
		if code := run(t.Context(), args, s); code != wantCode {
			t.Fatalf("trustlaunch %s = %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, wantCode, &out, &errOut)
		}
		return out.String() + errOut.String()
	}
	must := func(out string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
	}
	const listed, other = "https://gp.example.com/s/1", "https://other.example.com/s/1"

	must(cli(exitWouldPrompt, "whitelist", "explain", listed))
	must(cli(exitOK, "whitelist", "paths"), "group policy: "+key+"\n  "+key+" does not exist (the files decide)")

	reg(key+`\Servers`, "/v", "1", "/t", "REG_SZ", "/d", "gp.example.com", "/f")
	must(cli(exitOK, "whitelist", "explain", listed), key+`\Servers (prompt mode): value 1 gp.example.com admits`)
	must(cli(exitWouldPrompt, "whitelist", "explain", other))

	reg(key, "/v", "AllowAdminListOnly", "/t", "REG_DWORD", "/d", "1", "/f")
	must(cli(exitRefused, "whitelist", "explain", other), "You are not allowed to launch software downloaded from other.example.com")
	must(cli(exitOK, "whitelist", "explain", listed), `(AllowAdminListOnly mode from `+key+`\AllowAdminListOnly): value 1`)
	must(cli(exitOK, "whitelist", "show"),
		"mode: AllowAdminListOnly (only servers in the admin list may launch) from "+key+`\AllowAdminListOnly`,
		"admin list "+key+`\Servers: 1 entry`,
		`gp.example.com`, key+`\Servers value "1"`)
	must(cli(exitOK, "whitelist", "paths"),
		"AllowAdminListOnly: AllowAdminListOnly mode; replaces the admin list's first line",
		"Servers: 1 entry; replaces the admin list's entries")

	reg(key, "/v", "AllowAdminListOnly", "/t", "REG_DWORD", "/d", "0", "/f")
	must(cli(exitWouldPrompt, "whitelist", "explain", other))

	reg(key+`\Proxies`, "/v", "1", "/t", "REG_SZ", "/d", "proxy.example.com:8443", "/f")
	must(cli(exitOK, "whitelist", "show"), "proxy       proxy.example.com:8443", key+`\Proxies value "1"`, "does not exist; Group Policy gives: 1 proxy")

	// The level of the launch records in the event log.
	reg(key, "/v", "OSLog", "/t", "REG_SZ", "/d", "warning", "/f")
	must(cli(exitOK, "whitelist", "show"), "os_log warning", "os_log      warning", key+`\OSLog`)
	must(cli(exitOK, "whitelist", "paths"), "OSLog: warning; replaces os_log of the admin policy")
	reg(key, "/v", "OSLog", "/t", "REG_DWORD", "/d", "1", "/f")
	must(cli(exitFailure, "whitelist", "paths"), key+`\OSLog: is REG_DWORD, want REG_SZ info, warning, error, off`)
	reg(key, "/v", "OSLog", "/t", "REG_SZ", "/d", "off", "/f")

	// A malformed value stops every launch, naming the value.
	reg(key+`\Servers`, "/v", "2", "/t", "REG_SZ", "/d", "a..b", "/f")
	must(cli(exitRefused, "whitelist", "explain", listed), key+`\Servers value "2": invalid host "a..b"`)
	must(cli(exitFailure, "whitelist", "paths"), "unusable, so every launch stops", `Servers value "2"`)

	reg(key+`\Servers`, "/v", "2", "/t", "REG_SZ", "/d", "b.example.com", "/f")
	reg(key, "/v", "RequireSigned", "/t", "REG_SZ", "/d", "1", "/f")
	must(cli(exitFailure, "whitelist", "show"), key+`\RequireSigned: is REG_SZ, want REG_DWORD 0 or 1`)
}
