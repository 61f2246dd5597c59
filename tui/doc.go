// Package tui asks the user whether to trust a server
// (docs/design.md "The decision flow", step 4): a Bubble Tea prompt with
// Always / Yes / No, a plain-text prompt with the same text and semantics,
// and a launcher that asks in a new terminal window when the process has no
// terminal at all. All three implement whitelist.Prompter.
//
// The prompt is the moment an attacker most wants to fool, so:
//
//   - the default is No: the focus starts on it, and Esc, q, Ctrl-C, a
//     timeout (60 s, counted down on screen), SIGINT, SIGTERM, SIGHUP, a
//     closed terminal and any error answer No;
//   - every string from the network (host, Unicode form, registrable domain,
//     descriptor URL) is shown through internal/safetext, so escape sequences,
//     controls and bidi characters appear as visible escapes (\x1b, \u202e)
//     and are never sent to the terminal; long hosts wrap and are never cut;
//   - a host whose Unicode form differs from its ASCII form is shown in both,
//     with a warning to check it letter by letter, next to its registrable
//     domain and its port when that is not 443;
//   - keys are read from the controlling terminal (/dev/tty, CONIN$), not
//     stdin, and for a moment after the prompt appears only the keys that
//     answer No work, so keystrokes meant for another window cannot answer;
//   - the screen fits 80x24, honours NO_COLOR, and colour never carries
//     meaning alone: the focused choice reads "> [No]".
//
// Typical use in cmd:
//
//	var p whitelist.Prompter
//	if err := tui.CheckTerminal(""); err == nil {
//		p = tui.NewPrompter(tui.Options{Plain: noTUI, NoColor: os.Getenv("NO_COLOR") != ""})
//	} else {
//		exe, _ := os.Executable()
//		p = tui.NewWindowPrompter(tui.WindowOptions{
//			Command: func(dir string) []string { return []string{exe, "__prompt-window", dir} },
//		})
//	}
//	d := whitelist.Decide(ctx, whitelist.Input{..., Prompter: p})
//
// and in the hidden subcommand that the window runs:
//
//	err := tui.ServeWindow(ctx, dir, tui.NewPrompter(tui.Options{NoColor: ...}))
package tui
