package launcher

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/trustlaunch/trustlaunch/platform"
)

// A terminal window reports its own exit status, not its command's: xterm,
// gnome-terminal --wait and konsole --nofork exit 0 whatever the emulator
// returned. So a launch that opens a window for its emulator runs, inside
// the window, a recorder (`trustlaunch __in-terminal STATUSFILE -- ARGV`)
// that runs the emulator, writes its exit status to a file in a private
// directory of the launch, and exits with it. Launch reads the file when the
// window has closed; without one (the recorder could not run, or was
// killed outright; closing the window still records the emulator's 129) it
// keeps the terminal's status and says so in its log.

// startFailedStatus is the status recorded for an emulator that could not be
// started, as a shell reports a command it cannot run.
const startFailedStatus = 127

// RunRecordingStatus is the recorder: it runs argv in the foreground with
// the given stdio, waits for it, writes its exit status (128+signal for one
// killed by a signal) to statusFile, and returns the status. An emulator
// that cannot be started is recorded as 127 and returned with the error.
// It keeps running through SIGHUP, SIGINT and SIGTERM until argv has
// exited, so that the status is recorded: argv, in the same foreground
// process group of the window's terminal, receives those signals itself.
func RunRecordingStatus(argv []string, statusFile string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if len(argv) == 0 {
		return startFailedStatus, errors.New("no command to run")
	}
	stop := holdTerminalSignals()
	defer stop()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	status, runErr := startFailedStatus, error(nil)
	if err := cmd.Start(); err != nil {
		runErr = fmt.Errorf("start %s: %w", argv[0], err)
	} else {
		status, runErr = exitStatus(cmd, cmd.Wait())
	}
	if err := platform.WriteFileAtomic(statusFile, []byte(strconv.Itoa(status)+"\n"), 0o600); err != nil {
		return status, errors.Join(runErr, fmt.Errorf("record the exit status: %w", err))
	}
	return status, runErr
}

// readStatusFile reads what RunRecordingStatus wrote: a decimal status and a
// newline, nothing else.
func readStatusFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s, ok := strings.CutSuffix(string(b), "\n")
	n, err := strconv.Atoi(s)
	if !ok || err != nil || n < 0 || n > 255 {
		return 0, fmt.Errorf("%s: not an exit status", path)
	}
	return n, nil
}
