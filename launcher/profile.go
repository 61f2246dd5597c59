package launcher

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/BurntSushi/toml"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/internal/tomlpos"
	"github.com/trustlaunch/trustlaunch/platform"
)

// ProfileKind says what a profile starts.
type ProfileKind int

const (
	// ProfileCommand runs an emulator command from the profile's Argv.
	ProfileCommand ProfileKind = iota
	// ProfileRaw runs no command: the caller relays this terminal to the
	// tunnel itself (the demo uses it).
	ProfileRaw
	// ProfileNone runs no command: the caller prints the local address and
	// waits for Ctrl-C, for an emulator the user starts by hand.
	ProfileNone
)

// String returns "command", "raw" or "none".
func (k ProfileKind) String() string {
	switch k {
	case ProfileCommand:
		return "command"
	case ProfileRaw:
		return "raw"
	case ProfileNone:
		return "none"
	}
	return "ProfileKind(" + strconv.Itoa(int(k)) + ")"
}

// Profile is one emulator profile: how to start an emulator pointed at the
// tunnel's local end. Profiles are defined on this machine only; a descriptor
// can name one and nothing more (docs/design.md "The descriptor").
type Profile struct {
	Name string
	Kind ProfileKind
	// Argv is the command template of a ProfileCommand: Argv[0] is a bare
	// name looked up in PATH or an absolute path, and arguments may hold
	// the placeholders {host}, {port} and {session}.
	Argv []string
	// Source is where the profile was defined: "built-in" or "FILE:LINE".
	Source string
	// Terminal says the emulator runs in a terminal (c3270, tn5250,
	// telnet). A launch without one (started by a browser) runs it in a
	// terminal window; see Options.InTerminal.
	Terminal bool
	// ListenPort fixes the port of the tunnel's local end (on 127.0.0.1),
	// for an emulator that reads host and port from its own session file
	// and cannot be given {port} (IBM Personal Communications, Access
	// Client Solutions); 0, the default, lets the system choose a free
	// port. Only the administrator's profiles.toml may set it
	// (listen_port); see decodeProfile for why.
	ListenPort int
	// listenSource is where listen_port was set, FILE:LINE.
	listenSource string
}

// Placeholders a profile argument may hold.
var placeholders = []string{"host", "port", "session"}

// Limits on profiles.toml, far above any real file.
const (
	maxProfileFileBytes = 1 << 20
	maxProfileArgs      = 128
	maxProfileArgBytes  = 4 << 10
)

// builtinProfilesFor returns the profiles every installation on goos has
// (runtime.GOOS for this one; a parameter so that every OS's set is tested
// on any). Their commands take the host as host:port (telnet as two
// arguments), which is how each of these programs reads it.
//
// On Windows the x3270 suite's programs are wc3270 (console, the
// counterpart of c3270) and ws3270 (scripted, of s3270); its printer
// session, wpr3287, takes an LU to print for rather than a terminal
// session, so it is left to an administrator's profile. The Unix names are
// not defined there: a descriptor naming c3270 on Windows gets "unknown
// profile" and the list of the profiles there are, not a hint to apt.
func builtinProfilesFor(goos string) map[string]*Profile {
	cmd := func(name string, terminal bool, argv ...string) *Profile {
		return &Profile{Name: name, Kind: ProfileCommand, Argv: argv, Source: "built-in", Terminal: terminal}
	}
	ps := map[string]*Profile{
		"telnet": cmd("telnet", true, "telnet", "{host}", "{port}"),
		"raw":    {Name: "raw", Kind: ProfileRaw, Source: "built-in"},
		"none":   {Name: "none", Kind: ProfileNone, Source: "built-in"},
	}
	if goos == "windows" {
		ps["wc3270"] = cmd("wc3270", true, x3270Suite("wc3270")...)  // a console program
		ps["ws3270"] = cmd("ws3270", false, x3270Suite("ws3270")...) // scripted, no screen
		return ps
	}
	ps["c3270"] = cmd("c3270", true, x3270Suite("c3270")...)
	ps["x3270"] = cmd("x3270", false, x3270Suite("x3270")...) // its own X11 window
	ps["s3270"] = cmd("s3270", false, x3270Suite("s3270")...) // scripted, no screen
	ps["tn5250"] = cmd("tn5250", true, "tn5250", "{host}:{port}")
	return ps
}

// DefaultNOPSeconds is how often the built-in x3270-suite profiles make
// the emulator send a TELNET NOP (IAC NOP, RFC 854) on an idle session.
// Proxies cut idle tunnels by counting bytes (Squid's read_timeout,
// 15 minutes by default, often set lower; firewalls and NAT after a few
// minutes), and TCP keepalive carries none they count: a NOP a minute
// keeps a screen left open over lunch alive for a few bytes.
// An administrator changes it by defining the profile in profiles.toml
// with another value (docs/admin.md, "Idle sessions").
const DefaultNOPSeconds = 60

// x3270Suite is the command of a built-in x3270-suite emulator (c3270,
// x3270, s3270, and wc3270/ws3270 on Windows): program -xrm
// "program.nopSeconds: N" host:port. The resource is named after the
// program, which reads only its own (x3270 4.x resources).
func x3270Suite(program string) []string {
	return []string{program, "-xrm", program + ".nopSeconds: " + strconv.Itoa(DefaultNOPSeconds), "{host}:{port}"}
}

// debianPackages maps an emulator command to the Debian (and Ubuntu)
// package that provides it, for the "not found" hint.
var debianPackages = map[string]string{
	"c3270":  "c3270",
	"x3270":  "x3270",
	"s3270":  "s3270",
	"tn5250": "tn5250",
	"telnet": "telnet",
	"ssh":    "openssh-client",
}

// windowsDownloads says, for an emulator command on Windows, what provides
// it, for the "not found" hint.
var windowsDownloads = map[string]string{
	"wc3270": x3270WindowsInstaller,
	"ws3270": x3270WindowsInstaller,
	"telnet": `turn on the Windows feature "Telnet Client" (as an administrator: dism /online /Enable-Feature /FeatureName:TelnetClient)`,
	"ssh":    `turn on the Windows feature "OpenSSH Client" (Settings, Optional features)`,
}

// x3270WindowsInstaller is where wc3270 and ws3270 come from: one
// installer for the x3270 suite's Windows programs.
const x3270WindowsInstaller = "install the x3270 suite for Windows (wc3270-VERSION-setup.exe from https://x3270.bgp.nu/download.html)"

// InstallHint says how to install the emulator command names on this
// OS, "" when we do not know.
func InstallHint(command string) string { return installHint(runtime.GOOS, command) }

// installHint says how to install the emulator command names on goos, ""
// when we do not know. On Windows the name is read as Windows reads it
// (case-insensitive, .exe optional).
func installHint(goos, command string) string {
	if goos != "windows" {
		if pkg := debianPackages[filepath.Base(command)]; pkg != "" {
			return fmt.Sprintf("install the %s package (Debian, Ubuntu: sudo apt install %s)", pkg, pkg)
		}
		return ""
	}
	base := command
	if i := strings.LastIndexAny(base, `\/`); i >= 0 {
		base = base[i+1:]
	}
	base = strings.TrimSuffix(strings.ToLower(base), ".exe")
	hint := windowsDownloads[base]
	if hint == x3270WindowsInstaller {
		hint += ", which provides " + base + ".exe"
	}
	return hint
}

// DefaultAdminProfilesFile returns the admin profiles file,
// profiles.toml in platform.AdminDir (for example
// /etc/trustlaunch/profiles.toml).
func DefaultAdminProfilesFile() string { return filepath.Join(platform.AdminDir(), "profiles.toml") }

// DefaultUserProfilesFile returns the user's profiles file, profiles.toml in
// platform.UserConfigDir (for example ~/.config/trustlaunch/profiles.toml).
func DefaultUserProfilesFile() (string, error) {
	dir, err := platform.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "profiles.toml"), nil
}

// ProfileOptions configures LoadProfiles.
type ProfileOptions struct {
	// AdminFile is the admin profiles file, DefaultAdminProfilesFile() when
	// empty. It must pass platform.CheckAdminFile.
	AdminFile string
	// UserFile is the user's profiles file, DefaultUserProfilesFile() when
	// empty. It is read only if it passes platform.CheckUserFile's rule.
	UserFile string

	// checkAdmin replaces platform.CheckAdminFile in tests.
	checkAdmin func(path string) error
}

// Profiles is the set of profiles a launch can name.
type Profiles struct {
	byName map[string]*Profile
	// broken holds the names whose definition has problems: Resolve
	// refuses them with the first problem, and they hide what they would
	// have overridden.
	broken map[string]*ProfileFileError
	// Warnings are problems that did not stop loading, such as a user
	// profile ignored because an administrator defined the same name, or
	// a profile with problems that only a launch naming it stops at. The
	// caller shows them.
	Warnings []string
	// Problems is every problem of the files read, admin file first, for
	// `trustlaunch profiles list` and doctor.
	Problems []*ProfileFileError
	// Files says, for the admin and the user file, what became of it.
	Files []ProfileFileState
}

// ProfileFileState is what LoadProfiles did with one profiles.toml.
type ProfileFileState struct {
	Path  string
	Admin bool
	// Read is true when the file was read; Absent when it does not exist;
	// Ignored is the reason a user file was not read (it failed the
	// ownership rule).
	Read    bool
	Absent  bool
	Ignored string
}

// ProfileFileError is a problem in a profiles.toml. Line is 0 when the
// TOML library gives no position.
type ProfileFileError struct {
	Path    string
	Line    int
	Profile string // the profile at fault, when there is one
	Msg     string
}

func (e *ProfileFileError) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Profile != "" {
		fmt.Fprintf(&b, "profile %s: ", safetext.Quote(e.Profile))
	}
	b.WriteString(e.Msg)
	return b.String()
}

// LoadProfiles returns the built-in profiles, overridden and extended by
// the admin file and then by the user file:
//
//	[profile.payroll-3270]
//	command = ["c3270", "-model", "3279-4-E", "{host}:{port}"]
//
// An admin file that fails platform.CheckAdminFile is an error, never
// skipped: its profiles are commands the machine runs on a server's word.
// A user file that fails platform.CheckUserFile (another user owns it or
// can write it or its directory, or it is a symlink) is ignored as a
// whole, with a warning that names it and the fix, as the user whitelist
// is: its commands would run as this user, without a prompt, from any
// listed portal's descriptor that names them. A missing file is fine.
//
// Precedence: an administrator's profile wins over a user's of the same
// name, which is ignored with a warning, so that an administrator can pin
// what a name runs for everyone; users may add names and override the
// built-in command profiles. The built-ins "raw" and "none" run no command
// and cannot be redefined.
//
// Files are decoded strictly: an unknown key, a bad profile name, an
// unknown placeholder or an argv[0] that is a relative path is an error
// naming FILE:LINE and the profile.
func LoadProfiles(opts ProfileOptions) (*Profiles, error) {
	ps := &Profiles{byName: builtinProfilesFor(runtime.GOOS), broken: map[string]*ProfileFileError{}}
	adminPath := opts.AdminFile
	if adminPath == "" {
		adminPath = DefaultAdminProfilesFile()
	}
	check := opts.checkAdmin
	if check == nil {
		check = platform.CheckAdminFile
	}
	admin, err := loadAdminProfiles(adminPath, check)
	if err != nil {
		return nil, err
	}
	ps.Files = append(ps.Files, ProfileFileState{Path: adminPath, Admin: true, Read: admin != nil, Absent: admin == nil})
	adminNames := map[string]string{}
	if admin != nil {
		ps.merge(admin)
		for _, p := range admin.profiles {
			adminNames[p.Name] = p.Source
		}
		for name, e := range admin.broken {
			adminNames[name] = fmt.Sprintf("%s:%d", e.Path, e.Line)
		}
	}

	userPath := opts.UserFile
	if userPath == "" {
		if userPath, err = DefaultUserProfilesFile(); err != nil {
			ps.Warnings = append(ps.Warnings, fmt.Sprintf("user profiles not loaded: %v", err))
			return ps, nil
		}
	}
	user, warning, err := loadUserProfiles(userPath, adminPath)
	if err != nil {
		return nil, err
	}
	ps.Files = append(ps.Files, ProfileFileState{Path: userPath, Read: user != nil, Absent: user == nil && warning == "", Ignored: warning})
	if warning != "" {
		ps.Warnings = append(ps.Warnings, warning)
	}
	if user != nil {
		for _, p := range user.profiles {
			if src, ok := adminNames[p.Name]; ok {
				ps.Warnings = append(ps.Warnings, fmt.Sprintf("%s: profile %s is ignored: the administrator defines it at %s, and that definition wins", p.Source, safetext.Quote(p.Name), src))
			}
		}
		for name := range adminNames {
			delete(user.broken, name)
			user.profiles = slices.DeleteFunc(user.profiles, func(p *Profile) bool { return p.Name == name })
		}
		ps.merge(user)
	}
	return ps, nil
}

// merge lays a file's profiles over ps: its usable profiles replace the
// names they define, and its broken ones mark the names they meant to
// define, so that a launch naming one stops rather than running what the
// broken definition was written to replace.
func (ps *Profiles) merge(pf *profileFile) {
	for _, p := range pf.profiles {
		ps.byName[p.Name] = p
		delete(ps.broken, p.Name)
	}
	for name, e := range pf.broken {
		// A name no descriptor can carry, and the built-ins that cannot
		// be redefined, keep what they are.
		if descriptor.ProfileNameProblem(name) == "" && name != "raw" && name != "none" {
			ps.broken[name] = e
			delete(ps.byName, name)
		}
	}
	for _, e := range pf.problems {
		ps.Warnings = append(ps.Warnings, e.Error()+"; a launch naming this profile stops until it is fixed, the others run")
	}
	ps.Problems = append(ps.Problems, pf.problems...)
}

func loadAdminProfiles(path string, check func(string) error) (*profileFile, error) {
	if err := check(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("admin profiles: %w", err)
	}
	data, err := platform.ReadRegularFile(path, maxProfileFileBytes)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil // removed after the check: as if it never existed
		}
		return nil, fmt.Errorf("profiles: %w", err)
	}
	pf, err := parseProfileFile(path, data, "")
	if err != nil {
		return nil, err
	}
	return &pf, nil
}

// loadUserProfiles reads the user's profiles.toml at path through
// platform.ReadUserFile, which applies CheckUserFile's rule to the file it
// reads. A file that fails the rule yields no profiles and a warning for
// LoadProfiles; a missing one, nothing. adminFile is the administrator's
// profiles.toml, for parseProfileFile.
func loadUserProfiles(path, adminFile string) (pf *profileFile, warning string, err error) {
	data, err := platform.ReadUserFile(path, maxProfileFileBytes)
	var unsafe *platform.UnsafeFileError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, "", nil
	case errors.As(err, &unsafe) && unsafe.Missing:
		// No file in a directory others could write: nothing to ignore
		// (the user whitelist's warning names the directory), and a file
		// planted there later is refused as this one would be.
		return nil, "", nil
	case errors.As(err, &unsafe):
		return nil, fmt.Sprintf("ignoring your profiles file, so only the built-in and the administrator's profiles can be used: %v; fix: %s", err, unsafe.Fix), nil
	case err != nil:
		return nil, "", fmt.Errorf("profiles: %w", err)
	}
	parsed, err := parseProfileFile(path, data, adminFile)
	if err != nil {
		return nil, "", err
	}
	return &parsed, "", nil
}

// CheckProfileFile lints the profiles.toml at path without the ownership
// checks, for `trustlaunch profiles check` (an administrator's draft):
// the usable profiles and every problem. user reads it as a user's file
// (no listen_port). err is for a file that cannot be read; a file that
// is not TOML is a problem like any other.
func CheckProfileFile(path string, user bool) ([]*Profile, []*ProfileFileError, error) {
	data, err := platform.ReadRegularFile(path, maxProfileFileBytes)
	if err != nil {
		return nil, nil, err
	}
	adminFile := ""
	if user {
		adminFile = DefaultAdminProfilesFile()
	}
	pf, _ := parseProfileFile(path, data, adminFile)
	return pf.profiles, pf.problems, nil
}

// All returns every profile that can be launched, sorted by name.
func (ps *Profiles) All() []*Profile {
	out := make([]*Profile, 0, len(ps.byName))
	for _, n := range slices.Sorted(maps.Keys(ps.byName)) {
		out = append(out, ps.byName[n])
	}
	return out
}

// Broken returns the names that cannot be launched and why, sorted.
func (ps *Profiles) Broken() []*ProfileFileError {
	out := make([]*ProfileFileError, 0, len(ps.broken))
	for _, n := range slices.Sorted(maps.Keys(ps.broken)) {
		out = append(out, ps.broken[n])
	}
	return out
}

// Names returns the names of all profiles, sorted.
func (ps *Profiles) Names() []string { return slices.Sorted(maps.Keys(ps.byName)) }

// Resolve returns the profile called name. An unknown name is an error that
// lists the profiles there are.
func (ps *Profiles) Resolve(name string) (*Profile, error) {
	if p, ok := ps.byName[name]; ok {
		return p, nil
	}
	if e, ok := ps.broken[name]; ok {
		return nil, e
	}
	return nil, fmt.Errorf("unknown profile %s; available: %s", safetext.QuoteExcerpt(name, 80), strings.Join(ps.Names(), ", "))
}

// MissingCommandError is an emulator that is not installed. How to install
// it is its Hint, not part of its text: the CLI prints it on a line of its
// own, as it does every error's advice.
type MissingCommandError struct {
	Profile string
	Command string // argv[0] of the profile
	Package string // the Debian package that provides it, "" when unknown or on Windows
	Fix     string // how to install it on this OS, "" when unknown
	Err     error  // from exec.LookPath
}

func (e *MissingCommandError) Error() string {
	msg := fmt.Sprintf("profile %s: %s ", safetext.Quote(e.Profile), safetext.Quote(e.Command))
	switch {
	case errors.Is(e.Err, exec.ErrDot):
		msg += "was found only relative to the current directory, which is never run"
	case filepath.IsAbs(e.Command):
		msg += "is not an executable file"
	default:
		msg += "not found in PATH"
	}
	return msg
}

// Hint says how to install the emulator on this OS, or "" when trustlaunch
// does not know.
func (e *MissingCommandError) Hint() string { return e.Fix }

// Unwrap returns the exec.LookPath error.
func (e *MissingCommandError) Unwrap() error { return e.Err }

// Command returns the argv to run for a ProfileCommand, with {host} and
// {port} replaced by the tunnel's local end and {session} by the
// descriptor's session name as sessionArg leaves it. Each placeholder fills
// part or all of one argument; nothing goes through a shell, so no value
// can add an argument. host is inserted as given (IPv6 without brackets).
//
// Argv[0] of the result is the absolute path of the emulator, looked up in
// PATH when the profile names it bare; a missing emulator is a
// *MissingCommandError with the Debian package to install. On Windows a
// batch file (.bat, .cmd) is refused: Windows runs it through cmd.exe,
// which parses its arguments again, with its own metacharacters.
func (p *Profile) Command(host string, port int, session string) ([]string, error) {
	if p.Kind != ProfileCommand {
		return nil, fmt.Errorf("profile %s runs no command (it is %s)", safetext.Quote(p.Name), p.Kind)
	}
	if len(p.Argv) == 0 {
		return nil, fmt.Errorf("profile %s has no command", safetext.Quote(p.Name))
	}
	if host == "" || port < 1 || port > 65535 {
		return nil, fmt.Errorf("profile %s: invalid local address %s:%d", safetext.Quote(p.Name), safetext.Sanitize(host), port)
	}
	if err := checkArgv(p.Argv); err != nil {
		return nil, fmt.Errorf("profile %s: %s", safetext.Quote(p.Name), err)
	}
	values := map[string]string{"host": host, "port": strconv.Itoa(port), "session": sessionArg(session, runtime.GOOS == "windows")}
	argv := make([]string, len(p.Argv))
	for i, a := range p.Argv {
		argv[i] = expand(a, values)
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		me := &MissingCommandError{Profile: p.Name, Command: argv[0], Fix: installHint(runtime.GOOS, argv[0]), Err: err}
		if runtime.GOOS != "windows" {
			me.Package = debianPackages[filepath.Base(argv[0])]
		}
		return nil, me
	}
	if !filepath.IsAbs(path) {
		if path, err = filepath.Abs(path); err != nil {
			return nil, fmt.Errorf("profile %s: %w", safetext.Quote(p.Name), err)
		}
	}
	if runtime.GOOS == "windows" && isBatchFile(path) {
		return nil, fmt.Errorf("profile %s: %s is a batch file, which Windows runs through cmd.exe with its arguments parsed again: name the emulator's program (.exe)", safetext.Quote(p.Name), safetext.Quote(path))
	}
	argv[0] = path
	return argv, nil
}

// Listen opens the tunnel's local end for a launch with this profile: on
// 127.0.0.1 with a free port, or on the profile's ListenPort. A fixed port
// that cannot be had is an error naming the port, the profile and where
// the port is set; there is no fallback to another port, which the
// emulator's session file would not name.
func (p *Profile) Listen() (net.Listener, error) {
	if p.ListenPort == 0 {
		return connector.Listen("", false)
	}
	ln, err := connector.Listen(net.JoinHostPort("127.0.0.1", strconv.Itoa(p.ListenPort)), false)
	if err == nil {
		return ln, nil
	}
	why := "cannot be opened"
	if reason := listenFailure(err); reason != "" {
		why = reason + "; close it, or ask your administrator to choose another port in profiles.toml and in the emulator's session file"
	}
	return nil, fmt.Errorf("profile %s: local port %d (listen_port, %s) %s: %w", safetext.Quote(p.Name), p.ListenPort, p.listenSource, why, err)
}

// maxSessionArg caps {session}, in characters.
const maxSessionArg = 80

// sessionArg is the value of {session}: the descriptor's session name, a
// string from the network, with only letters, digits, spaces and ._-:,@+ kept
// and every other character (controls, quotes, the metacharacters of shells
// and of cmd.exe, path separators) replaced by "_", at most maxSessionArg
// characters, and a "_" in front of a leading "-" or "+" so that it cannot
// become an option. "#", "(", ")", "[" and "]" are replaced too: a comment
// start and shell syntax, they could cut or break a profile that, against the
// README, puts {session} inside an "sh -c" string.
//
// asciiOnly (Windows) keeps ASCII letters and digits only: Windows hands a
// program that is not Unicode-aware its command line in the ANSI code
// page, with "best fit" mapping, which turns some letters into ASCII
// punctuation (U+02BA MODIFIER LETTER DOUBLE PRIME into a quote) after
// this check.
func sessionArg(session string, asciiOnly bool) string {
	var b strings.Builder
	n := 0
	for _, r := range session {
		if n == maxSessionArg {
			break
		}
		n++
		if asciiOnly && r > unicode.MaxASCII {
			b.WriteByte('_')
		} else if unicode.IsLetter(r) || unicode.IsDigit(r) || r == ' ' || strings.ContainsRune("._-:,@+", r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		s = "_" + s
	}
	return s
}

// isBatchFile reports whether path names a Windows batch file, the way
// Windows reads the name: case-insensitive, trailing dots and spaces
// ignored.
func isBatchFile(path string) bool {
	ext := strings.ToLower(filepath.Ext(strings.TrimRight(path, ". ")))
	return ext == ".bat" || ext == ".cmd"
}

// expand replaces the placeholders in a, which checkArgv has validated.
func expand(a string, values map[string]string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(a, '{')
		if i < 0 {
			b.WriteString(a)
			return b.String()
		}
		j := strings.IndexByte(a[i:], '}')
		b.WriteString(a[:i])
		b.WriteString(values[a[i+1:i+j]])
		a = a[i+j+1:]
	}
}

// checkArgv validates a command template: argv[0] a bare name or an
// absolute path without placeholders (a value from the network must never
// choose the program), every "{" opening one of the known placeholders, no
// NUL bytes, and sizes within the limits.
func checkArgv(argv []string) error {
	if len(argv) == 0 {
		return errors.New("command is empty; want [\"program\", \"arg\", ...]")
	}
	if len(argv) > maxProfileArgs {
		return fmt.Errorf("command has %d arguments, more than %d", len(argv), maxProfileArgs)
	}
	prog := argv[0]
	switch {
	case prog == "":
		return errors.New("command[0] is empty")
	case strings.ContainsAny(prog, "{}"):
		return fmt.Errorf("command[0] %s holds a placeholder; the program must be fixed", safetext.Quote(prog))
	case !filepath.IsAbs(prog) && strings.ContainsAny(prog, `/\`):
		return fmt.Errorf("command[0] %s is a relative path; use a bare name looked up in PATH or an absolute path", safetext.Quote(prog))
	}
	for i, a := range argv {
		if len(a) > maxProfileArgBytes {
			return fmt.Errorf("command[%d] is longer than %d bytes", i, maxProfileArgBytes)
		}
		if strings.IndexByte(a, 0) >= 0 {
			return fmt.Errorf("command[%d] holds a NUL byte", i)
		}
		rest := a
		for {
			k := strings.IndexByte(rest, '{')
			if k < 0 {
				break
			}
			end := strings.IndexByte(rest[k:], '}')
			if end < 0 {
				return fmt.Errorf("command[%d] %s has a \"{\" that opens no placeholder (use {host}, {port} or {session})", i, safetext.QuoteExcerpt(a, 80))
			}
			name := rest[k+1 : k+end]
			if !slices.Contains(placeholders, name) {
				return fmt.Errorf("command[%d] has unknown placeholder %s (use {host}, {port} or {session})", i, safetext.QuoteExcerpt("{"+name+"}", 40))
			}
			rest = rest[k+end+1:]
		}
	}
	return nil
}

// profileFile is a parsed profiles.toml: the profiles that are usable,
// and every problem, each in its profile where it has one.
type profileFile struct {
	profiles []*Profile
	// broken holds, for each [profile.NAME] with problems, the first of
	// them: the name cannot be launched, and still hides what it would
	// override (a built-in, or for an administrator's name the user's).
	broken map[string]*ProfileFileError
	// problems is every problem of the file, in line order.
	problems []*ProfileFileError
}

// parseProfileFile parses data, the content of the profiles.toml at path.
// adminFile is "" for the administrator's file, and for a user's the
// administrator's path, which the error about listen_port names.
//
// A problem inside [profile.NAME] makes that profile unusable and leaves
// the others as they are: a launch that names it stops, the rest run. A
// file that is not TOML, or has keys outside the profile tables, is an
// error as a whole (the *ProfileFileError of its first problem), since
// what it meant cannot be known.
//
// It walks the TOML by hand through toml.Primitive values rather than
// decoding into a struct, because the library reports positions only for
// errors raised while decoding a key: decoding each key on its own, through
// a probe, gives every message its FILE:LINE. MetaData.Undecoded is checked
// at the end as a second lock against keys the walk did not visit.
func parseProfileFile(path string, data []byte, adminFile string) (profileFile, error) {
	pf := profileFile{broken: map[string]*ProfileFileError{}}
	fail := func(line int, format string, args ...any) *ProfileFileError {
		return &ProfileFileError{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	var root map[string]toml.Primitive
	md, err := toml.Decode(string(data), &root)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			err = fail(pe.Position.Line, "%s", safetext.Sanitize(pe.Message))
		} else {
			err = fail(0, "%s", safetext.Sanitize(err.Error()))
		}
		pf.problems = []*ProfileFileError{err.(*ProfileFileError)}
		return pf, err
	}
	var fatal []*ProfileFileError
	for _, key := range slices.Sorted(maps.Keys(root)) {
		if key != "profile" {
			fatal = append(fatal, fail(tomlpos.FirstLine(&md, root[key]), "unknown key %s; the file holds [profile.NAME] tables", safetext.QuoteExcerpt(key, 60)))
		}
	}
	var tables map[string]toml.Primitive
	if prim, ok := root["profile"]; ok {
		if !tomlpos.IsTable(&md, prim) || md.PrimitiveDecode(prim, &tables) != nil {
			fatal = append(fatal, fail(tomlpos.Line(&md, prim), "profile must be tables, as in [profile.NAME]"))
			tables = nil
		}
	}
	for _, name := range slices.Sorted(maps.Keys(tables)) {
		p, probs := decodeProfile(&md, path, name, tables[name], adminFile)
		if len(probs) > 0 {
			pf.broken[name] = probs[0]
			pf.problems = append(pf.problems, probs...)
			continue
		}
		pf.profiles = append(pf.profiles, p)
	}
	if und := md.Undecoded(); len(und) > 0 && len(fatal) == 0 && len(pf.problems) == 0 {
		fatal = append(fatal, fail(0, "unknown key %s", safetext.QuoteExcerpt(und[0].String(), 80)))
	}
	pf.problems = append(pf.problems, fatal...)
	slices.SortStableFunc(pf.problems, func(a, b *ProfileFileError) int { return a.Line - b.Line })
	if len(fatal) > 0 {
		slices.SortStableFunc(fatal, func(a, b *ProfileFileError) int { return a.Line - b.Line })
		return pf, fatal[0]
	}
	return pf, nil
}

// decodeProfile decodes the table [profile.NAME]; adminFile as in
// parseProfileFile. It returns the profile, or every problem found in it.
//
// listen_port is refused in a user's file. A fixed port is one resource
// for the whole machine, not the user's: every user of a terminal server
// would compete for it, and whoever holds it first decides whether
// everybody else's launches run. It must also match the session files
// (PCOMM .ws, ACS .hod) that an administrator deploys, and it is the one
// local port an attacker can know in advance and try to hold; the
// administrator who chooses it is the one who can keep it free.
func decodeProfile(md *toml.MetaData, path, name string, prim toml.Primitive, adminFile string) (*Profile, []*ProfileFileError) {
	line := tomlpos.FirstLine(md, prim)
	var probs []*ProfileFileError
	fail := func(line int, format string, args ...any) {
		probs = append(probs, &ProfileFileError{Path: path, Line: line, Profile: name, Msg: fmt.Sprintf(format, args...)})
	}
	if problem := descriptor.ProfileNameProblem(name); problem != "" {
		return nil, []*ProfileFileError{{Path: path, Line: line, Msg: "invalid profile name: " + problem}}
	}
	if name == "raw" || name == "none" {
		fail(line, "is built in and runs no command; it cannot be redefined")
		return nil, probs
	}
	var keys map[string]toml.Primitive
	if !tomlpos.IsTable(md, prim) || md.PrimitiveDecode(prim, &keys) != nil {
		fail(line, "must be a table with a command, as in [profile.%s]", name)
		return nil, probs
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if k != "command" && k != "terminal" && k != "listen_port" {
			fail(tomlpos.FirstLine(md, keys[k]), "unknown key %s; a profile has command, terminal and (admin only) listen_port", safetext.QuoteExcerpt(k, 60))
			// Decoded as a probe: MetaData.Undecoded must not report it
			// again as a key of the file.
			var v any
			_ = md.PrimitiveDecode(keys[k], &v)
		}
	}
	var listenPort int
	var listenSource string
	if lp, ok := keys["listen_port"]; ok {
		lpLine := tomlpos.Line(md, lp)
		var n int64
		switch {
		case adminFile != "":
			fail(lpLine, "listen_port is allowed only in the administrator's profiles.toml (%s): a fixed port is shared by every user of this machine", adminFile)
		case md.PrimitiveDecode(lp, &n) != nil:
			fail(lpLine, "listen_port must be a number, a port from 1 to 65535")
		case n < 1 || n > 65535:
			fail(lpLine, "listen_port must be a port from 1 to 65535, not %d", n)
		default:
			listenPort, listenSource = int(n), fmt.Sprintf("%s:%d", path, lpLine)
		}
	}
	var terminal bool
	if tp, ok := keys["terminal"]; ok {
		if err := md.PrimitiveDecode(tp, &terminal); err != nil {
			fail(tomlpos.Line(md, tp), "terminal must be true or false")
		}
	}
	var argv []string
	if cmdPrim, ok := keys["command"]; !ok {
		fail(line, "no command; want command = [\"program\", \"{host}:{port}\"]")
	} else {
		cmdLine := tomlpos.Line(md, cmdPrim)
		if err := md.PrimitiveDecode(cmdPrim, &argv); err != nil {
			fail(cmdLine, "command must be an array of strings")
		} else if err := checkArgv(argv); err != nil {
			fail(cmdLine, "%s", err)
		}
	}
	if len(probs) > 0 {
		slices.SortStableFunc(probs, func(a, b *ProfileFileError) int { return a.Line - b.Line })
		return nil, probs
	}
	return &Profile{Name: name, Kind: ProfileCommand, Argv: argv, Source: fmt.Sprintf("%s:%d", path, line), Terminal: terminal, ListenPort: listenPort, listenSource: listenSource}, nil
}
