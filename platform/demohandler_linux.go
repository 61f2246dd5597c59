package platform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const (
	demoDesktopID = DemoScheme + ".desktop"
	demoMIME      = "x-scheme-handler/" + DemoScheme
)

// demoDesktopEntry is trustlaunch-demo.desktop. It differs from
// trustlaunch.desktop in its name, its scheme and its marker; it is a
// handler only (NoDisplay).
func demoDesktopEntry(execLine string) string {
	return "[Desktop Entry]\n" +
		"Type=Application\n" +
		"Name=trustlaunch demo\n" +
		"Comment=Pass trustlaunch-demo:// links to the running trustlaunch demo --serve\n" +
		"Exec=" + execLine + "\n" +
		"Terminal=false\n" +
		"NoDisplay=true\n" +
		"MimeType=" + demoMIME + ";\n" +
		registerMarker + "=" + demoMarkerValue + "\n"
}

// registerDemoHandler writes the desktop entry and makes it the user's
// default for the scheme. Unlike register it leaves the MIME cache alone:
// xdg-open, GIO and KDE find a default in mimeapps.list without it, and a
// cache that listed the entry would outlive a demo that was killed.
func registerDemoHandler(ctx context.Context, exe string, args []string) (Report, error) {
	var r Report
	q, err := desktopExecArg(exe)
	if err != nil || !filepath.IsAbs(exe) {
		return r, fixErr("run trustlaunch from a path without control characters", "demo handler: executable %q cannot be written in a desktop entry", exe)
	}
	execLine := q + " " + strings.Join(args, " ") + " %u"
	if _, err := exec.LookPath("xdg-mime"); err != nil {
		return r, &RegisterError{
			Err: fmt.Errorf("%w: xdg-utils is not installed, and browsers open links through its xdg-open", err),
			Fix: xdgUtilsInstall,
		}
	}
	dir, err := appsDir(RegisterOptions{})
	if err != nil {
		return r, err
	}
	path := filepath.Join(dir, demoDesktopID)
	old, err := readDesktopFile(path)
	if err != nil {
		return r, fixErr(dirFix(RegisterOptions{}, dir, err), "read desktop entry: %w", err)
	}
	if old != nil && old[registerMarker] != demoMarkerValue {
		return r, &RegisterError{
			Err: fmt.Errorf("%w: %s exists (Exec=%s) and was not written by trustlaunch demo --serve; nothing was changed", ErrNotOurs, path, old["Exec"]),
			Fix: "move that file away if it is not wanted, then run trustlaunch demo --serve again",
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return r, fixErr(dirFix(RegisterOptions{}, dir, err), "create applications directory: %w", err)
	}
	if err := WriteFileAtomic(path, []byte(demoDesktopEntry(execLine)), 0o644); err != nil {
		return r, fixErr(dirFix(RegisterOptions{}, dir, err), "write desktop entry: %w", err)
	}
	r.add("wrote", "%s", path)
	if _, err := runTool(ctx, "xdg-mime", "default", demoDesktopID, demoMIME); err != nil {
		os.Remove(path)
		return r, fixErr("check that the mimeapps.list in $XDG_CONFIG_HOME (default ~/.config) is writable", "make %s the default for %s: %w", demoDesktopID, demoMIME, err)
	}
	r.add("ran", "xdg-mime default %s %s", demoDesktopID, demoMIME)
	return r, nil
}

func unregisterDemoHandler(_ context.Context) (Report, error) {
	var r Report
	dir, err := appsDir(RegisterOptions{})
	if err != nil {
		return r, err
	}
	path := filepath.Join(dir, demoDesktopID)
	f, err := readDesktopFile(path)
	switch {
	case err != nil:
		return r, fixErr("remove "+path+" by hand", "read desktop entry: %w", err)
	case f == nil:
	case f[registerMarker] != demoMarkerValue:
		r.add("left in place", "%s: not written by trustlaunch demo --serve", path)
	default:
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return r, fixErr("remove "+path+" by hand", "remove %s: %w", path, err)
		}
		r.add("removed", "%s", path)
	}
	if err := removeMimeappsDefault(&r, demoMIME, demoDesktopID); err != nil {
		return r, err
	}
	return r, nil
}
