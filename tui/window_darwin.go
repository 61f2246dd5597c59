//go:build darwin

package tui

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// windowCommands lists the ways to run argv in a new window on macOS:
// $TERMINAL with "-e", then Terminal.app, which runs a .command file. The file
// lives in the private hand-off directory, and argv holds only local paths.
func windowCommands(env environ, argv []string, dir string) ([]windowCmd, []string) {
	var cmds []windowCmd
	var skipped []string
	pathEnv := env.get("PATH")
	if t := env.get("TERMINAL"); t != "" {
		if p, err := lookPath(t, pathEnv); err == nil {
			cmds = append(cmds, windowCmd{name: fmt.Sprintf("$TERMINAL (%s)", t), path: p, args: append([]string{"-e"}, argv...)})
		} else {
			skipped = append(skipped, "$TERMINAL: "+err.Error())
		}
	}
	script := filepath.Join(dir, "prompt.command")
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	body := "#!/bin/sh\nexec " + strings.Join(quoted, " ") + "\n"
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		return cmds, append(skipped, "Terminal.app: "+err.Error())
	}
	// open(1) returns once Terminal has the file; the wait goes on for the
	// window to connect.
	cmds = append(cmds, windowCmd{name: "Terminal.app", path: "/usr/bin/open", args: []string{"-a", "Terminal", script}})
	return cmds, skipped
}

// findTerminal finds none on macOS: Terminal.app runs a command through
// open(1), which returns at once, so the launch could not follow the
// emulator. Use a profile whose emulator opens its own window.
func findTerminal(environ) (Terminal, error) {
	return Terminal{}, fmt.Errorf("%w: not supported on macOS; use a profile whose emulator opens its own window", ErrNoTerminalWindow)
}
