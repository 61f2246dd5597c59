package platform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// URLScheme is the scheme of the links that trustlaunch handles.
const URLScheme = "trustlaunch"

// RegisterOptions says which registration Register, Unregister and
// CheckRegistration work on.
type RegisterOptions struct {
	// System selects the machine-wide registration, for every user:
	// /usr/share/applications on Linux, HKLM\Software\Classes on Windows.
	// Otherwise the current user's: $XDG_DATA_HOME/applications and the
	// user's mimeapps.list, HKCU\Software\Classes.
	System bool
	// Force lets Register replace a registration it did not write: another
	// application's default handler for trustlaunch:// links, or a
	// trustlaunch.desktop file or registry key made by hand or by a package.
	Force bool
	// Executable is the absolute path of the trustlaunch binary that links
	// should run; "" means the running executable with symlinks resolved.
	Executable string

	// test holds overrides that only this package's tests set.
	test registerHooks
}

// registerHooks redirect registration away from the real machine in tests.
// The zero value is what users get.
type registerHooks struct {
	// systemAppsDir replaces /usr/share/applications (Linux, System).
	systemAppsDir string
	// trustedDir is passed to checkAdminFile for the executable (System),
	// because test binaries live under /tmp, which no admin path may.
	trustedDir string
	// userClasses and machineClasses replace the Software\Classes keys of
	// HKCU and HKLM; both are then opened under HKCU (Windows).
	userClasses, machineClasses string
}

// Report lists what Register, Unregister or CheckRegistration found and did,
// and what is wrong. It is for people: the CLI prints Findings as
// "name: value" lines and each Problem as an error or warning with its fix.
type Report struct {
	Findings []Finding
	Problems []Problem
}

// Finding is one fact, such as "desktop entry" = "/home/u/.local/share/...".
type Finding struct {
	Name, Value string
}

// Problem is something wrong with the registration and how to fix it.
type Problem struct {
	What string // what is wrong, naming the file, key or command
	Fix  string // a command or step that fixes it
	// Warning marks a problem that does not stop trustlaunch:// links from
	// reaching this binary, such as a stale MIME cache.
	Warning bool
}

// OK reports whether the report has no problem other than warnings.
func (r *Report) OK() bool {
	for _, p := range r.Problems {
		if !p.Warning {
			return false
		}
	}
	return true
}

func (r *Report) add(name, format string, args ...any) {
	r.Findings = append(r.Findings, Finding{Name: name, Value: fmt.Sprintf(format, args...)})
}

func (r *Report) problem(what, fix string) {
	r.Problems = append(r.Problems, Problem{What: what, Fix: fix})
}

func (r *Report) warn(what, fix string) {
	r.Problems = append(r.Problems, Problem{What: what, Fix: fix, Warning: true})
}

// RegisterError is a registration step that failed for a reason the user
// can act on; Fix says how.
type RegisterError struct {
	Err error
	Fix string
}

func (e *RegisterError) Error() string { return e.Err.Error() }
func (e *RegisterError) Unwrap() error { return e.Err }

// Hint returns Fix, the advice callers find by a Hint method on any error
// that carries one.
func (e *RegisterError) Hint() string { return e.Fix }

// Errors that RegisterError wraps, for errors.Is. A missing tool (xdg-mime)
// wraps exec.ErrNotFound; macOS wraps errors.ErrUnsupported.
var (
	// ErrOtherHandler: another application is the default handler for
	// trustlaunch:// links, and Force was not set.
	ErrOtherHandler = errors.New("another application handles trustlaunch:// links")
	// ErrNotOurs: the trustlaunch.desktop file or registry key that
	// Register would write exists and was not written by Register, and
	// Force was not set.
	ErrNotOurs = errors.New("not written by trustlaunch register")
	// ErrMSIOwned: the registry key was written by the trustlaunch MSI
	// (Windows), so Unregister leaves it to the MSI's uninstall, and
	// Register replaces it only with Force.
	ErrMSIOwned = errors.New("written by the trustlaunch MSI")
)

func fixErr(fix string, format string, args ...any) error {
	return &RegisterError{Err: fmt.Errorf(format, args...), Fix: fix}
}

// Register makes the trustlaunch binary the handler for trustlaunch:// links
// and returns what it did; its Problems are warnings only. On Linux it
// writes the desktop entry trustlaunch.desktop, runs update-desktop-database
// and, for the user, xdg-mime default; on Windows it writes the
// Software\Classes\trustlaunch key; on macOS it registers the app bundle
// that holds the executable with Launch Services (register_darwin.go).
//
// Register replaces only what it wrote itself (marked with registerMarker),
// unless opts.Force is set. With opts.System the executable must pass
// CheckAdminFile: a binary that a user can replace would run as every user
// who clicks a link.
//
// Errors are *RegisterError with a Fix.
func Register(ctx context.Context, opts RegisterOptions) (Report, error) {
	exe, err := registerExecutable(opts)
	if err != nil {
		return Report{}, err
	}
	r, err := register(ctx, opts, exe)
	if err == nil && isUnder(exe, os.TempDir()) {
		r.warn(fmt.Sprintf("%s is in the temporary directory %s, which is cleaned up: links fail once it is gone", exe, os.TempDir()),
			"install trustlaunch in a permanent place (/usr/local/bin, ~/.local/bin, Program Files) and register that copy")
	}
	return r, err
}

// isUnder reports whether p is dir or below it, comparing paths with
// symlinks resolved where possible (macOS's /tmp is /private/tmp).
func isUnder(p, dir string) bool {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// Unregister removes what Register wrote in the scope opts.System selects,
// and nothing else: a handler or file that Register did not write is left
// in place and named in the report. Removing nothing is not an error.
func Unregister(ctx context.Context, opts RegisterOptions) (Report, error) {
	return unregister(ctx, opts)
}

// CheckRegistration reports how trustlaunch:// links are handled: which
// handler the system picks, whether it runs the executable of opts, and
// what is wrong, each with a fix. It changes nothing. Report.OK is false
// when links would not reach that executable.
func CheckRegistration(ctx context.Context, opts RegisterOptions) (Report, error) {
	exe, err := registerExecutable(opts)
	if err != nil {
		return Report{}, err
	}
	return checkRegistration(ctx, opts, exe)
}

// registerExecutable returns the absolute, symlink-free path of the binary
// to register. A binary that "go run" or "go test" built is refused: it is
// deleted when the command ends, and every link would then fail.
func registerExecutable(opts RegisterOptions) (string, error) {
	exe := opts.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return "", fmt.Errorf("find this executable: %w", err)
		}
	}
	if !filepath.IsAbs(exe) {
		return "", fmt.Errorf("executable %q is not an absolute path", exe)
	}
	real, err := filepath.EvalSymlinks(exe)
	if err != nil {
		return "", fmt.Errorf("resolve executable: %w", err)
	}
	if isGoBuildTemp(real) {
		return "", fixErr("build it first, e.g. go build -o ~/.local/bin/trustlaunch ./cmd/trustlaunch, then run ~/.local/bin/trustlaunch register",
			"%s is a temporary binary from go run or go test, which is deleted when it exits", real)
	}
	if opts.System {
		// The system handler runs as whoever clicks a link, so it gets the
		// admin file rule: root (or Administrators) own it and every
		// directory above it.
		if err := checkAdminFile(real, opts.test.trustedDir); err != nil {
			fix := "install trustlaunch where only administrators can write (/usr/bin, Program Files) and register that copy"
			var u *UnsafeFileError
			if errors.As(err, &u) {
				fix = u.Fix + "; or " + fix
			}
			return "", &RegisterError{Err: fmt.Errorf("a system-wide handler must be a binary only administrators can replace: %w", err), Fix: fix}
		}
	}
	return real, nil
}

// isGoBuildTemp reports whether p is inside a go-build* work directory.
func isGoBuildTemp(p string) bool {
	for _, part := range splitPath(p) {
		if strings.HasPrefix(part, "go-build") {
			return true
		}
	}
	return false
}

// ---- Desktop entries (Linux), pure so they are tested on every OS ----

const (
	desktopFileID = URLScheme + ".desktop"
	schemeMIME    = "x-scheme-handler/" + URLScheme
	// registerMarker is the key Register adds to the entries it writes, so
	// Unregister removes only those. A package's entry has no marker.
	registerMarker = "X-Trustlaunch-Registered-By"
	markerValue    = "trustlaunch register"
)

// openArgs are the arguments after the executable in every registration:
// the link only after "--" and as the only argument (docs/design.md "The
// link and the descriptor URL").
var openArgs = []string{"open", "--"}

// desktopReserved are the characters that force an Exec argument into
// double quotes (Desktop Entry Specification 1.5, "The Exec key").
const desktopReserved = " \t\n\"'\\><~|&;$*?#()`"

// desktopExecArg quotes arg for an Exec value as the Desktop Entry
// Specification says, in the two layers it defines: first "%" becomes "%%"
// and an argument holding a reserved character is put in double quotes,
// with `"`, "`", "$" and "\" backslash-escaped inside; then the string-value
// escape turns each "\" into "\\". So a literal backslash in a quoted
// argument is four backslashes in the file, as the specification notes.
//
// An argument without reserved characters is not quoted: xdg-open's
// generic mode (used without a desktop environment, e.g. by Chromium under
// Xvfb) and xdg-mime take the first space-separated word of Exec as the
// program and do not understand quotes.
//
// Control characters and invalid UTF-8 cannot be represented and are
// refused.
func desktopExecArg(arg string) (string, error) {
	if arg == "" {
		return "", errors.New("empty argument")
	}
	if !utf8.ValidString(arg) {
		return "", fmt.Errorf("%q is not valid UTF-8", arg)
	}
	for _, r := range arg {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("%q contains a control character", arg)
		}
	}
	a := strings.ReplaceAll(arg, "%", "%%")
	if strings.ContainsAny(a, desktopReserved) {
		var b strings.Builder
		b.WriteByte('"')
		for _, r := range a {
			if strings.ContainsRune("\"`$\\", r) {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
		a = b.String()
	}
	return strings.ReplaceAll(a, `\`, `\\`), nil
}

// desktopExecLine returns the Exec value that runs exe with "open -- %u".
func desktopExecLine(exe string) (string, error) {
	if !strings.HasPrefix(exe, "/") {
		return "", fmt.Errorf("executable %q is not an absolute path", exe)
	}
	q, err := desktopExecArg(exe)
	if err != nil {
		return "", fmt.Errorf("executable path cannot be written in a desktop entry: %w", err)
	}
	return q + " " + strings.Join(openArgs, " ") + " %u", nil
}

// desktopEntry returns the content of trustlaunch.desktop for an Exec
// value. withMarker adds registerMarker; the packaged file has none.
//
// Terminal=false: trustlaunch needs a terminal only to ask the trust
// prompt, and package tui opens a terminal window for that itself when it
// has none (NewWindowPrompter). Terminal=true would open an empty terminal
// for every launch, including those the admin list allows without a
// prompt, and which terminal opens would depend on the desktop: GLib uses
// its own list, xdg-open's generic mode x-terminal-emulator, KDE konsole.
//
// NoDisplay=true: the entry only handles links and is not an application to
// start from a menu.
func desktopEntry(exec string, withMarker bool) string {
	var b strings.Builder
	b.WriteString("[Desktop Entry]\n")
	b.WriteString("Type=Application\n")
	b.WriteString("Name=trustlaunch\n")
	b.WriteString("GenericName=Session launcher\n")
	b.WriteString("Comment=Open trustlaunch:// session links from trusted portals\n")
	b.WriteString("Exec=" + exec + "\n")
	b.WriteString("Terminal=false\n")
	b.WriteString("NoDisplay=true\n")
	b.WriteString("MimeType=" + schemeMIME + ";\n")
	if withMarker {
		b.WriteString(registerMarker + "=" + markerValue + "\n")
	}
	return b.String()
}

// desktopFile is the [Desktop Entry] group of a desktop file.
type desktopFile map[string]string

// parseDesktopFile reads the [Desktop Entry] group: "key=value" lines up to
// the next group, without string-value unescaping (see unescapeDesktopValue)
// and ignoring localized keys ("Name[de]"). A repeated key keeps its first
// value, as GLib does.
func parseDesktopFile(data []byte) desktopFile {
	f := desktopFile{}
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		t := strings.TrimSpace(line)
		switch {
		case t == "" || strings.HasPrefix(t, "#"):
			continue
		case strings.HasPrefix(t, "["):
			in = t == "[Desktop Entry]"
			continue
		case !in:
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if _, seen := f[k]; !seen {
			f[k] = strings.TrimSpace(v)
		}
	}
	return f
}

// hasMIME reports whether the MimeType list names mime.
func (f desktopFile) hasMIME(mime string) bool {
	for _, m := range strings.Split(f["MimeType"], ";") {
		if strings.TrimSpace(m) == mime {
			return true
		}
	}
	return false
}

// unescapeDesktopValue undoes the string-value escapes \s \n \t \r \\; an
// unknown escape is kept as it is, for the Exec quoting layer to read.
func unescapeDesktopValue(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' || i+1 == len(v) {
			b.WriteByte(v[i])
			continue
		}
		i++
		switch v[i] {
		case 's':
			b.WriteByte(' ')
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '\\':
			b.WriteByte('\\')
		default:
			b.WriteByte('\\')
			b.WriteByte(v[i])
		}
	}
	return b.String()
}

// splitDesktopExec splits an Exec value (as stored in the file) into its
// arguments, undoing both quoting layers. Field codes stay as they are
// ("%u"); "%%" in the program path is turned back into "%" by the caller
// through unpercent, since only the caller knows which arguments are paths.
func splitDesktopExec(value string) ([]string, error) {
	s := unescapeDesktopValue(value)
	var args []string
	var cur strings.Builder
	inArg, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\\' && i+1 < len(s) && strings.IndexByte("\"`$\\", s[i+1]) >= 0:
			i++
			cur.WriteByte(s[i])
		case quoted && c == '"':
			quoted = false
		case quoted:
			cur.WriteByte(c)
		case c == '"':
			quoted, inArg = true, true
		case c == ' ' || c == '\t':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteByte(c)
			inArg = true
		}
	}
	if quoted {
		return nil, errors.New("unterminated double quote")
	}
	if inArg {
		args = append(args, cur.String())
	}
	if len(args) == 0 {
		return nil, errors.New("empty Exec value")
	}
	return args, nil
}

// unpercent turns the "%%" escapes of an Exec argument back into "%".
func unpercent(s string) string { return strings.ReplaceAll(s, "%%", "%") }

// execTarget returns the program an Exec value runs and whether the rest is
// exactly "open -- %u".
func execTarget(value string) (program string, openURL bool, err error) {
	args, err := splitDesktopExec(value)
	if err != nil {
		return "", false, err
	}
	want := append(append([]string(nil), openArgs...), "%u")
	ok := len(args) == len(want)+1
	for i := 0; ok && i < len(want); i++ {
		ok = args[i+1] == want[i]
	}
	return unpercent(args[0]), ok, nil
}

// ---- Windows command lines, pure so they are tested on every OS ----

// isWindowsAbs reports whether p is an absolute Windows path, "C:\..." or
// "\\server\share\...", whatever OS this runs on.
func isWindowsAbs(p string) bool {
	if len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') {
		c := p[0] | 0x20
		return c >= 'a' && c <= 'z'
	}
	return strings.HasPrefix(p, `\\`) && len(p) > 2 && p[2] != '\\'
}

// windowsOpenCommand returns the shell\open\command value for exe:
//
//	"C:\Program Files\trustlaunch\trustlaunch.exe" open -- "%1"
//
// The program is always quoted: Windows splits an unquoted path with
// spaces and may then run C:\Program.exe. A Windows file name cannot hold
// `"`, so quoting needs no escapes, but the path is refused if it contains
// one, a control character, or "%", which the shell would read as a
// parameter ("%1", "%L") when it substitutes the URL.
//
// "%1" is quoted so that a URL with spaces stays one argument. A URL that
// contains a double quote could still end it early and add arguments; the
// browser percent-encodes quotes, and "open" refuses anything but exactly
// one argument after "--", so the worst a crafted link gets is a usage
// error (the class of CVE-2018-1000006).
func windowsOpenCommand(exe string) (string, error) {
	if !isWindowsAbs(exe) {
		return "", fmt.Errorf("executable %q is not an absolute Windows path", exe)
	}
	for _, r := range exe {
		switch {
		case r < 0x20 || r == 0x7f:
			return "", fmt.Errorf("executable path %q contains a control character", exe)
		case r == '"':
			return "", fmt.Errorf("executable path %q contains a double quote", exe)
		case r == '%':
			return "", fmt.Errorf("executable path %q contains %%, which the shell would substitute", exe)
		}
	}
	return `"` + exe + `" ` + strings.Join(openArgs, " ") + ` "%1"`, nil
}

// windowsIconValue returns the DefaultIcon value: the executable's first
// icon. The shell splits it at the last comma, so no quoting is needed.
func windowsIconValue(exe string) string { return exe + ",0" }

// The handler key under Software\Classes (Microsoft, "Registering an
// Application to a URI Scheme"): its default value names the scheme, an
// empty "URL Protocol" value marks it as a URL scheme (without it the
// shell and browsers do not launch the handler), DefaultIcon is the icon
// shown for it, and shell\open\command the command line, with "%1" for the
// URL.
const (
	protocolName  = "URL:" + URLScheme + " Protocol"
	urlProtocol   = "URL Protocol"
	commandSubkey = `shell\open\command`
	// msiMarkerPrefix starts the registerMarker value of the keys the MSI
	// writes (packaging/windows/trustlaunch.wxs): "trustlaunch MSI
	// {ProductCode}", so Unregister can name the package that owns them.
	msiMarkerPrefix = "trustlaunch MSI"
	// friendlyAppName is the FriendlyAppName value on shell\open, so that
	// browsers ask "Open trustlaunch?" rather than show the file name.
	// Chromium and Edge get the name from the shell's association query
	// (AssocQueryString with ASSOCF_IS_PROTOCOL, ASSOCSTR_FRIENDLYAPPNAME).
	// What Microsoft documents: the URI-scheme page names no such value;
	// "Application Registration" documents FriendlyAppName for
	// HKCR\Applications\<exe>; without one the shell uses the FileDescription
	// of the executable's version resource, which is "trustlaunch" as well
	// (packaging/windows/winres.json). The verb key is where other URL
	// handlers' installers put it and keeps the name with the scheme's key
	// (HKCR\Applications\trustlaunch.exe would be shared by every copy).
	// FriendlyTypeName, on the scheme's key, describes the scheme, not the
	// program. Wine has no browser dialog to confirm which one is shown.
	friendlyAppName      = "trustlaunch"
	friendlyAppNameValue = "FriendlyAppName"
	openSubkey           = `shell\open`
)

// regValue is one string value of the handler key: Name under Subkey
// ("" is the key itself; Name "" is the default value).
type regValue struct {
	Subkey, Name, Value string
}

// windowsHandlerValues returns every value of the handler key for exe, in
// the order Register writes them, with marker as registerMarker's value.
// It is the one definition of the key: Register writes it, and a test holds
// the MSI's copy in packaging/windows/trustlaunch.wxs to it.
func windowsHandlerValues(exe, cmd, marker string) []regValue {
	return []regValue{
		{"", "", protocolName},
		{"", urlProtocol, ""},
		{"", registerMarker, marker},
		{"DefaultIcon", "", windowsIconValue(exe)},
		{openSubkey, friendlyAppNameValue, friendlyAppName},
		{commandSubkey, "", cmd},
	}
}

// windowsCommandProgram returns the program a shell\open\command value
// runs, as CreateProcess finds it: the text up to the closing quote when it
// starts with one, else up to the first space; and whether the rest is
// exactly our `open -- "%1"`.
func windowsCommandProgram(cmd string) (program string, openURL bool) {
	cmd = strings.TrimLeft(cmd, " \t")
	var rest string
	if strings.HasPrefix(cmd, `"`) {
		end := strings.IndexByte(cmd[1:], '"')
		if end < 0 {
			return cmd[1:], false
		}
		program, rest = cmd[1:1+end], cmd[2+end:]
	} else {
		program, rest, _ = strings.Cut(cmd, " ")
	}
	return program, strings.Join(strings.Fields(rest), " ") == strings.Join(openArgs, " ")+` "%1"`
}
