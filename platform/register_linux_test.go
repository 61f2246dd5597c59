package platform

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// xdgEnv is a private XDG world for one test: every directory xdg-utils
// and Register look at is below one temp dir, so nothing on the machine is
// read or changed.
type xdgEnv struct {
	home, dataHome, configHome string
	sysData, sysConfig         string // $XDG_DATA_DIRS, $XDG_CONFIG_DIRS
	apps                       string // $XDG_DATA_HOME/applications
	mimeapps                   string // $XDG_CONFIG_HOME/mimeapps.list
	bin                        string // the fake tools; on PATH when installed
	exe                        string // the "trustlaunch" binary to register
	log, state                 string // what the fake tools did and answer
}

func newXDGEnv(t *testing.T) *xdgEnv {
	t.Helper()
	root := realTempDir(t)
	e := &xdgEnv{
		home:       filepath.Join(root, "home"),
		dataHome:   filepath.Join(root, "home", ".local", "share"),
		configHome: filepath.Join(root, "home", ".config"),
		sysData:    filepath.Join(root, "usr", "share"),
		sysConfig:  filepath.Join(root, "etc", "xdg"),
		bin:        filepath.Join(root, "bin"),
		// Outside root, which TestCheckRegistration snapshots.
		log:   filepath.Join(testtmp.Dir(t), "tools.log"),
		state: filepath.Join(testtmp.Dir(t), "default.state"),
	}
	e.apps = filepath.Join(e.dataHome, "applications")
	e.mimeapps = filepath.Join(e.configHome, "mimeapps.list")
	for _, d := range []string{e.home, e.sysData, e.sysConfig, e.bin, filepath.Join(root, "opt")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.exe = writeExec(t, filepath.Join(root, "opt", "trustlaunch"), "#!/bin/sh\nexit 0\n")
	t.Setenv("HOME", e.home)
	t.Setenv("XDG_DATA_HOME", e.dataHome)
	t.Setenv("XDG_CONFIG_HOME", e.configHome)
	t.Setenv("XDG_DATA_DIRS", e.sysData)
	t.Setenv("XDG_CONFIG_DIRS", e.sysConfig)
	// Make xdg-utils take its generic, file-based path whatever desktop
	// the test runs in.
	t.Setenv("XDG_CURRENT_DESKTOP", "X-Generic")
	for _, v := range []string{"DE", "KDE_FULL_SESSION", "KDE_SESSION_VERSION", "GNOME_DESKTOP_SESSION_ID", "MATE_DESKTOP_SESSION_ID", "DESKTOP_SESSION", "XDG_UTILS_DEBUG_LEVEL", "XDG_MENU_PREFIX"} {
		t.Setenv(v, "")
	}
	t.Setenv("FAKE_LOG", e.log)
	t.Setenv("FAKE_STATE", e.state)
	t.Setenv("FAKE_DEFAULT_IGNORED", "")
	// No tools at all until a test installs some.
	t.Setenv("PATH", e.bin)
	return e
}

func writeExec(t *testing.T, path, script string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// The fake tools use only shell builtins, so PATH can hold nothing else.
// xdg-mime keeps the default in $FAKE_STATE; "default" ignores the request
// when $FAKE_DEFAULT_IGNORED is set (as a desktop-specific list would).
const (
	fakeXDGMime = `#!/bin/sh
printf 'xdg-mime %s\n' "$*" >> "$FAKE_LOG"
case "$1" in
query)
	[ "$2" = default ] || exit 1
	if [ -f "$FAKE_STATE" ]; then IFS= read -r line < "$FAKE_STATE"; printf '%s\n' "$line"; fi
	exit 0 ;;
default)
	[ -n "$FAKE_DEFAULT_IGNORED" ] || printf '%s\n' "$2" > "$FAKE_STATE"
	exit 0 ;;
esac
exit 1
`
	fakeUpdateDesktopDatabase = `#!/bin/sh
printf 'update-desktop-database %s\n' "$*" >> "$FAKE_LOG"
exit 0
`
)

func (e *xdgEnv) installFakes(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		switch tool {
		case "xdg-mime":
			writeExec(t, filepath.Join(e.bin, tool), fakeXDGMime)
		case "update-desktop-database":
			writeExec(t, filepath.Join(e.bin, tool), fakeUpdateDesktopDatabase)
		default:
			t.Fatalf("no fake for %s", tool)
		}
	}
}

// useRealTools puts the real xdg-utils and desktop-file-utils on PATH. CI
// installs them (test.sh), so there a missing tool fails the test.
func (e *xdgEnv) useRealTools(t *testing.T, path string) {
	t.Helper()
	t.Setenv("PATH", path)
	for _, tool := range []string{"xdg-mime", "xdg-open", "update-desktop-database"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s not found: CI must install xdg-utils and desktop-file-utils (test.sh does)", tool)
			}
			t.Skipf("%s not found; install xdg-utils and desktop-file-utils to run this test", tool)
		}
	}
}

func (e *xdgEnv) toolLog(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(e.log)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func (e *xdgEnv) setState(t *testing.T, id string) {
	t.Helper()
	if err := os.WriteFile(e.state, []byte(id+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (e *xdgEnv) opts() RegisterOptions { return RegisterOptions{Executable: e.exe} }

// writeForeignEntry puts another program's trustlaunch.desktop (no marker of
// ours) in the applications directory and returns its path and content.
func (e *xdgEnv) writeForeignEntry(t *testing.T) (path, content string) {
	t.Helper()
	path = filepath.Join(e.apps, "trustlaunch.desktop")
	if err := os.MkdirAll(e.apps, 0o755); err != nil {
		t.Fatal(err)
	}
	content = "[Desktop Entry]\nType=Application\nName=mine\nExec=/usr/local/bin/mine %u\nMimeType=x-scheme-handler/trustlaunch;\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, content
}

func wantLog(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("tools ran:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func wantRegisterError(t *testing.T, err error, target error, text, fix string) {
	t.Helper()
	var re *RegisterError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want a *RegisterError", err)
	}
	if target != nil && !errors.Is(err, target) {
		t.Errorf("err = %v, want one wrapping %v", err, target)
	}
	if !strings.Contains(err.Error(), text) {
		t.Errorf("err = %q, want it to contain %q", err, text)
	}
	if !strings.Contains(re.Fix, fix) {
		t.Errorf("fix = %q, want it to contain %q", re.Fix, fix)
	}
}

func findingsText(r Report) string {
	var b strings.Builder
	for _, f := range r.Findings {
		b.WriteString(f.Name + ": " + f.Value + "\n")
	}
	return b.String()
}

// problemsText lists the non-warning problems, or with warnings too.
func problemsText(r Report, warnings bool) string {
	var b strings.Builder
	for _, p := range r.Problems {
		if !p.Warning || warnings {
			b.WriteString(p.What + " | fix: " + p.Fix + "\n")
		}
	}
	return b.String()
}

func TestRegisterUser(t *testing.T) {
	e := newXDGEnv(t)
	e.installFakes(t, "xdg-mime", "update-desktop-database")
	r, err := Register(t.Context(), e.opts())
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if !r.OK() {
		t.Errorf("problems:\n%s", problemsText(r, false))
	}
	path := filepath.Join(e.apps, "trustlaunch.desktop")
	want := desktopEntry(e.exe+" open -- %u", true)
	if got := mustRead(t, path); got != want {
		t.Errorf("%s:\n%s\nwant:\n%s", path, got, want)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode of %s: %v, %v; want 0644", path, fi.Mode(), err)
	}
	wantLog(t, e.toolLog(t),
		"xdg-mime query default x-scheme-handler/trustlaunch",
		"update-desktop-database "+e.apps,
		"xdg-mime default trustlaunch.desktop x-scheme-handler/trustlaunch",
		"xdg-mime query default x-scheme-handler/trustlaunch")
	if !strings.Contains(findingsText(r), "wrote: "+path) {
		t.Errorf("findings do not say what was written:\n%s", findingsText(r))
	}
	if w := problemsText(r, true); !strings.Contains(w, "temporary directory") {
		t.Errorf("no warning about a binary in %s: %q", os.TempDir(), w)
	}

	// Registering again, e.g. after moving the binary, rewrites our own
	// entry without --force.
	e.exe = writeExec(t, filepath.Join(filepath.Dir(e.exe), "trustlaunch2"), "#!/bin/sh\n")
	if _, err := Register(t.Context(), e.opts()); err != nil {
		t.Fatalf("Register again: %v", err)
	}
	if got := parseDesktopFile([]byte(mustRead(t, path)))["Exec"]; got != e.exe+" open -- %u" {
		t.Errorf("Exec after re-register = %q", got)
	}
}

func TestRegisterWithoutXDGUtils(t *testing.T) {
	e := newXDGEnv(t) // PATH holds no tools
	_, err := Register(t.Context(), e.opts())
	wantRegisterError(t, err, exec.ErrNotFound, "xdg-utils is not installed", "apt-get install xdg-utils")
	if !strings.Contains(err.Error(), "nothing was changed") {
		t.Errorf("err = %q, want it to say nothing was changed", err)
	}
	if _, err := os.Stat(e.apps); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s exists after a refused register (err %v)", e.apps, err)
	}
}

func TestRegisterWithoutUpdateDesktopDatabase(t *testing.T) {
	e := newXDGEnv(t)
	e.installFakes(t, "xdg-mime")
	r, err := Register(t.Context(), e.opts())
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if w := problemsText(r, true); !strings.Contains(w, "update-desktop-database not found") || !strings.Contains(w, "desktop-file-utils") {
		t.Errorf("warnings = %q, want one about desktop-file-utils", w)
	}
	if !r.OK() {
		t.Errorf("a missing MIME cache tool is a warning, got problems:\n%s", problemsText(r, false))
	}
}

func TestRegisterOtherHandler(t *testing.T) {
	e := newXDGEnv(t)
	e.installFakes(t, "xdg-mime", "update-desktop-database")
	e.setState(t, "other.desktop")
	_, err := Register(t.Context(), e.opts())
	wantRegisterError(t, err, ErrOtherHandler, "other.desktop", "trustlaunch register --force")
	if _, err := os.Stat(e.apps); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("register refused but created %s", e.apps)
	}
	wantLog(t, e.toolLog(t), "xdg-mime query default x-scheme-handler/trustlaunch")

	opts := e.opts()
	opts.Force = true
	r, err := Register(t.Context(), opts)
	if err != nil {
		t.Fatalf("Register --force: %v", err)
	}
	if got := strings.TrimSpace(mustRead(t, e.state)); got != "trustlaunch.desktop" {
		t.Errorf("default after --force = %q", got)
	}
	if !strings.Contains(findingsText(r), "replaced default: other.desktop") {
		t.Errorf("findings do not name the replaced handler:\n%s", findingsText(r))
	}
}

func TestRegisterForeignEntry(t *testing.T) {
	e := newXDGEnv(t)
	e.installFakes(t, "xdg-mime", "update-desktop-database")
	path, foreign := e.writeForeignEntry(t)
	_, err := Register(t.Context(), e.opts())
	wantRegisterError(t, err, ErrNotOurs, path, "--force")
	if got := mustRead(t, path); got != foreign {
		t.Errorf("a refused register changed %s", path)
	}
	opts := e.opts()
	opts.Force = true
	if _, err := Register(t.Context(), opts); err != nil {
		t.Fatalf("Register --force: %v", err)
	}
	if got := parseDesktopFile([]byte(mustRead(t, path)))[registerMarker]; got != markerValue {
		t.Errorf("after --force the entry has %s=%q", registerMarker, got)
	}
}

// TestRegisterUnwritableApplicationsDir covers a read-only applications
// directory in ways that also stop root, who ignores permission bits: the
// directory, or a directory above it, is a regular file.
func TestRegisterUnwritableApplicationsDir(t *testing.T) {
	for _, tt := range []struct {
		name  string
		block func(e *xdgEnv) string // returns the file put in the way
	}{
		{"applications is a file", func(e *xdgEnv) string { return e.apps }},
		{"XDG_DATA_HOME is a file", func(e *xdgEnv) string { return e.dataHome }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newXDGEnv(t)
			e.installFakes(t, "xdg-mime", "update-desktop-database")
			blocker := tt.block(e)
			if err := os.MkdirAll(filepath.Dir(blocker), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(blocker, []byte("not a directory\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Register(t.Context(), e.opts())
			wantRegisterError(t, err, nil, e.apps, "not a directory")
			if !strings.Contains(err.(*RegisterError).Fix, "XDG_DATA_HOME") {
				t.Errorf("fix %q does not offer XDG_DATA_HOME", err.(*RegisterError).Fix)
			}
			if got := mustRead(t, blocker); got != "not a directory\n" {
				t.Errorf("%s changed", blocker)
			}
			for _, l := range e.toolLog(t) {
				if strings.HasPrefix(l, "xdg-mime default") {
					t.Errorf("set the default although the entry could not be written: %s", l)
				}
			}
		})
	}
	t.Run("applications is read-only", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root ignores directory permissions; the cases above cover root")
		}
		e := newXDGEnv(t)
		e.installFakes(t, "xdg-mime", "update-desktop-database")
		if err := os.MkdirAll(e.apps, 0o755); err != nil {
			t.Fatal(err)
		}
		chmod(t, e.apps, 0o555)
		t.Cleanup(func() { os.Chmod(e.apps, 0o755) })
		_, err := Register(t.Context(), e.opts())
		wantRegisterError(t, err, fs.ErrPermission, e.apps, "writable")
	})
}

func TestRegisterDefaultDoesNotStick(t *testing.T) {
	e := newXDGEnv(t)
	e.installFakes(t, "xdg-mime", "update-desktop-database")
	t.Setenv("FAKE_DEFAULT_IGNORED", "1")
	_, err := Register(t.Context(), e.opts())
	wantRegisterError(t, err, nil, `still answers ""`, "gnome-mimeapps.list")
}

func TestRegisterPathWithSpaces(t *testing.T) {
	e := newXDGEnv(t)
	e.installFakes(t, "xdg-mime", "update-desktop-database")
	dir := filepath.Join(filepath.Dir(e.exe), "My Tools")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e.exe = writeExec(t, filepath.Join(dir, "trustlaunch"), "#!/bin/sh\n")
	r, err := Register(t.Context(), e.opts())
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	f := parseDesktopFile([]byte(mustRead(t, filepath.Join(e.apps, "trustlaunch.desktop"))))
	if want := `"` + e.exe + `" open -- %u`; f["Exec"] != want {
		t.Errorf("Exec = %q, want %q", f["Exec"], want)
	}
	if w := problemsText(r, true); !strings.Contains(w, "needs quotes") || !strings.Contains(w, "without spaces") {
		t.Errorf("warnings = %q, want the xdg-open warning", w)
	}
}

// TestRegisterSystem writes the system entry into a stand-in for
// /usr/share/applications. The binary must pass the admin file check, so
// it is root-owned below a trusted directory.
func TestRegisterSystem(t *testing.T) {
	requireRoot(t)
	e := newXDGEnv(t)
	e.installFakes(t, "xdg-mime", "update-desktop-database")
	sysApps := filepath.Join(e.sysData, "applications")
	if err := os.MkdirAll(sysApps, 0o755); err != nil {
		t.Fatal(err)
	}
	// A system-wide default for another application, which wins over the
	// MIME cache: register must say so.
	if err := os.WriteFile(filepath.Join(e.sysConfig, "mimeapps.list"), []byte("[Default Applications]\nx-scheme-handler/trustlaunch=other.desktop\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := e.opts()
	opts.System = true
	opts.test.systemAppsDir = sysApps
	opts.test.trustedDir = filepath.Dir(filepath.Dir(e.exe))
	r, err := Register(t.Context(), opts)
	if err != nil {
		t.Fatalf("Register --system: %v", err)
	}
	path := filepath.Join(sysApps, "trustlaunch.desktop")
	if got, want := mustRead(t, path), desktopEntry(e.exe+" open -- %u", true); got != want {
		t.Errorf("%s:\n%s\nwant:\n%s", path, got, want)
	}
	// No xdg-mime default: as root it would only set root's own default.
	wantLog(t, e.toolLog(t), "update-desktop-database "+sysApps)
	if w := problemsText(r, true); !strings.Contains(w, "other.desktop") || !strings.Contains(w, filepath.Join(e.sysConfig, "mimeapps.list")) {
		t.Errorf("warnings = %q, want the system default for other.desktop", w)
	}

	// The packaged entry has no marker: register --system refuses it, and
	// unregister --system leaves it.
	pkg := mustRead(t, filepath.Join("..", "packaging", "trustlaunch.desktop"))
	if err := os.WriteFile(path, []byte(pkg), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Register(t.Context(), opts)
	wantRegisterError(t, err, ErrNotOurs, path, "dpkg -S")
	ur, err := Unregister(t.Context(), opts)
	if err != nil {
		t.Fatalf("Unregister --system: %v", err)
	}
	if got := mustRead(t, path); got != pkg || !strings.Contains(findingsText(ur), "left in place") {
		t.Errorf("unregister --system touched the package's entry; findings:\n%s", findingsText(ur))
	}
}

func TestRegisterSystemRefusesUnsafeBinary(t *testing.T) {
	e := newXDGEnv(t)
	e.installFakes(t, "xdg-mime", "update-desktop-database")
	chmod(t, e.exe, 0o777)
	opts := e.opts()
	opts.System = true
	opts.test.systemAppsDir = filepath.Join(e.sysData, "applications")
	opts.test.trustedDir = filepath.Dir(filepath.Dir(e.exe))
	_, err := Register(t.Context(), opts)
	wantRegisterError(t, err, nil, "only administrators can replace", "/usr/bin")
	if _, err := os.Stat(opts.test.systemAppsDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("refused, but created %s", opts.test.systemAppsDir)
	}
}

func TestUnregisterUser(t *testing.T) {
	e := newXDGEnv(t)
	e.installFakes(t, "xdg-mime", "update-desktop-database")
	if _, err := Register(t.Context(), e.opts()); err != nil {
		t.Fatal(err)
	}
	// What real xdg-mime writes, among the user's other associations.
	list := "[Default Applications]\ntext/html=firefox.desktop\nx-scheme-handler/trustlaunch=trustlaunch.desktop\n\n[Added Associations]\nx-scheme-handler/trustlaunch=trustlaunch.desktop;\n"
	if err := os.MkdirAll(e.configHome, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.mimeapps, []byte(list), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(e.log)
	r, err := Unregister(t.Context(), e.opts())
	if err != nil {
		t.Fatalf("Unregister: %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.apps, "trustlaunch.desktop")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("desktop entry still there (err %v)", err)
	}
	want := "[Default Applications]\ntext/html=firefox.desktop\n\n[Added Associations]\nx-scheme-handler/trustlaunch=trustlaunch.desktop;\n"
	if got := mustRead(t, e.mimeapps); got != want {
		t.Errorf("mimeapps.list:\n%s\nwant:\n%s", got, want)
	}
	if fi, err := os.Stat(e.mimeapps); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mimeapps.list mode changed: %v %v", fi.Mode(), err)
	}
	wantLog(t, e.toolLog(t), "update-desktop-database "+e.apps)
	if !strings.Contains(findingsText(r), "removed: "+filepath.Join(e.apps, "trustlaunch.desktop")) {
		t.Errorf("findings:\n%s", findingsText(r))
	}

	// Nothing left: not an error.
	r, err = Unregister(t.Context(), e.opts())
	if err != nil {
		t.Fatalf("Unregister again: %v", err)
	}
	if f := findingsText(r); !strings.Contains(f, "none at") || !strings.Contains(f, "none set in") {
		t.Errorf("findings:\n%s", f)
	}
}

func TestUnregisterLeavesOthers(t *testing.T) {
	e := newXDGEnv(t)
	e.installFakes(t, "xdg-mime", "update-desktop-database")
	path, foreign := e.writeForeignEntry(t)
	list := "[Default Applications]\nx-scheme-handler/trustlaunch=other.desktop;trustlaunch.desktop;\n"
	if err := os.MkdirAll(e.configHome, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.mimeapps, []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Unregister(t.Context(), e.opts())
	if err != nil {
		t.Fatalf("Unregister: %v", err)
	}
	if mustRead(t, path) != foreign || mustRead(t, e.mimeapps) != list {
		t.Error("unregister changed what register did not write")
	}
	f := findingsText(r)
	for _, want := range []string{"left in place: " + path, "the default in " + e.mimeapps + " is other.desktop", "still registered: " + path} {
		if !strings.Contains(f, want) {
			t.Errorf("findings do not contain %q:\n%s", want, f)
		}
	}
	if len(e.toolLog(t)) != 0 {
		t.Errorf("tools ran although nothing was removed: %q", e.toolLog(t))
	}
}

func TestRemoveMimeDefault(t *testing.T) {
	const m, id = "x-scheme-handler/trustlaunch", "trustlaunch.desktop"
	tests := []struct {
		name, in, want, other string
		removed               bool
	}{
		{name: "only line", in: "[Default Applications]\nx-scheme-handler/trustlaunch=trustlaunch.desktop\n",
			want: "[Default Applications]\n", removed: true},
		{name: "with trailing semicolon and CRLF", in: "[Default Applications]\r\nx-scheme-handler/trustlaunch=trustlaunch.desktop;\r\na/b=c.desktop\r\n",
			want: "[Default Applications]\r\na/b=c.desktop\r\n", removed: true},
		{name: "ours first with fallbacks", in: "[Default Applications]\nx-scheme-handler/trustlaunch=trustlaunch.desktop;other.desktop;\n",
			want: "[Default Applications]\nx-scheme-handler/trustlaunch=other.desktop;\n", removed: true},
		{name: "other first", in: "[Default Applications]\nx-scheme-handler/trustlaunch=other.desktop;trustlaunch.desktop;\n",
			want: "[Default Applications]\nx-scheme-handler/trustlaunch=other.desktop;trustlaunch.desktop;\n", other: "other.desktop"},
		{name: "other group only", in: "[Added Associations]\nx-scheme-handler/trustlaunch=trustlaunch.desktop;\n",
			want: "[Added Associations]\nx-scheme-handler/trustlaunch=trustlaunch.desktop;\n"},
		{name: "similar key", in: "[Default Applications]\nx-scheme-handler/trustlaunchx=trustlaunch.desktop\n",
			want: "[Default Applications]\nx-scheme-handler/trustlaunchx=trustlaunch.desktop\n"},
		{name: "no final newline", in: "# c\n[Default Applications]\nx-scheme-handler/trustlaunch=trustlaunch.desktop",
			want: "# c\n[Default Applications]\n", removed: true},
		{name: "empty", in: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, removed, other := removeMimeDefault([]byte(tt.in), m, id)
			if string(out) != tt.want || removed != tt.removed || other != tt.other {
				t.Errorf("removeMimeDefault = %q, %v, %q; want %q, %v, %q", out, removed, other, tt.want, tt.removed, tt.other)
			}
			if got := mimeDefault([]byte(tt.in), m); tt.removed && got != id || tt.other != "" && got != tt.other {
				t.Errorf("mimeDefault = %q", got)
			}
		})
	}
}

// treeSnapshot records every file below root with its mode and content, to
// show that --check writes nothing.
func treeSnapshot(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		b.WriteString(p + " " + fi.Mode().String() + " " + fi.ModTime().String() + "\n")
		if fi.Mode().IsRegular() {
			b.WriteString(mustRead(t, p) + "\n")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestCheckRegistration(t *testing.T) {
	type want struct {
		ok       bool
		problems []string // each must appear in a non-warning problem or its fix
		warnings []string
		findings []string
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, e *xdgEnv)
		want  want
	}{
		{"registered", func(t *testing.T, e *xdgEnv) {
			mustRegister(t, e)
		}, want{ok: true, findings: []string{"runs this binary: yes", "default handler: trustlaunch.desktop (xdg-mime query default x-scheme-handler/trustlaunch)", "written by: trustlaunch register"}}},
		{"nothing registered", func(t *testing.T, e *xdgEnv) {}, want{
			problems: []string{"no trustlaunch.desktop desktop entry", "trustlaunch register", "no application handles"}}},
		{"another handler is the default", func(t *testing.T, e *xdgEnv) {
			mustRegister(t, e)
			e.setState(t, "other.desktop")
		}, want{problems: []string{"open with other.desktop, not trustlaunch", "trustlaunch register --force"}}},
		{"entry runs another binary", func(t *testing.T, e *xdgEnv) {
			mustRegister(t, e)
			e.exe = writeExec(t, filepath.Join(filepath.Dir(e.exe), "newer"), "#!/bin/sh\n")
		}, want{problems: []string{"not this binary", "trustlaunch register"}, findings: []string{"runs this binary: no"}}},
		{"entry runs a deleted binary", func(t *testing.T, e *xdgEnv) {
			mustRegister(t, e)
			old := e.exe
			e.exe = writeExec(t, filepath.Join(filepath.Dir(e.exe), "newer"), "#!/bin/sh\n")
			os.Remove(old)
		}, want{problems: []string{"which does not exist"}}},
		{"entry without open --", func(t *testing.T, e *xdgEnv) {
			writeEntry(t, e, "Exec="+e.exe+" %u")
			e.setState(t, "trustlaunch.desktop")
		}, want{problems: []string{`does not end in "open -- %u"`, "--force"}}},
		{"hidden entry", func(t *testing.T, e *xdgEnv) {
			mustRegister(t, e)
			f := filepath.Join(e.apps, "trustlaunch.desktop")
			os.WriteFile(f, []byte(mustRead(t, f)+"Hidden=true\n"), 0o644)
		}, want{problems: []string{"Hidden=true"}}},
		{"package entry in a system data dir", func(t *testing.T, e *xdgEnv) {
			apps := filepath.Join(e.sysData, "applications")
			os.MkdirAll(apps, 0o755)
			os.WriteFile(filepath.Join(apps, "trustlaunch.desktop"), []byte(desktopEntry(e.exe+" open -- %u", false)), 0o644)
			os.WriteFile(filepath.Join(apps, "mimeinfo.cache"), []byte("[MIME Cache]\nx-scheme-handler/trustlaunch=trustlaunch.desktop;\n"), 0o644)
			e.setState(t, "trustlaunch.desktop")
		}, want{ok: true, findings: []string{"desktop entry: " + "SYSDATA/applications/trustlaunch.desktop", "written by: not trustlaunch register"}}},
		{"stale MIME cache", func(t *testing.T, e *xdgEnv) {
			mustRegister(t, e)
			os.WriteFile(filepath.Join(e.apps, "mimeinfo.cache"), []byte("[MIME Cache]\n"), 0o644)
		}, want{ok: true, warnings: []string{"mimeinfo.cache does not list trustlaunch.desktop", "update-desktop-database"}}},
		{"no xdg-utils", func(t *testing.T, e *xdgEnv) {
			mustRegister(t, e)
			os.Remove(filepath.Join(e.bin, "xdg-mime"))
		}, want{problems: []string{"xdg-utils is not installed", "apt-get install xdg-utils"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newXDGEnv(t)
			e.installFakes(t, "xdg-mime", "update-desktop-database")
			tt.setup(t, e)
			os.Remove(e.log)
			before := treeSnapshot(t, filepath.Dir(e.home))
			r, err := CheckRegistration(t.Context(), e.opts())
			if err != nil {
				t.Fatalf("CheckRegistration: %v", err)
			}
			// Check changes nothing and runs nothing but the query.
			if after := treeSnapshot(t, filepath.Dir(e.home)); before != after {
				t.Errorf("--check changed files:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			for _, l := range e.toolLog(t) {
				if l != "xdg-mime query default x-scheme-handler/trustlaunch" {
					t.Errorf("--check ran %q", l)
				}
			}
			if r.OK() != tt.want.ok {
				t.Errorf("OK() = %v, want %v; problems:\n%s", r.OK(), tt.want.ok, problemsText(r, true))
			}
			probs, warns, finds := problemsText(r, false), problemsText(r, true), findingsText(r)
			for _, s := range tt.want.problems {
				if !strings.Contains(probs, s) {
					t.Errorf("problems do not mention %q:\n%s", s, probs)
				}
			}
			for _, s := range tt.want.warnings {
				if !strings.Contains(warns, s) {
					t.Errorf("warnings do not mention %q:\n%s", s, warns)
				}
			}
			for _, s := range tt.want.findings {
				s = strings.ReplaceAll(s, "SYSDATA", e.sysData)
				if !strings.Contains(finds, s) {
					t.Errorf("findings do not contain %q:\n%s", s, finds)
				}
			}
		})
	}
}

func mustRegister(t *testing.T, e *xdgEnv) {
	t.Helper()
	if _, err := Register(t.Context(), e.opts()); err != nil {
		t.Fatalf("Register: %v", err)
	}
}

// writeEntry writes a trustlaunch.desktop by hand with extra lines.
func writeEntry(t *testing.T, e *xdgEnv, lines ...string) {
	t.Helper()
	if err := os.MkdirAll(e.apps, 0o755); err != nil {
		t.Fatal(err)
	}
	body := "[Desktop Entry]\nType=Application\nName=trustlaunch\nMimeType=x-scheme-handler/trustlaunch;\n" + strings.Join(lines, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(e.apps, "trustlaunch.desktop"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRealXDGUtils runs the whole flow against Debian's xdg-utils and
// desktop-file-utils, then opens a link through xdg-open the way Chromium
// does without a desktop environment, and checks that the binary received
// exactly "open", "--" and the link, byte for byte.
func TestRealXDGUtils(t *testing.T) {
	path := os.Getenv("PATH")
	e := newXDGEnv(t)
	e.useRealTools(t, path)
	args := filepath.Join(filepath.Dir(e.exe), "args")
	e.exe = writeExec(t, e.exe, "#!/bin/sh\nfor a do printf '%s\\0' \"$a\"; done > "+args+"\n")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	if _, err := Register(ctx, e.opts()); err != nil {
		t.Fatalf("Register: %v", err)
	}
	if got, err := queryDefault(ctx); err != nil || got != "trustlaunch.desktop" {
		t.Fatalf("xdg-mime query default = %q, %v", got, err)
	}
	if got := mimeDefault([]byte(mustRead(t, e.mimeapps)), schemeMIME); got != "trustlaunch.desktop" {
		t.Errorf("mimeapps.list default = %q", got)
	}
	if !cacheLists([]byte(mustRead(t, filepath.Join(e.apps, "mimeinfo.cache"))), schemeMIME, desktopFileID) {
		t.Error("mimeinfo.cache does not list trustlaunch.desktop")
	}
	r, err := CheckRegistration(ctx, e.opts())
	if err != nil || !r.OK() {
		t.Fatalf("CheckRegistration: %v; problems:\n%s", err, problemsText(r, true))
	}
	if out, err := exec.CommandContext(ctx, "desktop-file-validate", filepath.Join(e.apps, "trustlaunch.desktop")).CombinedOutput(); err != nil || len(out) != 0 {
		t.Errorf("desktop-file-validate: %v\n%s", err, out)
	}

	// xdg-open's generic mode passes the link as one argument, however
	// hostile; "open" then refuses anything that is not a well-formed link.
	link := `trustlaunch://launch?url=https%3A%2F%2Fportal.example.com%2Fs%2F1&x=$(touch /tmp/pwn);"a b"'c'` + "`id`"
	t.Setenv("DISPLAY", ":0") // xdg-open's generic mode looks for handlers only with a display
	if out, err := exec.CommandContext(ctx, "xdg-open", link).CombinedOutput(); err != nil {
		t.Fatalf("xdg-open: %v\n%s", err, out)
	}
	got := strings.Split(strings.TrimSuffix(mustRead(t, args), "\x00"), "\x00")
	if want := []string{"open", "--", link}; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("handler got arguments %q, want %q", got, want)
	}

	// Another application becomes the default: check reports it, register
	// refuses to take over, unregister leaves it.
	other := filepath.Join(e.apps, "other.desktop")
	if err := os.WriteFile(other, []byte("[Desktop Entry]\nType=Application\nName=other\nExec=/bin/true %u\nMimeType=x-scheme-handler/trustlaunch;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(ctx, "xdg-mime", "default", "other.desktop", schemeMIME).CombinedOutput(); err != nil {
		t.Fatalf("xdg-mime default other.desktop: %v\n%s", err, out)
	}
	r, err = CheckRegistration(ctx, e.opts())
	if err != nil || r.OK() || !strings.Contains(problemsText(r, false), "other.desktop (") {
		t.Errorf("CheckRegistration with another default: err %v, problems:\n%s", err, problemsText(r, true))
	}
	_, err = Register(ctx, e.opts())
	wantRegisterError(t, err, ErrOtherHandler, "Exec=/bin/true %u", "--force")
	ur, err := Unregister(ctx, e.opts())
	if err != nil {
		t.Fatalf("Unregister: %v", err)
	}
	if !strings.Contains(findingsText(ur), "other.desktop") {
		t.Errorf("unregister did not name the other handler:\n%s", findingsText(ur))
	}
	if got, _ := queryDefault(ctx); got != "other.desktop" {
		t.Errorf("after unregister the default is %q, want other.desktop left alone", got)
	}
	if _, err := os.Stat(filepath.Join(e.apps, "trustlaunch.desktop")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("trustlaunch.desktop still there: %v", err)
	}
}

// TestRealXDGOpenQuotedPath shows why register warns about a path that
// needs quotes: the entry follows the specification, and GLib would run
// it, but xdg-open's generic mode (xdg-utils 1.1.3, Debian 12) takes the
// first space-separated word of Exec as the program and fails. If a newer
// xdg-utils runs it, this test fails so that the warning gets revisited.
func TestRealXDGOpenQuotedPath(t *testing.T) {
	path := os.Getenv("PATH")
	e := newXDGEnv(t)
	e.useRealTools(t, path)
	dir := filepath.Join(filepath.Dir(e.exe), "My Tools")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ran := filepath.Join(dir, "ran")
	e.exe = writeExec(t, filepath.Join(dir, "trustlaunch"), "#!/bin/sh\n: > '"+ran+"'\n")
	r, err := Register(t.Context(), e.opts())
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if !strings.Contains(problemsText(r, true), "needs quotes") {
		t.Errorf("Register did not warn about the quoted path; problems:\n%s", problemsText(r, true))
	}
	t.Setenv("DISPLAY", ":0")
	out, err := exec.CommandContext(t.Context(), "xdg-open", "trustlaunch://launch?url=https%3A%2F%2Fx").CombinedOutput()
	if _, serr := os.Stat(ran); serr == nil {
		t.Fatalf("xdg-open ran the quoted Exec path (%v, %s): the warning in quotedExecWarning is stale for this xdg-utils", err, out)
	}
	if err == nil {
		t.Errorf("xdg-open succeeded without running the handler: %s", out)
	}
}

func TestDesktopEntriesValidate(t *testing.T) {
	if _, err := exec.LookPath("desktop-file-validate"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("desktop-file-validate not found: CI must install desktop-file-utils (test.sh does)")
		}
		t.Skip("desktop-file-validate not found; install desktop-file-utils")
	}
	dir := testtmp.Dir(t)
	for name, exe := range map[string]string{"plain": "/usr/bin/trustlaunch", "quoted": `/opt/My "Apps"/$x\y/trust%launch`} {
		line, err := desktopExecLine(exe)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name+".desktop")
		if err := os.WriteFile(p, []byte(desktopEntry(line, true)), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("desktop-file-validate", p).CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) != 0 {
			t.Errorf("desktop-file-validate %s (Exec=%s): %v\n%s", name, line, err, out)
		}
	}
	out, err := exec.Command("desktop-file-validate", filepath.Join("..", "packaging", "trustlaunch.desktop")).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("desktop-file-validate packaging/trustlaunch.desktop: %v\n%s", err, out)
	}
}
