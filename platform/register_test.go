package platform

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// These tests cover the pure parts of registration, on every OS: the
// desktop entry's Exec quoting (Linux) and the registry command line
// (Windows) are easy to get subtly wrong and are what a crafted path or
// link would attack.

func TestDesktopExecArg(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  string
	}{
		{in: "/usr/bin/trustlaunch", want: "/usr/bin/trustlaunch"},
		{in: "/opt/trust-launch_1.2/bin/tl+x,y:z@w=v", want: "/opt/trust-launch_1.2/bin/tl+x,y:z@w=v"},
		{in: "/home/ünïcode/bin/trustlaunch", want: "/home/ünïcode/bin/trustlaunch"},
		// Percent is the field code escape, quoted or not.
		{in: "/opt/100%/trustlaunch", want: "/opt/100%%/trustlaunch"},
		{in: "/opt/%u/trustlaunch", want: "/opt/%%u/trustlaunch"},
		// Reserved characters force double quotes.
		{in: "/opt/My Apps/trustlaunch", want: `"/opt/My Apps/trustlaunch"`},
		{in: "/opt/a'b/trustlaunch", want: `"/opt/a'b/trustlaunch"`},
		{in: "/opt/a>b<c/x", want: `"/opt/a>b<c/x"`},
		{in: "/opt/~user/x", want: `"/opt/~user/x"`},
		{in: "/opt/a|b&c;d/x", want: `"/opt/a|b&c;d/x"`},
		{in: "/opt/a*b?c#d(e)/x", want: `"/opt/a*b?c#d(e)/x"`},
		{in: "/opt/100% sure/x", want: `"/opt/100%% sure/x"`},
		// Inside quotes, " ` $ \ are backslash-escaped; then the string
		// escape doubles every backslash: a literal backslash becomes four
		// (the specification's own example) and "$" becomes \\$.
		{in: `/opt/a"b/x`, want: `"/opt/a\\"b/x"`},
		{in: "/opt/a`b/x", want: "\"/opt/a\\\\`b/x\""},
		{in: "/opt/$HOME/x", want: `"/opt/\\$HOME/x"`},
		{in: `/opt/a\b/x`, want: `"/opt/a\\\\b/x"`},
		{in: "", wantErr: "empty"},
		{in: "/opt/a\nb", wantErr: "control character"},
		{in: "/opt/a\tb", wantErr: "control character"},
		{in: "/opt/a\x7fb", wantErr: "control character"},
		{in: "/opt/a\xffb", wantErr: "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := desktopExecArg(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("desktopExecArg(%q) = %q, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("desktopExecArg(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			// Whatever the quoting, reading the line back gives the path.
			prog, open, err := execTarget(got + " open -- %u")
			if err != nil || prog != tt.in || !open {
				t.Errorf("execTarget(%q) = %q, %v, %v; want %q, true", got+" open -- %u", prog, open, err, tt.in)
			}
		})
	}
}

func TestDesktopExecLine(t *testing.T) {
	got, err := desktopExecLine("/usr/bin/trustlaunch")
	if want := "/usr/bin/trustlaunch open -- %u"; err != nil || got != want {
		t.Errorf("desktopExecLine = %q, %v; want %q", got, err, want)
	}
	got, err = desktopExecLine("/home/u/My Tools/trustlaunch")
	if want := `"/home/u/My Tools/trustlaunch" open -- %u`; err != nil || got != want {
		t.Errorf("desktopExecLine = %q, %v; want %q", got, err, want)
	}
	for _, bad := range []string{"trustlaunch", "./trustlaunch", `C:\trustlaunch.exe`, "/a\nb"} {
		if got, err := desktopExecLine(bad); err == nil {
			t.Errorf("desktopExecLine(%q) = %q, want an error", bad, got)
		}
	}
}

func TestSplitDesktopExec(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "/usr/bin/trustlaunch open -- %u", want: []string{"/usr/bin/trustlaunch", "open", "--", "%u"}},
		{in: "  /usr/bin/x\t%u  ", want: []string{"/usr/bin/x", "%u"}},
		{in: `"/opt/My Apps/x" open -- %u`, want: []string{"/opt/My Apps/x", "open", "--", "%u"}},
		{in: `"/opt/a\\"b" %u`, want: []string{`/opt/a"b`, "%u"}},
		{in: `"/opt/a\\\\b" %u`, want: []string{`/opt/a\b`, "%u"}},
		{in: `"/opt/\\$x" %u`, want: []string{`/opt/$x`, "%u"}},
		// String escapes apply before the quoting layer, so an escaped
		// space still separates arguments, as in GLib.
		{in: `/opt/a\sb %u`, want: []string{"/opt/a", "b", "%u"}},
		{in: `"/opt/a\sb" %u`, want: []string{"/opt/a b", "%u"}},
		{in: `env A="x y" /bin/z %U`, want: []string{"env", "A=x y", "/bin/z", "%U"}},
		{in: `"/opt/x %u`, wantErr: true},
		{in: "   ", wantErr: true},
	}
	for _, tt := range tests {
		got, err := splitDesktopExec(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("splitDesktopExec(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || strings.Join(got, "\x00") != strings.Join(tt.want, "\x00") {
			t.Errorf("splitDesktopExec(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestExecTarget(t *testing.T) {
	tests := []struct {
		in       string
		program  string
		openURL  bool
		parseErr bool
	}{
		{in: "/usr/bin/trustlaunch open -- %u", program: "/usr/bin/trustlaunch", openURL: true},
		{in: "/opt/100%%/trustlaunch open -- %u", program: "/opt/100%/trustlaunch", openURL: true},
		{in: "/usr/bin/trustlaunch open %u", program: "/usr/bin/trustlaunch"},
		{in: "/usr/bin/trustlaunch open -- %U", program: "/usr/bin/trustlaunch"},
		{in: "/usr/bin/trustlaunch open -- %u --extra", program: "/usr/bin/trustlaunch"},
		{in: "/usr/bin/other %u", program: "/usr/bin/other"},
		{in: `"/unterminated`, parseErr: true},
	}
	for _, tt := range tests {
		program, openURL, err := execTarget(tt.in)
		if (err != nil) != tt.parseErr || program != tt.program || openURL != tt.openURL {
			t.Errorf("execTarget(%q) = %q, %v, %v; want %q, %v, error %v", tt.in, program, openURL, err, tt.program, tt.openURL, tt.parseErr)
		}
	}
}

// FuzzDesktopExecRoundTrip checks that every path desktopExecLine accepts
// reads back as exactly that path followed by "open -- %u", and that the
// line never spans lines of the desktop file.
func FuzzDesktopExecRoundTrip(f *testing.F) {
	for _, s := range []string{"/usr/bin/trustlaunch", "/opt/My Apps/x", `/a\b"c$d` + "`e", "/100%/%u", "/~'#;|&<>()*?", "/ünï"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		p = "/" + p
		line, err := desktopExecLine(p)
		if err != nil {
			if utf8.ValidString(p) && !strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("desktopExecLine(%q) refused a valid path: %v", p, err)
			}
			return
		}
		if strings.ContainsAny(line, "\r\n") {
			t.Fatalf("desktopExecLine(%q) = %q spans lines", p, line)
		}
		program, openURL, err := execTarget(line)
		if err != nil || program != p || !openURL {
			t.Fatalf("execTarget(desktopExecLine(%q) = %q) = %q, %v, %v", p, line, program, openURL, err)
		}
	})
}

func TestParseDesktopFile(t *testing.T) {
	data := "# comment\n[Other]\nExec=/wrong\n\n[Desktop Entry]\r\nType = Application\r\nName[de]=x\nName=trustlaunch\nExec=/first %u\nExec=/second %u\nMimeType=text/plain; x-scheme-handler/trustlaunch ;\n[Desktop Action new]\nExec=/action\n"
	f := parseDesktopFile([]byte(data))
	if f["Exec"] != "/first %u" || f["Type"] != "Application" || f["Name"] != "trustlaunch" {
		t.Errorf("parseDesktopFile = %q", f)
	}
	if !f.hasMIME("x-scheme-handler/trustlaunch") || f.hasMIME("x-scheme-handler/trust") {
		t.Errorf("hasMIME wrong for %q", f["MimeType"])
	}
}

func TestDesktopEntry(t *testing.T) {
	e := desktopEntry("/usr/bin/trustlaunch open -- %u", true)
	f := parseDesktopFile([]byte(e))
	for k, want := range map[string]string{
		"Type": "Application", "Exec": "/usr/bin/trustlaunch open -- %u", "Terminal": "false",
		"NoDisplay": "true", "MimeType": "x-scheme-handler/trustlaunch;", registerMarker: markerValue,
	} {
		if f[k] != want {
			t.Errorf("%s = %q, want %q", k, f[k], want)
		}
	}
	if strings.Contains(desktopEntry("x", false), registerMarker) {
		t.Errorf("entry without marker contains %s", registerMarker)
	}
}

// TestPackagedDesktopEntry keeps packaging/trustlaunch.desktop identical to
// what register writes for /usr/bin/trustlaunch, minus the marker (so
// "unregister --system" never removes the package's file).
func TestPackagedDesktopEntry(t *testing.T) {
	got, err := os.ReadFile(filepath.Join("..", "packaging", "trustlaunch.desktop"))
	if err != nil {
		t.Fatal(err)
	}
	line, err := desktopExecLine("/usr/bin/trustlaunch")
	if err != nil {
		t.Fatal(err)
	}
	if want := desktopEntry(line, false); string(got) != want {
		t.Errorf("packaging/trustlaunch.desktop is\n%s\nwant\n%s", got, want)
	}
}

func TestWindowsOpenCommand(t *testing.T) {
	tests := []struct {
		exe, want, wantErr string
	}{
		{exe: `C:\Program Files\trustlaunch\trustlaunch.exe`, want: `"C:\Program Files\trustlaunch\trustlaunch.exe" open -- "%1"`},
		{exe: `C:\tl\trustlaunch.exe`, want: `"C:\tl\trustlaunch.exe" open -- "%1"`},
		{exe: `d:\Tools (x86)\a&b^c\trustlaunch.exe`, want: `"d:\Tools (x86)\a&b^c\trustlaunch.exe" open -- "%1"`},
		{exe: `\\server\share\trustlaunch.exe`, want: `"\\server\share\trustlaunch.exe" open -- "%1"`},
		{exe: `C:\Users\Zoë\AppData\Local\trustlaunch.exe`, want: `"C:\Users\Zoë\AppData\Local\trustlaunch.exe" open -- "%1"`},
		{exe: `C:\100%\trustlaunch.exe`, wantErr: "%"},
		{exe: `C:\a"b\trustlaunch.exe`, wantErr: "double quote"},
		{exe: "C:\\a\nb\\trustlaunch.exe", wantErr: "control character"},
		{exe: `trustlaunch.exe`, wantErr: "absolute"},
		{exe: `C:trustlaunch.exe`, wantErr: "absolute"},
		{exe: `\trustlaunch.exe`, wantErr: "absolute"},
		{exe: `/usr/bin/trustlaunch`, wantErr: "absolute"},
	}
	for _, tt := range tests {
		got, err := windowsOpenCommand(tt.exe)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("windowsOpenCommand(%q) = %q, %v; want an error containing %q", tt.exe, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("windowsOpenCommand(%q) = %q, %v; want %q", tt.exe, got, err, tt.want)
			continue
		}
		if program, openURL := windowsCommandProgram(got); program != tt.exe || !openURL {
			t.Errorf("windowsCommandProgram(%q) = %q, %v; want %q, true", got, program, openURL, tt.exe)
		}
	}
}

func TestWindowsCommandProgram(t *testing.T) {
	tests := []struct {
		cmd, program string
		openURL      bool
	}{
		{`"C:\Program Files\tl\trustlaunch.exe" open -- "%1"`, `C:\Program Files\tl\trustlaunch.exe`, true},
		{`  "C:\tl.exe"   open  --  "%1" `, `C:\tl.exe`, true},
		{`C:\tl\trustlaunch.exe open -- "%1"`, `C:\tl\trustlaunch.exe`, true},
		{`"C:\tl.exe" open "%1"`, `C:\tl.exe`, false},
		{`"C:\tl.exe" open -- %1`, `C:\tl.exe`, false},
		{`"C:\tl.exe" open -- "%1" --evil`, `C:\tl.exe`, false},
		{`"C:\other.exe" "%1"`, `C:\other.exe`, false},
		{`"C:\unterminated.exe open -- "%1"`, `C:\unterminated.exe open -- `, false},
	}
	for _, tt := range tests {
		program, openURL := windowsCommandProgram(tt.cmd)
		if program != tt.program || openURL != tt.openURL {
			t.Errorf("windowsCommandProgram(%q) = %q, %v; want %q, %v", tt.cmd, program, openURL, tt.program, tt.openURL)
		}
	}
	if got := windowsIconValue(`C:\Program Files\tl\trustlaunch.exe`); got != `C:\Program Files\tl\trustlaunch.exe,0` {
		t.Errorf("windowsIconValue = %q", got)
	}
}

func TestRegisterExecutable(t *testing.T) {
	dir := resolvedTempDir(t)
	exe := filepath.Join(dir, "trustlaunch")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// An alias of the binary is registered by its real name: a symlink on
	// Unix, an 8.3 short name on Windows, which Wine makes (it makes no
	// symlinks; README lists that for real Windows).
	link := executableAlias(t, exe)
	if got, err := registerExecutable(RegisterOptions{Executable: link}); err != nil || got != exe {
		t.Errorf("registerExecutable(link) = %q, %v; want %q", got, err, exe)
	}
	if _, err := registerExecutable(RegisterOptions{Executable: "trustlaunch"}); err == nil {
		t.Error("a relative executable was accepted")
	}
	gobuild := filepath.Join(dir, "go-build123", "b001", "exe")
	if err := os.MkdirAll(gobuild, 0o755); err != nil {
		t.Fatal(err)
	}
	tmpExe := filepath.Join(gobuild, "trustlaunch")
	if err := os.WriteFile(tmpExe, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	var re *RegisterError
	if _, err := registerExecutable(RegisterOptions{Executable: tmpExe}); !errors.As(err, &re) || !strings.Contains(re.Fix, "go build") {
		t.Errorf("a go run binary: err = %v, want a RegisterError whose fix says go build", err)
	}
	// A system-wide handler must pass the admin file check: a binary in a
	// world-writable directory (or owned by a user) is refused; only the
	// wineprefix test build under Wine accepts the prefix owner's
	// (adminChecksRelaxed; TestAdminFileWinePrefixOwner runs both ways).
	if _, err := registerExecutable(RegisterOptions{Executable: exe, System: true}); adminChecksRelaxed() {
		if err != nil {
			t.Errorf("system registration of %s in the wineprefix build: %v", exe, err)
		}
	} else if !errors.As(err, &re) || !strings.Contains(err.Error(), "only administrators") {
		t.Errorf("system registration of %s: err = %v, want a refusal", exe, err)
	}
}

// resolvedTempDir is testtmp.Dir(t) with symlinks (and on Windows short 8.3
// names) resolved, as registerExecutable resolves the executable.
func resolvedTempDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(testtmp.Dir(t))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}
