//go:build unix && !darwin

package tui

import (
	"fmt"
)

// terminals are tried in order after $TERMINAL, each with the way it takes a
// command line: the rest of its arguments, never one string for a shell.
var terminals = []struct {
	name string
	args []string // before the command
}{
	{"x-terminal-emulator", []string{"-e"}}, // Debian policy: -e takes the rest
	{"gnome-terminal", []string{"--wait", "--"}},
	{"konsole", []string{"-e"}},
	{"xfce4-terminal", []string{"-x"}},
	{"mate-terminal", []string{"-x"}},
	{"alacritty", []string{"-e"}},
	{"xterm", []string{"-e"}},
}

// windowCommands lists the terminals that can run argv in a new window, and
// says why the others cannot. A terminal needs a graphical session.
func windowCommands(env environ, argv []string, _ string) ([]windowCmd, []string) {
	if env.get("DISPLAY") == "" && env.get("WAYLAND_DISPLAY") == "" {
		return nil, []string{"no graphical session (DISPLAY and WAYLAND_DISPLAY are unset)"}
	}
	var cmds []windowCmd
	var skipped, missing []string
	pathEnv := env.get("PATH")
	if t := env.get("TERMINAL"); t != "" {
		// $TERMINAL names a program, not a command line: it is never split
		// or given to a shell. "-e" is the convention its users rely on.
		if p, err := lookPath(t, pathEnv); err == nil {
			cmds = append(cmds, windowCmd{name: fmt.Sprintf("$TERMINAL (%s)", t), path: p, args: append([]string{"-e"}, argv...)})
		} else {
			skipped = append(skipped, "$TERMINAL: "+err.Error())
		}
	}
	for _, t := range terminals {
		p, err := lookPath(t.name, pathEnv)
		if err != nil {
			missing = append(missing, t.name)
			continue
		}
		cmds = append(cmds, windowCmd{name: t.name, path: p, args: append(append([]string(nil), t.args...), argv...)})
	}
	if len(missing) > 0 {
		skipped = append(skipped, fmt.Sprintf("not installed: %v", missing))
	}
	return cmds, skipped
}

// foregroundTerminals run a command in a window and stay until it exits,
// with the flags that stop them handing the window to a server process.
// x-terminal-emulator is left out: which terminal it is, and so whether it
// waits, depends on the machine. inherits is set only where a test has shown
// that the command gets the terminal's descriptors (xterm); of the others,
// gnome-terminal runs the command from its server, and the rest are not
// known to pass them on (VTE spawns with the descriptors it is given).
var foregroundTerminals = []struct {
	name     string
	args     []string
	inherits bool
}{
	{"gnome-terminal", []string{"--wait", "--"}, false},
	{"konsole", []string{"--nofork", "-e"}, false},
	{"xfce4-terminal", []string{"--disable-server", "-x"}, false},
	{"mate-terminal", []string{"--disable-factory", "-x"}, false},
	{"alacritty", []string{"-e"}, false},
	{"xterm", []string{"-e"}, true},
}

func findTerminal(env environ) (Terminal, error) {
	if env.get("DISPLAY") == "" && env.get("WAYLAND_DISPLAY") == "" {
		return Terminal{}, fmt.Errorf("%w: no graphical session (DISPLAY and WAYLAND_DISPLAY are unset)", ErrNoTerminalWindow)
	}
	pathEnv := env.get("PATH")
	if t := env.get("TERMINAL"); t != "" {
		// $TERMINAL names a program; its users rely on "-e". It may be a
		// wrapper around any terminal, so only the name of one known to
		// pass descriptors on counts as that terminal.
		if p, err := lookPath(t, pathEnv); err == nil {
			inherits := false
			for _, f := range foregroundTerminals {
				inherits = inherits || (f.name == t && f.inherits)
			}
			return Terminal{Argv: []string{p, "-e"}, Inherits: inherits}, nil
		}
	}
	var names []string
	for _, t := range foregroundTerminals {
		if p, err := lookPath(t.name, pathEnv); err == nil {
			return Terminal{Argv: append([]string{p}, t.args...), Inherits: t.inherits}, nil
		}
		names = append(names, t.name)
	}
	return Terminal{}, fmt.Errorf("%w: none of $TERMINAL, %v is installed", ErrNoTerminalWindow, names)
}
