package launcher

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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
	if err := reportRecorder(statusFile); err != nil {
		return startFailedStatus, fmt.Errorf("report the recorder to the launch: %w", err)
	}
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

// recorderPIDName is the file beside the status file where the recorder
// reports its own process ("PID STARTTIME\n"). A terminal window may run
// its command from a server process that is not a descendant of
// trustlaunch (gnome-terminal does), so the tunnel admits the recorder
// and its descendants by this report. The launch's status directory is
// private (0700), so only this user can write it.
const recorderPIDName = "recorder.pid"

// reportRecorder writes this process's PID and start time beside
// statusFile. Without /proc (not Linux) there is nothing to report: the
// window is then trusted only through the process tree.
func reportRecorder(statusFile string) error {
	pid := os.Getpid()
	st, err := startTime(pid)
	if err != nil {
		return nil
	}
	return platform.WriteFileAtomic(filepath.Join(filepath.Dir(statusFile), recorderPIDName), []byte(fmt.Sprintf("%d %s\n", pid, st)), 0o600)
}

// readRecorder reads what reportRecorder wrote, and returns the PID only
// while that process is still the one that wrote it (same start time).
func readRecorder(dir string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(dir, recorderPIDName))
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, false
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 1 {
		return 0, false
	}
	if st, err := startTime(pid); err != nil || st != f[1] {
		return 0, false
	}
	return pid, true
}
