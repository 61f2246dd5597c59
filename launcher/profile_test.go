package launcher

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/trustlaunch/trustlaunch/internal/testadmin"
	"github.com/trustlaunch/trustlaunch/internal/testtmp"
	"github.com/trustlaunch/trustlaunch/platform"
)

// noAdminProfiles does not exist, nor does its directory.
const noAdminProfiles = "/nonexistent-trustlaunch-test/profiles.toml"

// acceptAdmin stands in for platform.CheckAdminFile on files under /tmp,
// which the real check rightly refuses; it still reports a missing file.
func acceptAdmin(p string) error {
	_, err := os.Stat(p)
	return err
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// exeName is the file name of program name on this OS: Windows finds a
// program in PATH only with an extension from PATHEXT.
func exeName(name string) string {
	if runtime.GOOS == "windows" {
		return name + ".exe"
	}
	return name
}

// testAbs makes a Unix absolute path absolute on this OS too (on Windows,
// on drive C:), for paths that must not exist.
func testAbs(p string) string {
	if runtime.GOOS == "windows" {
		return "C:" + p
	}
	return p
}

// fakePath makes a directory holding executables with the given names and
// puts it alone on PATH.
func fakePath(t *testing.T, names ...string) string {
	t.Helper()
	dir := testtmp.Dir(t)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, exeName(n)), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir)
	return dir
}

// builtinsHere are the built-in profiles of this OS, in Names order, and
// the programs among them (see builtinProfilesFor).
func builtinsHere() (names, programs []string) {
	if runtime.GOOS == "windows" {
		return []string{"none", "raw", "telnet", "wc3270", "ws3270"}, []string{"telnet", "wc3270", "ws3270"}
	}
	return []string{"c3270", "none", "raw", "s3270", "telnet", "tn5250", "x3270"}, []string{"c3270", "x3270", "s3270", "tn5250", "telnet"}
}

func TestBuiltinProfiles(t *testing.T) {
	ps, err := LoadProfiles(ProfileOptions{AdminFile: noAdminProfiles, UserFile: filepath.Join(testtmp.Dir(t), "none.toml")})
	if err != nil {
		t.Fatal(err)
	}
	names, programs := builtinsHere()
	if got := ps.Names(); !reflect.DeepEqual(got, names) {
		t.Errorf("Names() = %v, want %v", got, names)
	}
	bin := fakePath(t, programs...)
	type test struct {
		name string
		kind ProfileKind
		argv []string
	}
	// The x3270 suite's programs send TELNET NOPs (DefaultNOPSeconds).
	suite := func(program string) test {
		return test{program, ProfileCommand, []string{filepath.Join(bin, exeName(program)), "-xrm", program + ".nopSeconds: 60", "127.0.0.1:4321"}}
	}
	tests := []test{
		{"telnet", ProfileCommand, []string{filepath.Join(bin, exeName("telnet")), "127.0.0.1", "4321"}},
		{"raw", ProfileRaw, nil},
		{"none", ProfileNone, nil},
	}
	if runtime.GOOS == "windows" {
		tests = append(tests, suite("wc3270"), suite("ws3270"))
	} else {
		tests = append(tests, suite("c3270"), suite("x3270"), suite("s3270"),
			test{"tn5250", ProfileCommand, []string{filepath.Join(bin, "tn5250"), "127.0.0.1:4321"}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ps.Resolve(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != tt.kind || p.Source != "built-in" {
				t.Fatalf("kind %v source %q", p.Kind, p.Source)
			}
			argv, err := p.Command("127.0.0.1", 4321, "Payroll")
			if tt.kind != ProfileCommand {
				if err == nil {
					t.Fatalf("Command of a %v profile returned %q", tt.kind, argv)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(argv, tt.argv) {
				t.Fatalf("Command = %q, %v; want %q", argv, err, tt.argv)
			}
		})
	}
}

func TestResolveUnknown(t *testing.T) {
	ps, err := LoadProfiles(ProfileOptions{AdminFile: noAdminProfiles, UserFile: filepath.Join(testtmp.Dir(t), "none.toml")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ps.Resolve("payroll\x1b[2J")
	if err == nil {
		t.Fatal("resolved an unknown profile")
	}
	names, _ := builtinsHere()
	want := `unknown profile "payroll\x1b[2J"; available: ` + strings.Join(names, ", ")
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestMissingEmulator(t *testing.T) {
	dir := testtmp.Dir(t)
	abs := testAbs("/nonexistent-trustlaunch-test/bin/emu")
	user := writeFile(t, dir, "profiles.toml", `
[profile.mine]
command = ["my-emulator", "{host}", "{port}"]

[profile.abs]
command = ["`+filepath.ToSlash(abs)+`", "{host}:{port}"]
`)
	ps, err := LoadProfiles(ProfileOptions{AdminFile: noAdminProfiles, UserFile: user})
	if err != nil {
		t.Fatal(err)
	}
	fakePath(t) // an empty PATH directory
	// The error says what is missing; the advice is its Hint, the one
	// method the CLI finds advice by ("trustlaunch: hint: ..."), so it is
	// not also glued to the error.
	type test struct {
		profile string
		pkg     string
		want    string // the whole error, or a part of it
		hint    string // a part of the hint; "": none
	}
	tests := []test{
		{"mine", "", `profile "mine": "my-emulator" not found in PATH`, ""},
		{"abs", "", strconv.Quote(filepath.ToSlash(abs)) + " is not an executable file", ""},
	}
	if runtime.GOOS == "windows" {
		// No Debian package on Windows: the hint names the download or
		// the Windows feature (TestInstallHint has the wording).
		tests = append(tests,
			test{"wc3270", "", `profile "wc3270": "wc3270" not found in PATH`, "install the x3270 suite for Windows"},
			test{"ws3270", "", "not found in PATH", "which provides ws3270.exe"},
			test{"telnet", "", "not found in PATH", `turn on the Windows feature "Telnet Client"`})
	} else {
		tests = append(tests,
			test{"c3270", "c3270", `profile "c3270": "c3270" not found in PATH`, "install the c3270 package (Debian, Ubuntu: sudo apt install c3270)"},
			test{"x3270", "x3270", "not found in PATH", "sudo apt install x3270"},
			test{"s3270", "s3270", "not found in PATH", "sudo apt install s3270"},
			test{"tn5250", "tn5250", "not found in PATH", "sudo apt install tn5250"},
			test{"telnet", "telnet", "not found in PATH", "sudo apt install telnet"})
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			p, err := ps.Resolve(tt.profile)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Command("127.0.0.1", 1000, "s")
			var me *MissingCommandError
			if !errors.As(err, &me) {
				t.Fatalf("error %T %v is not a *MissingCommandError", err, err)
			}
			if me.Package != tt.pkg || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q (package %q), want %q (package %q)", err, me.Package, tt.want, tt.pkg)
			}
			hint := ""
			if h, ok := errors.AsType[interface {
				error
				Hint() string
			}](err); ok {
				hint = h.Hint()
			}
			switch {
			case tt.hint == "" && hint != "":
				t.Errorf("an unknown command got a hint: %q", hint)
			case tt.hint != "" && !strings.Contains(hint, tt.hint):
				t.Errorf("hint %q, want it to hold %q", hint, tt.hint)
			case tt.hint != "" && strings.Contains(err.Error(), tt.hint):
				t.Errorf("error %q repeats its hint", err)
			}
		})
	}
}

func TestProfilePlaceholders(t *testing.T) {
	dir := testtmp.Dir(t)
	user := writeFile(t, dir, "profiles.toml", `
[profile.titled]
command = ["emu", "-title", "{session}", "--title={session} on {host}", "{host}:{port}", "}literal"]
`)
	ps, err := LoadProfiles(ProfileOptions{AdminFile: noAdminProfiles, UserFile: user})
	if err != nil {
		t.Fatal(err)
	}
	bin := fakePath(t, "emu")
	p, err := ps.Resolve("titled")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		session string
		want    []string
	}{
		{"Payroll (TN3270)", []string{"-title", "Payroll _TN3270_", "--title=Payroll _TN3270_ on 127.0.0.1", "127.0.0.1:2323", "}literal"}},
		{"a#b [x] (y)", []string{"-title", "a_b _x_ _y_", "--title=a_b _x_ _y_ on 127.0.0.1", "127.0.0.1:2323", "}literal"}},
		{"ops@host:1, v2.0_rc-1+x", []string{"-title", "ops@host:1, v2.0_rc-1+x", "--title=ops@host:1, v2.0_rc-1+x on 127.0.0.1", "127.0.0.1:2323", "}literal"}},
		{"a\x1b[2J\nb", []string{"-title", "a__2J_b", "--title=a__2J_b on 127.0.0.1", "127.0.0.1:2323", "}literal"}},
		{"-e /bin/sh", []string{"-title", "_-e _bin_sh", "--title=_-e _bin_sh on 127.0.0.1", "127.0.0.1:2323", "}literal"}},
		{"+xrm", []string{"-title", "_+xrm", "--title=_+xrm on 127.0.0.1", "127.0.0.1:2323", "}literal"}},
		{"{host} $(id) `id` ; rm -rf ~", []string{"-title", "_host_ __id_ _id_ _ rm -rf _", "--title=_host_ __id_ _id_ _ rm -rf _ on 127.0.0.1", "127.0.0.1:2323", "}literal"}},
		{`x"&calc&%PATH%^|`, []string{"-title", "x__calc__PATH___", "--title=x__calc__PATH___ on 127.0.0.1", "127.0.0.1:2323", "}literal"}},
		{"Région – Paie\u202e", []string{"-title", "Région _ Paie_", "--title=Région _ Paie_ on 127.0.0.1", "127.0.0.1:2323", "}literal"}},
		{strings.Repeat("é", 100), []string{"-title", strings.Repeat("é", 80), "--title=" + strings.Repeat("é", 80) + " on 127.0.0.1", "127.0.0.1:2323", "}literal"}},
	}
	if runtime.GOOS == "windows" {
		// On Windows {session} is ASCII only (sessionArg): a program that
		// reads its command line in the ANSI code page would garble the rest.
		tests[len(tests)-2].want = []string{"-title", "R_gion _ Paie_", "--title=R_gion _ Paie_ on 127.0.0.1", "127.0.0.1:2323", "}literal"}
		tests[len(tests)-1].want = []string{"-title", strings.Repeat("_", 80), "--title=" + strings.Repeat("_", 80) + " on 127.0.0.1", "127.0.0.1:2323", "}literal"}
	}
	for _, tt := range tests {
		t.Run(safeName(tt.session), func(t *testing.T) {
			argv, err := p.Command("127.0.0.1", 2323, tt.session)
			if err != nil {
				t.Fatal(err)
			}
			want := append([]string{filepath.Join(bin, exeName("emu"))}, tt.want...)
			if !reflect.DeepEqual(argv, want) {
				t.Errorf("Command = %q\nwant      %q", argv, want)
			}
		})
	}
	if _, err := p.Command("", 2323, "s"); err == nil {
		t.Error("accepted an empty host")
	}
	if _, err := p.Command("127.0.0.1", 0, "s"); err == nil {
		t.Error("accepted port 0")
	}
}

// safeName shortens a test input for a subtest name.
func safeName(s string) string {
	if r := []rune(s); len(r) > 20 {
		return string(r[:20])
	}
	return s
}

// TestSessionArgASCIIOnly: on Windows, {session} keeps ASCII only; letters
// such as U+02BA, which best-fit mapping turns into a quote, do not pass.
func TestSessionArgASCIIOnly(t *testing.T) {
	for in, want := range map[string]string{
		"Payroll (TN3270)":        "Payroll _TN3270_",
		"Région \u02bax\u02ba -y": "R_gion _x_ -y",
		"\uff02quoted\uff02":      "_quoted_",
	} {
		if got := sessionArg(in, true); got != want {
			t.Errorf("sessionArg(%q, ascii) = %q, want %q", in, got, want)
		}
	}
	if got := sessionArg("Région", false); got != "Région" {
		t.Errorf("sessionArg(Région) = %q: letters are kept elsewhere", got)
	}
}

// TestSessionArgCharacterSet: whatever the session name, {session} holds only
// letters, digits, space and ._-:,@+: "#" starts a comment and ()[] are
// syntax in a shell, so a value that kept them could cut or break an admin's
// "sh -c" profile. Every rune of the BMP and a few beyond goes through, alone
// and between letters.
func TestSessionArgCharacterSet(t *testing.T) {
	allowed := func(r rune, asciiOnly bool) bool {
		if asciiOnly && r > unicode.MaxASCII {
			return false
		}
		return unicode.IsLetter(r) || unicode.IsDigit(r) || r == ' ' || r == '_' || strings.ContainsRune("._-:,@+", r)
	}
	for _, asciiOnly := range []bool{false, true} {
		for r := rune(0); r <= 0x10ffff; r++ {
			if r > 0xffff && r%97 != 0 {
				continue // sample the planes beyond the BMP
			}
			for _, in := range []string{string(r), "a" + string(r) + "b"} {
				out := sessionArg(in, asciiOnly)
				for _, got := range out {
					if !allowed(got, asciiOnly) {
						t.Fatalf("sessionArg(%q, %v) = %q: %q is outside letters, digits, space and ._-:,@+", in, asciiOnly, out, got)
					}
				}
			}
		}
	}
}

func TestIsBatchFile(t *testing.T) {
	for path, want := range map[string]bool{
		`C:\tools\wc3270.exe`: false, `C:\tools\run.cmd`: true, `C:\tools\RUN.BAT`: true,
		`C:\tools\run.cmd.`: true, `C:\tools\run.bat . .`: true, `C:\tools\cmd`: false, `/usr/bin/c3270`: false,
	} {
		if got := isBatchFile(path); got != want {
			t.Errorf("isBatchFile(%q) = %v", path, got)
		}
	}
}

func TestProfilePrecedence(t *testing.T) {
	// Three built-ins of this OS: one the administrator redefines, one the
	// user does, one left alone.
	adminsBuiltin, usersBuiltin, untouched := "c3270", "x3270", "s3270"
	if runtime.GOOS == "windows" {
		adminsBuiltin, usersBuiltin, untouched = "wc3270", "telnet", "ws3270"
	}
	ibm := testAbs("/opt/ibm/c3270")
	dir := testtmp.Dir(t)
	admin := writeFile(t, dir, "admin.toml", `# pushed by the administrators
[profile.`+adminsBuiltin+`]
command = ["`+filepath.ToSlash(ibm)+`", "-secure", "{host}:{port}"]

[profile.payroll]
command = ["c3270", "-model", "3279-4-E", "{host}:{port}"]
`)
	user := writeFile(t, dir, "user.toml", `[profile.payroll]
command = ["sh", "-c", "evil"]

[profile.`+adminsBuiltin+`]
command = ["my-c3270", "{host}:{port}"]

[profile.`+usersBuiltin+`]
command = ["x3270", "-efont", "3270-20", "{host}:{port}"]

[profile.mine]
command = ["telnet", "{host}", "{port}"]
`)
	ps, err := LoadProfiles(ProfileOptions{AdminFile: admin, UserFile: user, checkAdmin: acceptAdmin})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, argv0, source string
	}{
		{adminsBuiltin, filepath.ToSlash(ibm), admin + ":2"}, // admin overrides the built-in; the user's copy is ignored
		{"payroll", "c3270", admin + ":5"},                   // admin wins over the user
		{usersBuiltin, "x3270", user + ":7"},                 // the user overrides a built-in
		{"mine", "telnet", user + ":10"},                     // the user adds a name
		{untouched, untouched, "built-in"},                   // untouched
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ps.Resolve(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if p.Argv[0] != tt.argv0 || p.Source != tt.source {
				t.Errorf("argv[0] %q from %q, want %q from %q", p.Argv[0], p.Source, tt.argv0, tt.source)
			}
		})
	}
	if len(ps.Warnings) != 2 {
		t.Fatalf("warnings %q, want one each for payroll and c3270", ps.Warnings)
	}
	for _, w := range ps.Warnings {
		if !strings.Contains(w, user+":") || !strings.Contains(w, "the administrator defines it at "+admin+":") {
			t.Errorf("warning %q does not name both files", w)
		}
	}
}

func TestUnsafeAdminProfiles(t *testing.T) {
	// The real check: a user's temporary file.
	testadmin.RequireRealCheck(t)
	admin := writeFile(t, testtmp.Dir(t), "profiles.toml", "[profile.x]\ncommand = [\"x\"]\n")
	_, err := LoadProfiles(ProfileOptions{AdminFile: admin, UserFile: noAdminProfiles})
	var ue *platform.UnsafeFileError
	if !errors.As(err, &ue) {
		t.Fatalf("error %T %v is not an *UnsafeFileError", err, err)
	}
	if !strings.Contains(err.Error(), "admin profiles: "+admin) || ue.Fix == "" {
		t.Errorf("error %q does not name the file, or no fix (%q)", err, ue.Fix)
	}
}

func TestProfileFileErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		line    int
		want    string
	}{
		{"unknown top-level key", "[profile.a]\ncommand = [\"a\"]\n\n[profiles.b]\ncommand = [\"b\"]\n", 4, `unknown key "profiles"`},
		{"unknown top-level value", "\n\ndebug = true\n", 3, `unknown key "debug"`},
		{"unknown key in a profile", "[profile.a]\ncommand = [\"a\"]\nshell = true\n", 3, `profile "a": unknown key "shell"`},
		{"unknown placeholder", "[profile.a]\n\ncommand = [\"a\", \"--user={user}\"]\n", 3, `profile "a": command[1] has unknown placeholder "{user}"`},
		{"unclosed placeholder", "[profile.a]\ncommand = [\"a\", \"{host\"]\n", 2, `opens no placeholder`},
		{"placeholder in argv0", "[profile.a]\ncommand = [\"{session}\"]\n", 2, "the program must be fixed"},
		{"relative argv0", "[profile.a]\ncommand = [\"bin/c3270\", \"{host}:{port}\"]\n", 2, "is a relative path"},
		{"dot-slash argv0", "[profile.a]\ncommand = [\"./c3270\"]\n", 2, "is a relative path"},
		{"empty command", "[profile.a]\ncommand = []\n", 2, "command is empty"},
		{"no command", "[profile.a]\n", 1, "no command"},
		{"command not an array", "[profile.a]\ncommand = \"c3270 {host}\"\n", 2, "array of strings"},
		{"command of numbers", "[profile.a]\ncommand = [1, 2]\n", 2, "array of strings"},
		{"profile name with slash", "[profile.\"a/b\"]\ncommand = [\"a\"]\n", 1, "path separator"},
		{"profile name with dotdot", "[profile.\"a..b\"]\ncommand = [\"a\"]\n", 1, `contains ".."`},
		{"profile name upper case", "[profile.Payroll]\ncommand = [\"a\"]\n", 1, "not a profile name"},
		{"redefining raw", "[profile.raw]\ncommand = [\"sh\"]\n", 1, `profile "raw": is built in`},
		{"profile not a table", "profile = 3\n", 1, "[profile.NAME]"},
		{"array of tables", "[[profile]]\ncommand = [\"a\"]\n", 1, "[profile.NAME]"},
		{"profile value not a table", "[profile]\na = 1\n", 2, "must be a table"},
		{"syntax error", "[profile.a]\ncommand = [\"a\"\n", 2, "expected a comma"},
		{"duplicate key", "[profile.a]\ncommand = [\"a\"]\ncommand = [\"b\"]\n", 3, "already been defined"},
		{"terminal not a boolean", "[profile.a]\ncommand = [\"a\"]\nterminal = \"yes\"\n", 3, "terminal must be true or false"},
		{"escape in a key", "[profile.a]\ncommand = [\"a\"]\n\"\\u001b[2J\" = 1\n", 3, `unknown key "\x1b[2J"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, testtmp.Dir(t), "profiles.toml", tt.content)
			ps, err := LoadProfiles(ProfileOptions{AdminFile: noAdminProfiles, UserFile: file})
			if err == nil {
				// A problem inside one profile stops only a launch that
				// names it; the others load.
				if len(ps.Problems) == 0 {
					t.Fatal("no error and no problem")
				}
				err = ps.Problems[0]
			}
			var pe *ProfileFileError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *ProfileFileError", err, err)
			}
			if pe.Line != tt.line || pe.Path != file {
				t.Errorf("at %s:%d, want %s:%d (%v)", pe.Path, pe.Line, file, tt.line, err)
			}
			prefix := file + ":" + strconv.Itoa(tt.line) + ": "
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want prefix %q and %q", err, prefix, tt.want)
			}
			if strings.ContainsAny(err.Error(), "\x1b\n") {
				t.Errorf("error carries a control character: %q", err)
			}
		})
	}
}

func TestProfileFileForms(t *testing.T) {
	// Dotted keys and inline tables are TOML too; the profile's line is
	// then the command's.
	file := writeFile(t, testtmp.Dir(t), "profiles.toml", `
profile.dotted.command = ["a", "{host}:{port}"]

[profile]
inline = { command = ["b", "{host}"] }
`)
	ps, err := LoadProfiles(ProfileOptions{AdminFile: noAdminProfiles, UserFile: file})
	if err != nil {
		t.Fatal(err)
	}
	for name, argv0 := range map[string]string{"dotted": "a", "inline": "b"} {
		p, err := ps.Resolve(name)
		if err != nil || p.Argv[0] != argv0 || !strings.HasPrefix(p.Source, file+":") || strings.HasSuffix(p.Source, ":0") {
			t.Errorf("Resolve(%q) = %+v, %v", name, p, err)
		}
	}
}

// TestProfileTerminal checks which profiles need a terminal: the built-in
// terminal emulators do, x3270 (its own window) and s3270 (scripted) do not,
// and a file's profile says so with terminal = true.
func TestProfileTerminal(t *testing.T) {
	dir := testtmp.Dir(t)
	user := writeFile(t, dir, "user.toml", "[profile.tty]\ncommand = [\"c3270\", \"{host}:{port}\"]\nterminal = true\n[profile.gui]\ncommand = [\"x3270\", \"{host}:{port}\"]\n")
	ps, err := LoadProfiles(ProfileOptions{AdminFile: "/nonexistent-trustlaunch-test/profiles.toml", UserFile: user})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"c3270": true, "tn5250": true, "telnet": true, "x3270": false, "s3270": false, "tty": true, "gui": false}
	if runtime.GOOS == "windows" {
		// wc3270 runs in a console; ws3270 is scripted.
		want = map[string]bool{"wc3270": true, "telnet": true, "ws3270": false, "tty": true, "gui": false}
	}
	for name, want := range want {
		p, err := ps.Resolve(name)
		if err != nil {
			t.Fatal(err)
		}
		if p.Terminal != want {
			t.Errorf("profile %s: Terminal = %v, want %v", name, p.Terminal, want)
		}
	}
}

// TestBuiltinProfilesWindows checks the Windows built-ins from any OS: the
// x3270 suite's Windows programs, with the same TELNET NOP setting as their
// Unix counterparts, and no Unix-only program.
func TestBuiltinProfilesWindows(t *testing.T) {
	ps := builtinProfilesFor("windows")
	tests := []struct {
		name     string
		argv     []string
		terminal bool
	}{
		{"wc3270", []string{"wc3270", "-xrm", "wc3270.nopSeconds: 60", "{host}:{port}"}, true},  // the console emulator
		{"ws3270", []string{"ws3270", "-xrm", "ws3270.nopSeconds: 60", "{host}:{port}"}, false}, // scripted, no screen
		{"telnet", []string{"telnet", "{host}", "{port}"}, true},
	}
	for _, tt := range tests {
		p := ps[tt.name]
		if p == nil {
			t.Errorf("no built-in %s on Windows", tt.name)
			continue
		}
		if p.Kind != ProfileCommand || p.Source != "built-in" || p.Terminal != tt.terminal || !reflect.DeepEqual(p.Argv, tt.argv) {
			t.Errorf("%s = %+v, want argv %q terminal %v", tt.name, p, tt.argv, tt.terminal)
		}
	}
	for _, unix := range []string{"x3270", "c3270", "s3270", "tn5250"} {
		if ps[unix] != nil {
			t.Errorf("built-in %s on Windows, where the x3270 suite ships no such program", unix)
		}
	}
	for _, other := range []string{"linux", "darwin"} {
		for _, win := range []string{"wc3270", "ws3270"} {
			if builtinProfilesFor(other)[win] != nil {
				t.Errorf("built-in %s on %s", win, other)
			}
		}
	}
}

// TestInstallHint: a missing emulator names what provides it, in the terms
// of the OS (a Debian package on Linux, the x3270 suite's Windows installer
// or a Windows optional feature on Windows), and nothing for a program we
// do not know.
func TestInstallHint(t *testing.T) {
	tests := []struct {
		goos, command, want string
	}{
		{"linux", "c3270", "install the c3270 package (Debian, Ubuntu: sudo apt install c3270)"},
		{"linux", "/usr/local/bin/c3270", "install the c3270 package (Debian, Ubuntu: sudo apt install c3270)"},
		{"windows", "wc3270", "install the x3270 suite for Windows (wc3270-VERSION-setup.exe from https://x3270.bgp.nu/download.html), which provides wc3270.exe"},
		{"windows", `C:\Program Files\wc3270\ws3270.exe`, "install the x3270 suite for Windows (wc3270-VERSION-setup.exe from https://x3270.bgp.nu/download.html), which provides ws3270.exe"},
		{"windows", "WC3270.EXE", "which provides wc3270.exe"},
		{"windows", "telnet", `turn on the Windows feature "Telnet Client" (as an administrator: dism /online /Enable-Feature /FeatureName:TelnetClient)`},
		{"windows", "c3270", ""}, // no Windows c3270: wc3270 is its counterpart, but the profile names c3270
		{"linux", "wc3270", ""},
		{"linux", "my-emulator", ""},
	}
	for _, tt := range tests {
		got := installHint(tt.goos, tt.command)
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("installHint(%s, %q) = %q, want %q", tt.goos, tt.command, got, tt.want)
		}
	}
}

// freePort returns a loopback port that was free a moment ago.
//
// The port lies below the ephemeral ranges (32768 and up on Linux, 49152
// on Windows): a port the kernel picks for :0 is one it also gives to
// outgoing connections, and with the suite's packages running side by side
// another test's connection took it between this check and the launch's
// bind ("bind: address already in use" in TestLaunchListenPort).
func freePort(t *testing.T) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no free port in 20000-31999 after 100 tries")
	return 0
}

// TestListenPortAdmin: an administrator's profile fixes the local port, for
// an emulator that reads host and port from its own session file (IBM
// PCOMM, ACS); the tunnel's local end then listens there, on 127.0.0.1.
func TestListenPortAdmin(t *testing.T) {
	port := freePort(t)
	admin := writeFile(t, testtmp.Dir(t), "profiles.toml", fmt.Sprintf(`
[profile.pcomm]
command = ['pcsws.exe', 'C:\ProgramData\IBM\Personal Communications\payroll.ws']
listen_port = %d
`, port))
	ps, err := LoadProfiles(ProfileOptions{AdminFile: admin, UserFile: noAdminProfiles, checkAdmin: acceptAdmin})
	if err != nil {
		t.Fatal(err)
	}
	p, err := ps.Resolve("pcomm")
	if err != nil {
		t.Fatal(err)
	}
	if p.ListenPort != port {
		t.Fatalf("ListenPort = %d, want %d", p.ListenPort, port)
	}
	ln, err := p.Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if got := ln.Addr().String(); got != fmt.Sprintf("127.0.0.1:%d", port) {
		t.Errorf("listening on %s, want 127.0.0.1:%d", got, port)
	}

	// A profile without listen_port gets a free port from the system.
	c, err := ps.Resolve("telnet")
	if err != nil {
		t.Fatal(err)
	}
	ln2, err := c.Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	if a := ln2.Addr().(*net.TCPAddr); !a.IP.IsLoopback() || a.Port == port || a.Port == 0 {
		t.Errorf("a profile without listen_port listens on %s", a)
	}
}

// TestListenPortInUse: a fixed port that another program holds refuses the
// launch with one line naming the port, the profile and where it is set;
// it never falls back to another port, which the emulator's session file
// would not name.
func TestListenPortInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	admin := writeFile(t, testtmp.Dir(t), "profiles.toml", fmt.Sprintf("[profile.acs]\ncommand = [\"acslaunch_win-64.exe\", \"/plugin=5250\"]\nlisten_port = %d\n", port))
	ps, err := LoadProfiles(ProfileOptions{AdminFile: admin, UserFile: noAdminProfiles, checkAdmin: acceptAdmin})
	if err != nil {
		t.Fatal(err)
	}
	p, err := ps.Resolve("acs")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := p.Listen()
	if err == nil {
		ln.Close()
		t.Fatalf("listened on port %d, which another program holds", port)
	}
	want := fmt.Sprintf(`profile "acs": local port %d (listen_port, %s:3) is in use by another program; close it, or ask your administrator to choose another port in profiles.toml and in the emulator's session file`, port, admin)
	if !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Errorf("error\n%q\nwant one line starting\n%q", err, want)
	}
}

// TestListenPortUserRefused: listen_port only in the administrator's
// profiles.toml. A user's file that sets it is an error naming FILE:LINE,
// the profile and why, never a profile with a dynamic port instead.
func TestListenPortUserRefused(t *testing.T) {
	user := writeFile(t, testtmp.Dir(t), "profiles.toml", "[profile.pcomm]\ncommand = [\"pcsws.exe\", \"payroll.ws\"]\nlisten_port = 23023\n")
	ps, err := LoadProfiles(ProfileOptions{AdminFile: noAdminProfiles, UserFile: user})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ps.Resolve("pcomm")
	want := user + `:3: profile "pcomm": listen_port is allowed only in the administrator's profiles.toml (` + noAdminProfiles + `): a fixed port is shared by every user of this machine`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %v, want %q", err, want)
	}
}

func TestListenPortInvalid(t *testing.T) {
	for _, tt := range []struct{ value, want string }{
		{"0", "listen_port must be a port from 1 to 65535"},
		{"65536", "listen_port must be a port from 1 to 65535"},
		{"-1", "listen_port must be a port from 1 to 65535"},
		{`"23023"`, "listen_port must be a number"},
		{"23023.5", "listen_port must be a number"},
	} {
		admin := writeFile(t, testtmp.Dir(t), "profiles.toml", "[profile.pcomm]\ncommand = [\"pcsws.exe\"]\nlisten_port = "+tt.value+"\n")
		ps, err := LoadProfiles(ProfileOptions{AdminFile: admin, UserFile: noAdminProfiles, checkAdmin: acceptAdmin})
		if err == nil {
			_, err = ps.Resolve("pcomm")
		}
		if err == nil || !strings.Contains(err.Error(), admin+`:3: profile "pcomm": `+tt.want) {
			t.Errorf("listen_port = %s: error %v, want %q", tt.value, err, tt.want)
		}
	}
}
