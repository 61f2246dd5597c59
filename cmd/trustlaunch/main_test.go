package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
	"github.com/trustlaunch/trustlaunch/platform"
	"github.com/trustlaunch/trustlaunch/tui"
)

// TestMain lets testscript run the real main as the "trustlaunch" command.
func TestMain(m *testing.M) {
	tellWithoutTerminal = toldInTest
	testscript.Main(binDirRemover{m}, testCommands)
}

// toldInTest stands in for tellWithoutTerminal in this package's tests,
// the scripts' trustlaunch included: it shows nothing and appends the
// message to $WORK/told, where a script can check that a run without a
// terminal would have told its user. The tests that run the built binary
// (neversilent_linux_test.go, scripts/wine/test-open.sh) show the real
// notification and window.
func toldInTest(_ context.Context, _ tui.WindowOptions, title, text string) (string, error) {
	if work := os.Getenv("WORK"); work != "" {
		f, err := os.OpenFile(filepath.Join(work, "told"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return tui.ToldNobody, err
		}
		defer f.Close()
		if _, err := fmt.Fprintf(f, "%s\n%s\n\n", title, text); err != nil {
			return tui.ToldNobody, err
		}
	}
	return tui.ToldNobody, errors.New("this package's tests show no window")
}

// testCommands are the programs the test binary also is, by the name it is
// run as: trustlaunch itself for the scripts, and the helpers of tests
// (added by their files' init).
var testCommands = map[string]func(){"trustlaunch": main}

// binDirRemover empties testscript.Main's command directory once the tests
// have run, with os.Remove on each entry, so that Main's own os.RemoveAll of
// it has only an empty directory left, which it removes with os.Remove.
// Under Wine 8.0 os.RemoveAll of a non-empty directory fails ("unlinkat ...:
// Invalid function", see internal/testtmp), and Main log.Fatalf's on that,
// failing the package after every test passed. The same code runs on every
// OS. An entry that cannot be removed fails the run and is named.
type binDirRemover struct{ m *testing.M }

func (r binDirRemover) Run() int {
	code := r.m.Run()
	// Main put its command directory, TMP/testscript-mainNNN/bin, first in
	// PATH before calling Run; anything else is left alone.
	bin := filepath.SplitList(os.Getenv("PATH"))[0]
	if filepath.Base(bin) != "bin" || !strings.HasPrefix(filepath.Base(filepath.Dir(bin)), "testscript-main") {
		fmt.Fprintf(os.Stderr, "TestMain: %s is not testscript.Main's command directory\n", bin)
		return 1
	}
	entries, err := os.ReadDir(bin)
	if err == nil {
		for _, e := range entries {
			if err = os.Remove(filepath.Join(bin, e.Name())); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = os.Remove(bin)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "TestMain: removing testscript's command directory: %v\n", err)
		return 1
	}
	return code
}

// TestScripts runs the CLI end to end from testdata/script/*.txtar.
//
// Extra commands:
//
//	code N CMD ARGS...   run CMD, which must exit with status N
//	install-admin FILE   copy FILE to a fresh admin directory that passes the
//	                     ownership check, as policy.toml if FILE ends in .toml
//	                     and whitelist.txt otherwise, and set $ADMIN to the
//	                     copy (root only)
//	mode PERM FILE       FILE's permission bits must be PERM (octal); Unix
//	                     only (Windows has no mode bits: it fails there)
//	concat DST FILE...   write the FILES one after another to DST (exec cat
//	                     is not on Windows)
//	mkfifo FILE          make a named pipe FILE; Unix only (Windows file
//	                     systems hold none: it fails there)
//
// Conditions:
//
//	[root]            the tests run as root (CI does)
//	[adminfiles]      install-admin works: root on Unix, the wineprefix
//	                  build under Wine (see safeAdminRoot)
//	[realadmincheck]  the admin-file check refuses a file this user wrote
//	                  in $WORK: always on Unix (it is below /tmp) and in a
//	                  release build on Windows (the user owns it), not in
//	                  the wineprefix build under Wine, which accepts the
//	                  prefix owner's files; TestUnsafeAdminFilesCLI shows
//	                  those cases on Windows without the tag (test.sh)
//	[noterminal]      the scripts' trustlaunch has no terminal to write to,
//	                  as when a browser starts it (CI; not a developer's
//	                  shell): a failing open tells its user, in $WORK/told
//	                  (toldInTest)
//
// $NOADMIN is an admin list that does not exist, in a directory
// $NOADMINDIR that does not exist either.
func TestScripts(t *testing.T) {
	safeRoot := safeAdminRoot(t)
	realCheck := realAdminCheck(t)
	noAdminDir := noAdminDir(t)
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		// The scripts' work directories go below a testtmp.Dir, which
		// removes them and fails the test if it cannot: testscript's own
		// removal ignores errors and, under Wine, leaves them all behind.
		WorkdirRoot: testtmp.Dir(t),
		Setup: func(env *testscript.Env) error {
			work := env.Getenv("WORK")
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(work, "config"))
			env.Setenv("XDG_STATE_HOME", filepath.Join(work, "state"))
			// The same on Windows, where the user list and the audit log
			// follow %AppData% and %LocalAppData% (platform/paths_windows.go).
			env.Setenv("APPDATA", filepath.Join(work, "config"))
			env.Setenv("LOCALAPPDATA", filepath.Join(work, "state"))
			env.Setenv("NO_COLOR", "1")
			// The "trustlaunch" of the scripts is this test binary; under
			// -race it would sleep 1 s at each successful exit.
			env.Setenv("GORACE", "atexit_sleep_ms=0")
			env.Setenv("NOADMINDIR", noAdminDir)
			env.Setenv("NOADMIN", filepath.Join(noAdminDir, "whitelist.txt"))
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				return os.Geteuid() == 0, nil
			case "adminfiles":
				return safeRoot != "", nil
			case "realadmincheck":
				return realCheck, nil
			case "noterminal":
				return tui.CheckTerminal("") != nil, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"code": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: code N CMD ARGS...")
				}
				want, err := strconv.Atoi(args[0])
				ts.Check(err)
				err = ts.Exec(args[1], args[2:]...)
				got := 0
				var ee *exec.ExitError
				switch {
				case errors.As(err, &ee):
					got = ee.ExitCode()
				case err != nil:
					ts.Fatalf("run %s: %v", args[1], err)
				}
				if got != want {
					ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
				}
			},
			"install-admin": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: install-admin FILE")
				}
				if safeRoot == "" {
					ts.Fatalf("install-admin needs root")
				}
				data, err := os.ReadFile(ts.MkAbs(args[0]))
				ts.Check(err)
				dir, err := os.MkdirTemp(safeRoot, "admin-")
				ts.Check(err)
				ts.Check(os.Chmod(dir, 0o755))
				// The name an administrator's file has: a policy is
				// policy.toml, anything else the admin list.
				name := "whitelist.txt"
				if filepath.Ext(args[0]) == ".toml" {
					name = "policy.toml"
				}
				path := filepath.Join(dir, name)
				ts.Check(os.WriteFile(path, data, 0o644))
				ts.Setenv("ADMIN", path)
			},
			"mode": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: mode PERM FILE")
				}
				if runtime.GOOS == "windows" {
					// Go reports 0666 or 0444 for every file there, so
					// neither mode nor ! mode would say anything.
					ts.Fatalf("mode: Windows has no permission bits; mark the line [!windows]")
				}
				want, err := strconv.ParseUint(args[0], 8, 32)
				ts.Check(err)
				fi, err := os.Stat(ts.MkAbs(args[1]))
				ts.Check(err)
				if got := uint64(fi.Mode().Perm()); (got == want) == neg {
					ts.Fatalf("%s has mode %o, want %o", args[1], got, want)
				}
			},
			"mkfifo": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: mkfifo FILE")
				}
				ts.Check(mkfifo(ts.MkAbs(args[0])))
			},
			"concat": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: concat DST FILE...")
				}
				var all []byte
				for _, f := range args[1:] {
					data, err := os.ReadFile(ts.MkAbs(f))
					ts.Check(err)
					all = append(all, data...)
				}
				ts.Check(os.WriteFile(ts.MkAbs(args[0]), all, 0o644))
			},
		},
	})
}

// noAdminDir returns a directory that does not exist, for an admin list
// that is absent: absence is prompt mode only when the directories above
// pass the ownership check. On Unix that is /nonexistent-trustlaunch-test
// (/ is root's; /tmp paths fail the check even when absent). Under Wine
// / is Z:\, which Wine shows as owned by the user running it only when that
// user owns /, so without root the wineprefix build would refuse it; a
// directory below a testtmp.Dir is the prefix owner's for every user.
func noAdminDir(t *testing.T) string {
	if runtime.GOOS != "windows" {
		return "/nonexistent-trustlaunch-test"
	}
	return filepath.Join(testtmp.Dir(t), "nonexistent-trustlaunch-test")
}

// realAdminCheck reports whether platform.CheckAdminFile refuses a file
// this user just wrote in a temporary directory. Only the wineprefix build
// under Wine accepts it (platform/wineprefix_on_windows.go); anywhere else
// an acceptance is a broken check and fails the test.
func realAdminCheck(t *testing.T) bool {
	probe := filepath.Join(testtmp.Dir(t), "probe.txt")
	if err := os.WriteFile(probe, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if platform.CheckAdminFile(probe) != nil {
		return true
	}
	if runtime.GOOS != "windows" {
		t.Fatalf("platform.CheckAdminFile accepted %s, a user's file in a temporary directory", probe)
	}
	t.Log("the wineprefix build accepts the Wine prefix owner's files: [realadmincheck] lines are not run; test.sh runs TestUnsafeAdminFilesCLI without the tag")
	return false
}

// safeAdminRoot returns a directory, removed after the test, whose whole path
// passes platform.CheckAdminFile, so scripts can exercise a valid admin list.
// t.TempDir is under /tmp, which is world-writable and rightly refused. It
// returns "" when not running as root; in CI (CI set) that is a failure, since
// the admin-list scripts would not run.
func safeAdminRoot(t *testing.T) string {
	if runtime.GOOS == "windows" {
		return safeAdminRootWindows(t)
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("the CLI tests must run as root in CI to check admin lists")
		}
		t.Log("not root: scripts marked [root] are skipped")
		return ""
	}
	// /run is root-owned 0755 on Linux and, unlike /root, other users can
	// traverse it, which the unreadable-file case needs.
	dir, err := os.MkdirTemp("/run", "trustlaunch-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	probe := filepath.Join(dir, "probe")
	if err := os.WriteFile(probe, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := platform.CheckAdminFile(probe); err != nil {
		t.Fatalf("no safe place for test admin lists: %v", err)
	}
	return dir
}

// safeAdminRootWindows: Windows has no root (os.Geteuid is -1), and an
// admin file passes the check there when only Administrators, SYSTEM and
// TrustedInstaller can write it, which a test cannot arrange. Under Wine the
// wineprefix build accepts the prefix owner's files, so a testtmp.Dir
// passes, and the admin-list scripts run. A build without the tag (test.sh's
// release-way run) has none; in CI the tagged run must have one.
func safeAdminRootWindows(t *testing.T) string {
	dir := testtmp.Dir(t)
	probe := filepath.Join(dir, "probe")
	if err := os.WriteFile(probe, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := platform.CheckAdminFile(probe); err != nil {
		if os.Getenv("CI") != "" && winePrefixBuild {
			t.Fatalf("no safe place for test admin lists in the wineprefix build: %v", err)
		}
		t.Logf("no admin directory passes the ownership check here (%v): scripts marked [adminfiles] are skipped", err)
		return ""
	}
	return dir
}

// TestRunInProcess covers what scripts cannot see cheaply: that run never
// writes to stdout on a usage error and that --help goes to stdout.
func TestRunInProcess(t *testing.T) {
	var out, errOut bytes.Buffer
	s := &stdio{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	if code := run(context.Background(), []string{"whitelist", "add", "--help"}, s); code != exitOK {
		t.Errorf("whitelist add --help = %d", code)
	}
	if out.Len() == 0 || errOut.Len() != 0 {
		t.Errorf("help: stdout %d bytes, stderr %q", out.Len(), errOut.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"open", "--no-tui", "--no-tui", "--", "x"}, s); code != exitUsage {
		t.Errorf("repeated flag = %d", code)
	}
	if out.Len() != 0 {
		t.Errorf("usage error wrote to stdout: %q", out.String())
	}
}

// TestMessageLinesInert: error, warning and hint lines are the last stop
// before the terminal; a control character from any library's error text is
// shown, not sent.
func TestMessageLinesInert(t *testing.T) {
	var errOut bytes.Buffer
	s := &stdio{stderr: &errOut}
	s.errorf("tls: %v", "valid for evil\x1b]52;c;eHg=\x07")
	s.warnf("%s", "bidi \u202e")
	s.hintf("already sanitized \\x1b stays")
	want := "trustlaunch: error: tls: valid for evil\\x1b]52;c;eHg=\\x07\n" +
		"trustlaunch: warning: bidi \\u202e\n" +
		"trustlaunch: hint: already sanitized \\x1b stays\n"
	if errOut.String() != want {
		t.Errorf("got %q\nwant %q", errOut.String(), want)
	}
}

// TestConnectListenExitCodes: a --listen value that is refused is a usage
// error (2); a listen that fails at run time, on a port already in use, is
// a failure (1).
func TestConnectListenExitCodes(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	env := func(k string) string {
		if k == "TRUSTLAUNCH_TOKEN" {
			return "listen-test-token"
		}
		return ""
	}
	for _, tc := range []struct {
		listen string
		code   int
		msg    string
	}{
		// The OS's own text for the errno (Linux "address already in
		// use", Windows its message for WSAEADDRINUSE, Wine "winapi error
		// #10048"), after the step and the address.
		{busy.Addr().String(), exitFailure, "listen on " + busy.Addr().String() + ": listen tcp " + busy.Addr().String() + ": bind: " + errAddrInUse.Error()},
		{"0.0.0.0:0", exitUsage, "wildcard"},
		{"localhost:0", exitUsage, "not a name"},
	} {
		var out, errOut bytes.Buffer
		s := &stdio{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errOut, getenv: env}
		args := []string{"connect", "--proxy", "127.0.0.1:1", "--transport", "connect", "--to", "127.0.0.1:2", "--listen", tc.listen}
		if code := run(t.Context(), args, s); code != tc.code || !strings.Contains(errOut.String(), tc.msg) {
			t.Errorf("connect --listen %s = %d, %q; want %d and %q", tc.listen, code, errOut.String(), tc.code, tc.msg)
		}
	}
}

func TestFixFor(t *testing.T) {
	denied := &fs.PathError{Op: "open", Path: "/etc/trustlaunch/whitelist.txt", Err: fs.ErrPermission}
	if fix := fixFor(denied); !strings.Contains(fix, "must be able to read") {
		t.Errorf("fixFor(permission denied) = %q", fix)
	}
	if fix := fixFor(errors.New("other")); fix != "" {
		t.Errorf("fixFor(other) = %q, want none", fix)
	}
}
