package tui

import "errors"

// ErrNoTerminalWindow is returned by FindTerminal when no terminal program
// that can run a command in a window is available.
var ErrNoTerminalWindow = errors.New("no terminal window for the emulator")

// A Terminal is a terminal program that runs a command in a new window and
// stays in the foreground until the command exits.
type Terminal struct {
	// Argv is the program and the options before the command, whose own
	// argv is appended as separate arguments, never as a string for a
	// shell.
	Argv []string
	// Inherits says that the program is known to run the command as its
	// own descendant with the descriptors it was started with (xterm).
	// Another may start the command from a server process of its own
	// (gnome-terminal), with nothing of its caller's.
	Inherits bool
}

// FindTerminal returns the terminal that runs a terminal emulator (c3270,
// tn5250) launched by a browser, which gives its handler no terminal:
// $TERMINAL, then the installed terminals in a fixed order, each told to
// stay in the foreground (gnome-terminal --wait, konsole --nofork, ...) so
// that the launch's teardown follows the emulator. env supplies PATH,
// TERMINAL and the display variables.
func FindTerminal(env []string) (Terminal, error) {
	return findTerminal(environ(env))
}
