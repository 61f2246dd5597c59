package launcher

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// A terminal window reports its own exit status, not its command's: xterm,
// gnome-terminal --wait and konsole --nofork exit 0 whatever the emulator
// returned. And a terminal may start its command from a server process
// that is not a descendant of the launch (gnome-terminal does), so the
// emulator's tree cannot be found from the window's process. So a launch
// that opens a window for its emulator runs, inside the window, a recorder
// (`trustlaunch __in-terminal ARGS -- ARGV`) that reports itself to the
// launch, runs the emulator, and hands its exit status back.
//
// Any program of the user can read the recorder's command line, so nothing
// in it is a secret, and the recorder proves itself otherwise:
//
//   - On Linux the window's terminal is given one end of a socketpair of
//     the launch as descriptor 3, which xterm and $TERMINAL wrappers that
//     exec pass on to their command. The recorder finds it there (its
//     inode is in the arguments) and reports over it; the kernel names the
//     sender of each message (SCM_CREDENTIALS), and no other process of the
//     user holds that socket. A terminal that may start the command from a
//     server process is also offered a socket in a private directory of the
//     launch: the first process to report there must be running this
//     trustlaunch executable with exactly this launch's recorder arguments,
//     and any report after it (or a first one that fails the check) ends
//     the launch as tampered with. The exit status comes only over the
//     channel of the recorder that was accepted (terminalstatus_linux.go).
//   - On Windows the launch creates the window itself: the recorder is
//     started with a console of its own (CREATE_NEW_CONSOLE), as the
//     launch's child in the emulator's Job Object, and its exit code is the
//     emulator's status. Nothing is reported, so there is nothing to claim
//     (terminalstatus_windows.go).

// startFailedStatus is the status recorded for an emulator that could not be
// started, as a shell reports a command it cannot run.
const startFailedStatus = 127

// StepRecorder is the step of a launch in a terminal window that was ended
// because the window's recorder could not be trusted: another program
// reported itself as the recorder, or sent what only the recorder may.
const StepRecorder = "recorder"

// ErrTampered is wrapped by the error of a launch in a terminal window that
// another program of the user interfered with (StepRecorder).
var ErrTampered = errors.New("another program claimed to be the terminal window's recorder")

// ErrRecorderUsage is wrapped by RunRecorder's error for arguments that are
// not a launch's: nobody types `trustlaunch __in-terminal`.
var ErrRecorderUsage = errors.New("not a recorder command line")

// TerminalWindow runs emulators in terminal windows of their own, for a
// launch that has no terminal (a browser started it) and a profile that
// needs one (terminal = true).
type TerminalWindow struct {
	// Recorder is the command that runs RunRecorder inside the window: the
	// running executable and its hidden subcommand, as in
	// [exe, "__in-terminal"]. The launch appends the recorder's arguments
	// and the emulator's command line, and on Linux accepts a report
	// through its socket only from a process running Recorder[0] with
	// exactly that command line. Required.
	Recorder []string
	// Terminal returns the command line of a terminal program that opens a
	// new window, runs there the command appended to it, and stays in the
	// foreground until that command has exited (tui.FindTerminal); and
	// whether the terminal is known to run the command as its own
	// descendant with the descriptors it was started with (xterm does).
	// For any other terminal the launch also offers the recorder a socket
	// to report on. Not called on Windows, where the launch gives the
	// recorder a console window of its own. Required elsewhere.
	Terminal func() (argv []string, inherits bool, err error)
}

// RunRecorder is the recorder: `trustlaunch __in-terminal ARGS -- ARGV`
// inside the terminal window of a launch. args are its arguments after the
// subcommand, as the launch wrote them. It reports to the launch, runs
// ARGV in the foreground with the given stdio (on Windows with the
// window's console), waits for it, hands its exit status (128+signal for
// one killed by a signal) to the launch, and returns it. An emulator that
// cannot be started is 127 and returned with the error; so is a recorder
// the launch did not accept, which runs nothing. It keeps running through
// the signals a terminal sends its foreground process group until ARGV has
// exited, so that the status is handed back: ARGV, in the same group,
// receives those signals itself. When the launch ends first (interrupted,
// or tampered with), the recorder ends ARGV.
func RunRecorder(args []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	a, err := parseRecorderArgs(args)
	if err != nil {
		return startFailedStatus, err
	}
	return runRecorder(a, stdin, stdout, stderr)
}

// recorderArgs are what the launch tells its recorder, on its command line.
type recorderArgs struct {
	fd     int    // the descriptor the launch's socketpair end should arrive as; -1: none (Windows)
	inode  uint64 // that socket's inode, which tells it from whatever else has the number
	socket string // the socket to report on when no descriptor arrived; "": none offered
	argv   []string
}

// list returns the arguments as the recorder's command line has them,
// after the subcommand.
func (a recorderArgs) list() []string {
	var l []string
	if a.fd >= 0 {
		l = append(l, "--fd", strconv.Itoa(a.fd), "--inode", strconv.FormatUint(a.inode, 10))
	}
	if a.socket != "" {
		l = append(l, "--socket", a.socket)
	}
	return append(append(l, "--"), a.argv...)
}

// parseRecorderArgs reads what list wrote, strictly: each option at most
// once, in that order, and a command after "--".
func parseRecorderArgs(args []string) (recorderArgs, error) {
	a := recorderArgs{fd: -1}
	bad := func(format string, v ...any) (recorderArgs, error) {
		return recorderArgs{}, fmt.Errorf("%w: %s", ErrRecorderUsage, fmt.Sprintf(format, v...))
	}
	i := 0
	if len(args) >= 4 && args[0] == "--fd" && args[2] == "--inode" {
		fd, err1 := strconv.Atoi(args[1])
		ino, err2 := strconv.ParseUint(args[3], 10, 64)
		if err1 != nil || err2 != nil || fd < 3 || ino == 0 {
			return bad("--fd %q --inode %q", args[1], args[3])
		}
		a.fd, a.inode = fd, ino
		i = 4
	}
	if len(args) >= i+2 && args[i] == "--socket" {
		if !strings.HasPrefix(args[i+1], "/") {
			return bad("--socket %q is not an absolute path", args[i+1])
		}
		a.socket = args[i+1]
		i += 2
	}
	if i >= len(args) || args[i] != "--" {
		return bad("expected [--fd N --inode N] [--socket PATH] -- COMMAND [ARG...]")
	}
	a.argv = args[i+1:]
	if len(a.argv) == 0 {
		return bad("no command to run")
	}
	return a, nil
}

// Messages between the launch and its recorder, one per SOCK_SEQPACKET
// record: the recorder sends msgReport, the launch answers msgAccepted (or
// closes the channel: refused), and the recorder sends msgStatus and the
// status once its command has exited. The launch closing the channel while
// the command runs tells the recorder to end it.
const (
	msgReport   = "report"
	msgAccepted = "accepted"
	msgStatus   = "status "
	maxMessage  = 64
)

// parseStatus reads a msgStatus message: a status from 0 to 255 as
// strconv.Itoa writes it, nothing else.
func parseStatus(msg string) (int, bool) {
	s, ok := strings.CutPrefix(msg, msgStatus)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 255 || strconv.Itoa(n) != s {
		return 0, false
	}
	return n, true
}
