package tui

import "errors"

// ErrNoTerminalWindow is returned by TerminalCommand when no terminal
// program that can run a command in a window is available.
var ErrNoTerminalWindow = errors.New("no terminal window for the emulator")

// TerminalCommand returns argv wrapped so that it runs in a new terminal
// window, for a terminal emulator (c3270, tn5250) launched by a browser,
// which gives its handler no terminal. The wrapping program stays in the
// foreground until argv exits, so the launch's teardown follows the
// emulator: terminals that hand windows to a server process are asked not
// to (gnome-terminal --wait, konsole --nofork, ...). env supplies PATH,
// TERMINAL and the display variables. The command is passed as separate
// arguments, never as a string for a shell.
func TerminalCommand(env []string, argv []string) ([]string, error) {
	if len(argv) == 0 {
		return nil, errors.New("no command to run in a terminal")
	}
	return terminalCommand(environ(env), argv)
}
