package platform

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows/registry"
)

// On Windows a URL scheme is a key under Software\Classes (Microsoft,
// "Registering an Application to a URI Scheme"): its default value names
// it, an empty "URL Protocol" value marks it as a URL scheme, and
// shell\open\command holds the command line, with "%1" for the URL.
// HKCR is the merged view of HKCU\Software\Classes and
// HKLM\Software\Classes in which the user's key wins, so a per-user entry
// shadows the machine-wide one for that user.

const (
	classesPath = `Software\Classes`
	// userChoicePath is where Settings > Default apps records a user's
	// choice for a link type; it overrides HKCR for that user.
	userChoicePath = `Software\Microsoft\Windows\Shell\Associations\UrlAssociations\` + URLScheme + `\UserChoice`
)

// hive is one place a registration can live.
type hive struct {
	name string // for messages, e.g. HKCU\Software\Classes\trustlaunch
	root registry.Key
	path string // below root
}

// hives returns the per-user and machine-wide keys, or the test
// replacements (both under HKCU, so tests need no administrator).
func hives(opts RegisterOptions) (user, machine hive) {
	user = hive{`HKCU\` + classesPath + `\` + URLScheme, registry.CURRENT_USER, classesPath + `\` + URLScheme}
	machine = hive{`HKLM\` + classesPath + `\` + URLScheme, registry.LOCAL_MACHINE, classesPath + `\` + URLScheme}
	if p := opts.test.userClasses; p != "" {
		user = hive{`HKCU\` + p + `\` + URLScheme, registry.CURRENT_USER, p + `\` + URLScheme}
	}
	if p := opts.test.machineClasses; p != "" {
		machine = hive{`HKCU\` + p + `\` + URLScheme, registry.CURRENT_USER, p + `\` + URLScheme}
	}
	return user, machine
}

// handlerKey is what a hive holds for the scheme.
type handlerKey struct {
	exists bool
	ours   bool // registerMarker says Register wrote it
	// msiProduct is the ProductCode the MSI recorded in registerMarker
	// ("trustlaunch MSI {ProductCode}"): the MSI owns the key. A marker
	// without a code still marks the MSI's key, with msiProduct "?".
	msiProduct  string
	command     string // shell\open\command default value
	urlProtocol bool   // has the "URL Protocol" value
	icon        string // DefaultIcon default value
	friendly    string // shell\open FriendlyAppName
}

func readHandler(h hive) (handlerKey, error) {
	k, err := registry.OpenKey(h.root, h.path, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return handlerKey{}, nil
	}
	if err != nil {
		return handlerKey{}, fmt.Errorf("open %s: %w", h.name, err)
	}
	defer k.Close()
	hk := handlerKey{exists: true}
	if v, _, err := k.GetStringValue(registerMarker); err == nil {
		switch {
		case v == markerValue:
			hk.ours = true
		case strings.HasPrefix(v, msiMarkerPrefix):
			hk.msiProduct = strings.TrimSpace(strings.TrimPrefix(v, msiMarkerPrefix))
			if hk.msiProduct == "" {
				hk.msiProduct = "?"
			}
		}
	}
	if _, _, err := k.GetStringValue(urlProtocol); err == nil {
		hk.urlProtocol = true
	}
	hk.command = subkeyString(h, commandSubkey, "")
	hk.icon = subkeyString(h, "DefaultIcon", "")
	hk.friendly = subkeyString(h, openSubkey, friendlyAppNameValue)
	return hk, nil
}

// subkeyString returns the string value name of h's subkey sub, or "" when
// either is missing.
func subkeyString(h hive, sub, name string) string {
	k, err := registry.OpenKey(h.root, h.path+`\`+sub, registry.QUERY_VALUE)
	if err != nil {
		return ""
	}
	defer k.Close()
	v, _, _ := k.GetStringValue(name)
	return v
}

// writer names who wrote a key, for the report.
func (hk handlerKey) writer() string {
	switch {
	case hk.ours:
		return "written by trustlaunch register"
	case hk.msiProduct != "":
		return "written by the trustlaunch MSI, ProductCode " + hk.msiProduct
	}
	return "not written by trustlaunch register"
}

// msiUninstall says how to remove the MSI that wrote a key.
func msiUninstall(product string) string {
	if product == "?" {
		return "uninstall trustlaunch in Settings > Apps (or your deployment tool)"
	}
	return "uninstall the package: msiexec /x " + product + " /qn (or Settings > Apps > trustlaunch > Uninstall, or your deployment tool)"
}

func scopeHive(opts RegisterOptions) hive {
	user, machine := hives(opts)
	if opts.System {
		return machine
	}
	return user
}

// regFix says how to get write access to a hive.
func regFix(opts RegisterOptions, err error) string {
	if errors.Is(err, fs.ErrPermission) && opts.System {
		return "run from an elevated prompt (Run as administrator): trustlaunch register --system"
	}
	return "check the key's permissions in regedit"
}

func register(_ context.Context, opts RegisterOptions, exe string) (Report, error) {
	var r Report
	cmd, err := windowsOpenCommand(exe)
	if err != nil {
		return r, fixErr(`install trustlaunch in a folder whose path has no "%" or control characters, e.g. C:\Program Files\trustlaunch`, "%w", err)
	}
	h := scopeHive(opts)
	old, err := readHandler(h)
	if err != nil {
		return r, fixErr(regFix(opts, err), "%w", err)
	}
	if old.msiProduct != "" && !opts.Force {
		return r, &RegisterError{
			Err: fmt.Errorf("%w: %s (command: %q) belongs to the installed package; nothing was changed", ErrMSIOwned, h.name, old.command),
			Fix: "links already work if trustlaunch register --check says so; to repair the package: msiexec /fa " + old.msiProduct + "; to replace its key anyway: trustlaunch register --system --force",
		}
	}
	if old.exists && !old.ours && !opts.Force {
		scope := "register"
		if opts.System {
			scope += " --system"
		}
		return r, &RegisterError{
			Err: fmt.Errorf("%w: %s exists (command: %q) and was not written by trustlaunch register; nothing was changed", ErrOtherHandler, h.name, old.command),
			Fix: "to replace it, run: trustlaunch " + scope + " --force",
		}
	}
	if err := writeHandler(h, exe, cmd); err != nil {
		return r, fixErr(regFix(opts, err), "write %s: %w", h.name, err)
	}
	r.add("wrote", "%s", h.name)
	r.add("command", "%s", cmd)

	user, machine := hives(opts)
	if opts.System {
		if u, err := readHandler(user); err == nil && u.exists {
			r.warn(fmt.Sprintf("%s (command: %q) shadows %s for the current user", user.name, u.command, machine.name), shadowFix(user, u))
		}
	} else if m, err := readHandler(machine); err == nil && m.exists {
		r.add("note", "%s now shadows %s for you", user.name, machine.name)
	}
	checkUserChoice(&r)
	return r, nil
}

// writeHandler creates the scheme key with its values and subkeys
// (windowsHandlerValues), marked as written by Register.
func writeHandler(h hive, exe, cmd string) error {
	for _, v := range windowsHandlerValues(exe, cmd, markerValue) {
		p := h.path
		if v.Subkey != "" {
			p += `\` + v.Subkey
		}
		k, _, err := registry.CreateKey(h.root, p, registry.SET_VALUE)
		if err != nil {
			return err
		}
		err = k.SetStringValue(v.Name, v.Value)
		k.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// shadowFix says how to remove a per-user key that hides the machine's.
func shadowFix(user hive, u handlerKey) string {
	if u.ours {
		return "run as that user: trustlaunch unregister"
	}
	return fmt.Sprintf("if it is not wanted, run as that user: reg delete %q /f", user.name)
}

// checkUserChoice reports a per-user choice made in Settings, which wins
// over both hives.
func checkUserChoice(r *Report) {
	k, err := registry.OpenKey(registry.CURRENT_USER, userChoicePath, registry.QUERY_VALUE)
	if err != nil {
		return
	}
	defer k.Close()
	if id, _, err := k.GetStringValue("ProgId"); err == nil && !strings.EqualFold(id, URLScheme) {
		r.problem(fmt.Sprintf(`HKCU\%s chooses %q for trustlaunch:// links`, userChoicePath, id),
			"Settings > Apps > Default apps > Choose defaults by link type: set TRUSTLAUNCH to trustlaunch")
	}
}

func unregister(_ context.Context, opts RegisterOptions) (Report, error) {
	var r Report
	h := scopeHive(opts)
	old, err := readHandler(h)
	switch {
	case err != nil:
		return r, fixErr(regFix(opts, err), "%w", err)
	case !old.exists:
		r.add("registry key", "none at %s", h.name)
		return r, nil
	case old.msiProduct != "":
		// The MSI removes its own keys when it is uninstalled; deleting
		// them here would leave an installed package whose repair puts them
		// back, and Settings still listing a handler that is gone.
		return r, &RegisterError{
			Err: fmt.Errorf("%w: %s belongs to the installed package, so unregister leaves it in place", ErrMSIOwned, h.name),
			Fix: msiUninstall(old.msiProduct),
		}
	case !old.ours:
		r.add("left in place", "%s (command: %q): not written by trustlaunch register", h.name, old.command)
		return r, nil
	}
	// Only the subkeys Register creates, deepest first; a subkey someone
	// else added makes the last DeleteKey fail rather than vanish with ours.
	for _, sub := range []string{commandSubkey, `shell\open`, `shell`, "DefaultIcon", ""} {
		p := h.path
		if sub != "" {
			p += `\` + sub
		}
		if err := registry.DeleteKey(h.root, p); err != nil && !errors.Is(err, registry.ErrNotExist) {
			return r, fixErr(fmt.Sprintf("look at the key in regedit; to remove it with everything below it: reg delete %q /f", h.name), "delete %s: %w", p, err)
		}
	}
	r.add("removed", "%s", h.name)
	return r, nil
}

func checkRegistration(_ context.Context, opts RegisterOptions, exe string) (Report, error) {
	var r Report
	r.add("this binary", "%s", exe)
	want, _ := windowsOpenCommand(exe)
	scope := ""
	if opts.System {
		scope = " --system"
	}
	user, machine := hives(opts)
	u, err := readHandler(user)
	if err != nil {
		return r, err
	}
	m, err := readHandler(machine)
	if err != nil {
		return r, err
	}
	for _, x := range []struct {
		h  hive
		hk handlerKey
	}{{user, u}, {machine, m}} {
		if x.hk.exists {
			r.add(x.h.name, "%s (%s)", x.hk.command, x.hk.writer())
		} else {
			r.add(x.h.name, "none")
		}
	}

	// HKCR: the user's key wins, value by value and subkey by subkey.
	eff, effHive := m.command, machine
	if u.command != "" {
		eff, effHive = u.command, user
	}
	icon, friendly := m.icon, m.friendly
	if u.icon != "" {
		icon = u.icon
	}
	if u.friendly != "" {
		friendly = u.friendly
	}
	target, targetHive := u, user
	if opts.System {
		target, targetHive = m, machine
		if u.exists {
			what := fmt.Sprintf("%s (command: %q) shadows %s for the current user", user.name, u.command, machine.name)
			if u.command != "" && u.command != m.command {
				r.problem(what, shadowFix(user, u))
			} else {
				r.warn(what, shadowFix(user, u))
			}
		}
	}
	switch {
	case !target.exists && !opts.System && m.command != "":
		// What an MSI (or register --system) writes: HKCR falls back to
		// HKLM for this user, and whether that entry works is checked
		// below like any effective command. No per-user key is needed.
		r.add("note", "no %s key; %s serves this user", targetHive.name, machine.name)
	case !target.exists:
		r.problem("no "+targetHive.name+" key", "run: trustlaunch register"+scope)
	case !target.ours && target.command != want:
		r.add("note", "%s was not written by trustlaunch register", targetHive.name)
	}
	if eff == "" {
		r.problem("no handler for trustlaunch:// links: neither key has a "+commandSubkey+" value", "run: trustlaunch register"+scope)
		return r, nil
	}
	r.add("effective command", "%s (from %s)", eff, effHive.name)
	program, openURL := windowsCommandProgram(eff)
	fix := "run: trustlaunch register" + scope
	switch {
	case effHive == machine && m.msiProduct != "" && m.msiProduct != "?":
		fix = "repair the package: msiexec /fa " + m.msiProduct
	case target.exists && !target.ours:
		fix += " --force (the key was not written by register)"
	}
	switch {
	case !openURL:
		r.problem(fmt.Sprintf("the command does not end in open -- \"%%1\", so the link would not reach trustlaunch open as its only argument: %s", eff), fix)
	case !strings.EqualFold(filepath.Clean(program), filepath.Clean(exe)):
		r.add("runs this binary", "no: %s", program)
		r.problem(fmt.Sprintf("trustlaunch:// links run %s, not this binary (%s)", program, exe), fix)
	default:
		r.add("runs this binary", "yes")
	}
	if !u.urlProtocol && !m.urlProtocol {
		r.problem(`no "URL Protocol" value, so browsers do not treat trustlaunch as a URL scheme`, fix)
	}
	// The icon and the name only change what browsers and Settings show,
	// so they are warnings; both should name the program that links run.
	switch wantIcon := windowsIconValue(program); {
	case icon == "":
		r.warn(`no DefaultIcon, so browsers and Settings show no icon for trustlaunch:// links`, fix)
	case !strings.EqualFold(icon, wantIcon):
		r.warn(fmt.Sprintf("DefaultIcon is %q, not %q, so links are shown with another program's icon", icon, wantIcon), fix)
	}
	switch {
	case friendly == "":
		r.warn("no "+friendlyAppNameValue+" on "+openSubkey+", so browsers may name the handler by its file name", fix)
	case friendly != friendlyAppName:
		r.warn(fmt.Sprintf("%s on %s is %q, not %q, so browsers ask to open another name", friendlyAppNameValue, openSubkey, friendly, friendlyAppName), fix)
	}
	checkUserChoice(&r)
	return r, nil
}
