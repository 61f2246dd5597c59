package platform

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// On Linux a browser hands a trustlaunch:// link to xdg-open (Chromium,
// Chrome) or to GIO (Firefox), and both find the handler the same way
// (freedesktop.org "Association between MIME types and applications"):
// the default for x-scheme-handler/trustlaunch in the mimeapps.list files
// ($XDG_CONFIG_HOME first, then $XDG_CONFIG_DIRS, then the applications
// directories), else an application whose desktop entry lists that MIME
// type, as indexed by update-desktop-database in mimeinfo.cache.
//
// User scope writes $XDG_DATA_HOME/applications/trustlaunch.desktop and
// sets the user's default with xdg-mime, which writes
// $XDG_CONFIG_HOME/mimeapps.list.
//
// System scope writes /usr/share/applications/trustlaunch.desktop and runs
// update-desktop-database, and sets no default: "xdg-mime default" run as
// root writes root's own ~/.config/mimeapps.list (it has no system mode),
// and no package owns a system-wide mimeapps.list that we could edit
// safely. trustlaunch.desktop is then the only application for the scheme,
// which is what xdg-mime and GIO fall back to; a user's own default still
// wins, and an administrator who must enforce it can add
// "x-scheme-handler/trustlaunch=trustlaunch.desktop" to the
// [Default Applications] group of /etc/xdg/mimeapps.list.

const (
	systemAppsDir   = "/usr/share/applications"
	mimeappsList    = "mimeapps.list"
	mimeinfoCache   = "mimeinfo.cache"
	defaultsGroup   = "[Default Applications]"
	toolTimeout     = 30 * time.Second
	xdgUtilsInstall = "install xdg-utils: sudo apt-get install xdg-utils (Fedora: sudo dnf install xdg-utils)"
)

// xdgBase applies the XDG Base Directory rule (see xdgDir) without
// appending trustlaunch's own directory name.
func xdgBase(env, fallback string) (string, error) {
	if base := os.Getenv(env); filepath.IsAbs(base) {
		return filepath.Clean(base), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	if !filepath.IsAbs(home) {
		return "", errors.New("$HOME is not an absolute path")
	}
	return filepath.Join(home, fallback), nil
}

// appsDir is the applications directory of the scope.
func appsDir(opts RegisterOptions) (string, error) {
	if opts.System {
		if opts.test.systemAppsDir != "" {
			return opts.test.systemAppsDir, nil
		}
		return systemAppsDir, nil
	}
	data, err := xdgBase("XDG_DATA_HOME", filepath.Join(".local", "share"))
	if err != nil {
		return "", fmt.Errorf("find the user's applications directory: %w", err)
	}
	return filepath.Join(data, "applications"), nil
}

// searchAppsDirs lists the applications directories in the order desktop
// file IDs are looked up: the user's, then $XDG_DATA_DIRS (default
// /usr/local/share:/usr/share). System scope looks only at its own.
func searchAppsDirs(opts RegisterOptions) ([]string, error) {
	own, err := appsDir(opts)
	if err != nil || opts.System {
		return []string{own}, err
	}
	dirs := []string{own}
	data := os.Getenv("XDG_DATA_DIRS")
	if data == "" {
		data = "/usr/local/share:/usr/share"
	}
	for _, d := range filepath.SplitList(data) {
		if filepath.IsAbs(d) {
			dirs = append(dirs, filepath.Join(d, "applications"))
		}
	}
	return dirs, nil
}

// findDesktopFile returns the first file named id in dirs, or "".
func findDesktopFile(dirs []string, id string) string {
	for _, d := range dirs {
		p := filepath.Join(d, id)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// readDesktopFile reads and parses path; a missing file returns nil, nil.
func readDesktopFile(path string) (desktopFile, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseDesktopFile(data), nil
}

// describeDesktopID names a desktop file ID with where it lives and what it
// runs, for messages about another handler.
func describeDesktopID(opts RegisterOptions, id string) string {
	dirs, _ := searchAppsDirs(RegisterOptions{})
	if opts.System {
		own, _ := appsDir(opts)
		dirs = append([]string{own}, dirs...)
	}
	p := findDesktopFile(dirs, id)
	if p == "" {
		return id
	}
	f, err := readDesktopFile(p)
	if err != nil || f == nil {
		return fmt.Sprintf("%s (%s)", id, p)
	}
	return fmt.Sprintf("%s (%s, Exec=%s)", id, p, f["Exec"])
}

// runTool runs one of the xdg tools and returns its standard output. A tool
// that is not installed returns an error wrapping exec.ErrNotFound.
func runTool(ctx context.Context, name string, args ...string) (string, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		if msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		return stdout.String(), fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return stdout.String(), nil
}

// queryDefault returns what "xdg-mime query default" answers for the
// scheme: a desktop file ID, or "" when there is no handler.
func queryDefault(ctx context.Context) (string, error) {
	out, err := runTool(ctx, "xdg-mime", "query", "default", schemeMIME)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(out, "\n")
	return strings.TrimSpace(line), nil
}

// updateDesktopDatabase refreshes mimeinfo.cache in dir. The cache only
// speeds up lookups and lets GIO and xdg-mime find a handler without a
// default, so a missing or failing tool is a warning.
func updateDesktopDatabase(ctx context.Context, r *Report, dir string) {
	switch _, err := runTool(ctx, "update-desktop-database", dir); {
	case errors.Is(err, exec.ErrNotFound):
		r.warn("update-desktop-database not found, so the MIME cache in "+dir+" was not updated",
			"install desktop-file-utils (sudo apt-get install desktop-file-utils), then run: update-desktop-database "+shellQuote(dir))
	case err != nil:
		r.warn("updating the MIME cache failed: "+err.Error(), "run: update-desktop-database "+shellQuote(dir))
	default:
		r.add("ran", "update-desktop-database %s", dir)
	}
}

// dirFix says how to make an applications directory writable, given the
// error from creating or writing in it.
func dirFix(opts RegisterOptions, dir string, err error) string {
	var fix string
	switch {
	case errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.EEXIST):
		fix = fmt.Sprintf("%s or one of its parents is not a directory: move that file away", dir)
	case errors.Is(err, syscall.EROFS):
		fix = fmt.Sprintf("%s is on a read-only file system", dir)
	case errors.Is(err, fs.ErrPermission):
		if opts.System {
			return "run as root: sudo trustlaunch register --system"
		}
		fix = fmt.Sprintf("make %s writable by you (ls -ld %s)", dir, shellQuote(dir))
	default:
		fix = fmt.Sprintf("check %s", dir)
	}
	if !opts.System {
		fix += ", or set XDG_DATA_HOME to a writable directory"
	}
	return fix
}

func register(ctx context.Context, opts RegisterOptions, exe string) (Report, error) {
	var r Report
	execLine, err := desktopExecLine(exe)
	if err != nil {
		return r, fixErr("install trustlaunch in a directory whose path has no control characters, e.g. /usr/local/bin", "%w", err)
	}
	dir, err := appsDir(opts)
	if err != nil {
		return r, err
	}
	path := filepath.Join(dir, desktopFileID)
	scope := "register"
	if opts.System {
		scope = "register --system"
	}

	// Everything that can refuse happens before anything is written.
	if !opts.System {
		if _, err := exec.LookPath("xdg-mime"); err != nil {
			return r, &RegisterError{
				Err: fmt.Errorf("%w: xdg-utils is not installed, and browsers open trustlaunch:// links through its xdg-open; nothing was changed", err),
				Fix: xdgUtilsInstall + ", then run trustlaunch register again",
			}
		}
		cur, err := queryDefault(ctx)
		if err != nil {
			return r, fixErr("run it yourself to see why: xdg-mime query default "+schemeMIME, "ask xdg-mime for the current handler: %w; nothing was changed", err)
		}
		if cur != "" && cur != desktopFileID {
			if !opts.Force {
				return r, &RegisterError{
					Err: fmt.Errorf("%w: %s is handled by %s; nothing was changed", ErrOtherHandler, schemeMIME, describeDesktopID(opts, cur)),
					Fix: "to make trustlaunch the handler instead, run: trustlaunch register --force (the other application stays installed)",
				}
			}
			r.add("replaced default", "%s", describeDesktopID(opts, cur))
		}
	}
	old, err := readDesktopFile(path)
	if err != nil {
		return r, fixErr(dirFix(opts, dir, err), "read desktop entry: %w", err)
	}
	if old != nil && old[registerMarker] == "" && !opts.Force {
		return r, &RegisterError{
			Err: fmt.Errorf("%w: %s exists (Exec=%s) and has no %s line; nothing was changed", ErrNotOurs, path, old["Exec"], registerMarker),
			Fix: fmt.Sprintf("if a package installed it (dpkg -S %s), that registration is already in place: check it with trustlaunch %s --check; to overwrite the file anyway: trustlaunch %s --force",
				shellQuote(path), scope, scope),
		}
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return r, fixErr(dirFix(opts, dir, err), "create applications directory: %w", err)
	}
	if err := WriteFileAtomic(path, []byte(desktopEntry(execLine, true)), 0o644); err != nil {
		return r, fixErr(dirFix(opts, dir, err), "write desktop entry: %w", err)
	}
	r.add("wrote", "%s", path)
	r.add("Exec", "%s", execLine)
	if strings.HasPrefix(execLine, `"`) {
		r.warn(quotedExecWarning(exe))
	}
	updateDesktopDatabase(ctx, &r, dir)

	if opts.System {
		r.add("default", "none set: %s is the only application for %s, which xdg-open and GIO then use; a user's own default still wins (see docs/admin.md)", desktopFileID, schemeMIME)
		checkSystemDefaults(&r)
		return r, nil
	}

	if uid := os.Geteuid(); uid == 0 {
		r.warn("registered for root only, as root's own handler",
			"to register for every user run: trustlaunch register --system; to register for yourself, run trustlaunch register without sudo")
	}
	if _, err := runTool(ctx, "xdg-mime", "default", desktopFileID, schemeMIME); err != nil {
		return r, fixErr("check that the mimeapps.list in $XDG_CONFIG_HOME (default ~/.config) is writable, then run trustlaunch register again",
			"wrote %s, but setting it as the default failed: %w", path, err)
	}
	r.add("ran", "xdg-mime default %s %s", desktopFileID, schemeMIME)
	got, err := queryDefault(ctx)
	if err != nil {
		return r, fixErr("run: xdg-mime query default "+schemeMIME, "verify the registration: %w", err)
	}
	if got != desktopFileID {
		return r, fixErr(fmt.Sprintf("look for %s in ~/.config/*mimeapps.list and /etc/xdg/*mimeapps.list (a desktop-specific list such as gnome-mimeapps.list wins over mimeapps.list)", schemeMIME),
			"xdg-mime default succeeded, but xdg-mime query default %s still answers %q", schemeMIME, got)
	}
	r.add("default handler", "%s (xdg-mime query default %s)", got, schemeMIME)
	return r, nil
}

// quotedExecWarning explains why a path that needs quotes is a problem even
// though it is quoted correctly.
func quotedExecWarning(exe string) (what, fix string) {
	return fmt.Sprintf("the path %s needs quotes in Exec; GLib and KDE read them, but xdg-open without a desktop environment (and xdg-mime's check of the program) take the first word of Exec, so links fail there", exe),
		"install trustlaunch in a path without spaces or shell characters, e.g. /usr/local/bin/trustlaunch, and register that copy"
}

// systemDefaultLists are the system-wide mimeapps.list files a default for
// the scheme could come from, in lookup order.
func systemDefaultLists() []string {
	var lists []string
	conf := os.Getenv("XDG_CONFIG_DIRS")
	if conf == "" {
		conf = "/etc/xdg"
	}
	for _, d := range filepath.SplitList(conf) {
		if filepath.IsAbs(d) {
			lists = append(lists, filepath.Join(d, mimeappsList))
		}
	}
	return lists
}

// checkSystemDefaults warns about a system-wide default that names another
// application, which would win over the MIME cache.
func checkSystemDefaults(r *Report) {
	for _, list := range systemDefaultLists() {
		data, err := os.ReadFile(list)
		if err != nil {
			continue
		}
		if id := mimeDefault(data, schemeMIME); id != "" && id != desktopFileID {
			r.warn(fmt.Sprintf("%s makes %s the default for %s for every user", list, id, schemeMIME),
				fmt.Sprintf("edit %s: set %s=%s in %s, or remove that line", list, schemeMIME, desktopFileID, defaultsGroup))
		}
	}
}

func unregister(ctx context.Context, opts RegisterOptions) (Report, error) {
	var r Report
	dir, err := appsDir(opts)
	if err != nil {
		return r, err
	}
	path := filepath.Join(dir, desktopFileID)
	removed := false
	switch f, err := readDesktopFile(path); {
	case err != nil:
		return r, fixErr(dirFix(opts, dir, err), "read desktop entry: %w", err)
	case f == nil:
		r.add("desktop entry", "none at %s", path)
	case f[registerMarker] == "":
		r.add("left in place", "%s (Exec=%s): not written by trustlaunch register (a package's entry is removed with the package)", path, f["Exec"])
	default:
		if err := os.Remove(path); err != nil {
			return r, fixErr(dirFix(opts, dir, err), "remove %s: %w", path, err)
		}
		r.add("removed", "%s", path)
		removed = true
	}

	if !opts.System {
		if err := removeUserDefault(&r); err != nil {
			return r, err
		}
	}
	if removed {
		updateDesktopDatabase(ctx, &r, dir)
	}
	if !opts.System {
		if dirs, err := searchAppsDirs(opts); err == nil {
			if p := findDesktopFile(dirs, desktopFileID); p != "" {
				f, _ := readDesktopFile(p)
				r.add("still registered", "%s (Exec=%s)", p, f["Exec"])
			}
		}
	}
	return r, nil
}

// removeUserDefault takes trustlaunch.desktop out of the user's default for
// the scheme, which "xdg-mime default" wrote, and leaves any other default.
func removeUserDefault(r *Report) error { return removeMimeappsDefault(r, schemeMIME, desktopFileID) }

// removeMimeappsDefault takes id out of the user's default for mime in
// $XDG_CONFIG_HOME/mimeapps.list, and leaves any other default.
func removeMimeappsDefault(r *Report, schemeMIME, desktopFileID string) error {
	conf, err := xdgBase("XDG_CONFIG_HOME", ".config")
	if err != nil {
		return fmt.Errorf("find the user's config directory: %w", err)
	}
	list := filepath.Join(conf, mimeappsList)
	data, err := os.ReadFile(list)
	if errors.Is(err, fs.ErrNotExist) {
		r.add("default", "none set in %s", list)
		return nil
	}
	if err != nil {
		return fixErr("check "+list, "read %s: %w", list, err)
	}
	out, removed, other := removeMimeDefault(data, schemeMIME, desktopFileID)
	switch {
	case other != "":
		r.add("left unchanged", "the default in %s is %s, not %s", list, other, desktopFileID)
	case !removed:
		r.add("default", "none set in %s", list)
	default:
		perm := fs.FileMode(0o644)
		if fi, err := os.Stat(list); err == nil {
			perm = fi.Mode().Perm()
		}
		if err := WriteFileAtomic(list, out, perm); err != nil {
			return fixErr(fmt.Sprintf("remove the line %s=%s from %s by hand", schemeMIME, desktopFileID, list), "update %s: %w", list, err)
		}
		r.add("removed", "%s=%s from %s", schemeMIME, desktopFileID, list)
	}
	return nil
}

// mimeDefault returns the first application that the [Default
// Applications] group of a mimeapps.list names for mime, or "".
func mimeDefault(data []byte, mime string) string {
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "[") {
			in = t == defaultsGroup
			continue
		}
		if k, v, ok := strings.Cut(t, "="); in && ok && strings.TrimSpace(k) == mime {
			for _, id := range strings.Split(v, ";") {
				if id = strings.TrimSpace(id); id != "" {
					return id
				}
			}
			return ""
		}
	}
	return ""
}

// removeMimeDefault removes id from the [Default Applications] entry for
// mime when id is that entry's first (that is, the default) application,
// and drops the line when nothing is left. Every other byte is kept. When
// the default is another application it changes nothing and returns it as
// other.
func removeMimeDefault(data []byte, mime, id string) (out []byte, removed bool, other string) {
	lines := strings.SplitAfter(string(data), "\n")
	var b strings.Builder
	in := false
	for _, line := range lines {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "[") {
			in = t == defaultsGroup
		}
		k, v, ok := strings.Cut(t, "=")
		if !in || !ok || strings.TrimSpace(k) != mime || removed || other != "" {
			b.WriteString(line)
			continue
		}
		var ids []string
		for _, x := range strings.Split(v, ";") {
			if x = strings.TrimSpace(x); x != "" {
				ids = append(ids, x)
			}
		}
		if len(ids) == 0 || ids[0] != id {
			if len(ids) > 0 {
				other = ids[0]
			}
			b.WriteString(line)
			continue
		}
		removed = true
		var keep []string
		for _, x := range ids {
			if x != id {
				keep = append(keep, x)
			}
		}
		if len(keep) > 0 {
			nl := line[len(strings.TrimRight(line, "\r\n")):]
			b.WriteString(mime + "=" + strings.Join(keep, ";") + ";" + nl)
		}
	}
	return []byte(b.String()), removed, other
}

func checkRegistration(ctx context.Context, opts RegisterOptions, exe string) (Report, error) {
	var r Report
	r.add("this binary", "%s", exe)
	scope := ""
	if opts.System {
		scope = " --system"
	}
	dirs, err := searchAppsDirs(opts)
	if err != nil {
		return r, err
	}
	path := findDesktopFile(dirs, desktopFileID)
	if path == "" {
		r.add("desktop entry", "none (looked in %s)", strings.Join(dirs, ", "))
		r.problem("no "+desktopFileID+" desktop entry, so nothing handles trustlaunch:// links", "run: trustlaunch register"+scope)
	} else {
		// dirs[0] is the scope's own directory, the one register writes:
		// only a file there that register did not write needs --force.
		checkDesktopEntry(&r, path, exe, scope, path == filepath.Join(dirs[0], desktopFileID))
	}

	if _, err := exec.LookPath("xdg-mime"); err != nil {
		r.add("xdg-mime", "not installed")
		r.problem("xdg-mime not found (xdg-utils is not installed): browsers open trustlaunch:// links through xdg-open from xdg-utils", xdgUtilsInstall)
	} else {
		const via = "(xdg-mime query default " + schemeMIME + ")"
		switch got, err := queryDefault(ctx); {
		case err != nil:
			r.add("default handler", "unknown: the query failed")
			r.problem(err.Error(), "run it yourself to see why: xdg-mime query default "+schemeMIME)
		case got == "":
			r.add("default handler", "none %s", via)
			r.problem("no application handles "+schemeMIME, "run: trustlaunch register"+scope)
		case got != desktopFileID:
			r.add("default handler", "%s %s", got, via)
			r.problem(fmt.Sprintf("trustlaunch:// links open with %s, not trustlaunch", describeDesktopID(opts, got)),
				"run: trustlaunch register --force (makes trustlaunch your default; the other application stays installed)")
		default:
			r.add("default handler", "%s %s", got, via)
		}
		if os.Geteuid() == 0 && !opts.System {
			r.warn("this is root's view: xdg-mime answers for the user who runs it", "run trustlaunch register --check as the user who clicks the links")
		}
	}
	if opts.System {
		checkSystemDefaults(&r)
	}
	return r, nil
}

// checkDesktopEntry reports on the desktop entry at path: its Exec, whether
// that runs exe with "open -- %u", and whether it is set up to handle the
// scheme and is in the MIME cache.
func checkDesktopEntry(r *Report, path, exe, scope string, inScope bool) {
	r.add("desktop entry", "%s", path)
	f, err := readDesktopFile(path)
	if err != nil {
		r.problem(fmt.Sprintf("cannot read %s: %v", path, err), "check its permissions: ls -l "+shellQuote(path))
		return
	}
	if f[registerMarker] == "" {
		r.add("written by", "not trustlaunch register (a package, or by hand)")
	} else {
		r.add("written by", "trustlaunch register")
	}
	r.add("Exec", "%s", f["Exec"])
	fix := "run: trustlaunch register" + scope
	if f[registerMarker] == "" && inScope {
		fix += " --force (the entry was not written by register), or reinstall the package that installed it"
	}
	program, openURL, err := execTarget(f["Exec"])
	switch {
	case err != nil:
		r.problem(fmt.Sprintf("%s: cannot parse Exec: %v", path, err), fix)
	case !openURL:
		r.problem(fmt.Sprintf("%s: Exec does not end in \"open -- %%u\", so the link would not reach trustlaunch open as its only argument", path), fix)
	default:
		real, rerr := filepath.EvalSymlinks(program)
		switch {
		case rerr != nil:
			r.problem(fmt.Sprintf("%s: Exec runs %s, which does not exist", path, program), fix)
		case real != exe:
			r.add("runs this binary", "no: %s", program)
			r.problem(fmt.Sprintf("%s runs %s, not this binary (%s)", path, program, exe),
				fix+"; or check that copy instead: "+shellQuote(program)+" register --check"+scope)
		default:
			r.add("runs this binary", "yes")
		}
		if strings.HasPrefix(f["Exec"], `"`) {
			r.warn(quotedExecWarning(program))
		}
	}
	if f["Type"] != "Application" {
		r.problem(fmt.Sprintf("%s: Type is %q, not Application", path, f["Type"]), fix)
	}
	if !f.hasMIME(schemeMIME) {
		r.problem(fmt.Sprintf("%s: MimeType does not list %s", path, schemeMIME), fix)
	}
	if strings.EqualFold(f["Hidden"], "true") {
		r.problem(fmt.Sprintf("%s: Hidden=true, which makes desktops treat the entry as deleted", path), fix)
	}
	cache := filepath.Join(filepath.Dir(path), mimeinfoCache)
	if data, err := os.ReadFile(cache); err != nil || !cacheLists(data, schemeMIME, desktopFileID) {
		r.warn(fmt.Sprintf("%s does not list %s for %s", cache, desktopFileID, schemeMIME),
			"run: update-desktop-database "+shellQuote(filepath.Dir(path)))
	}
}

// cacheLists reports whether a mimeinfo.cache maps mime to id.
func cacheLists(data []byte, mime, id string) bool {
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || k != mime {
			continue
		}
		for _, x := range strings.Split(v, ";") {
			if x == id {
				return true
			}
		}
	}
	return false
}
