package launcher

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
)

// prepareWindow sets spec up to run the recorder with a console window of
// its own (CREATE_NEW_CONSOLE): the launch's own child, created suspended
// in the emulator's Job Object like any emulator, whose exit code is the
// status. The recorder reports nothing, so no watch is returned: the
// process handle the launch waits on is the proof, and the job decides
// who may use the tunnel. TerminalWindow.Terminal is not used.
func prepareWindow(win *TerminalWindow, spec *emulatorSpec) (*recorderWatch, error) {
	if len(win.Recorder) == 0 {
		return nil, errors.New("no recorder to run in a console window")
	}
	spec.argv = append(slices.Clone(win.Recorder), recorderArgs{fd: -1, argv: spec.argv}.list()...)
	spec.newConsole = true
	return nil, nil
}

// runRecorder is RunRecorder on Windows: it runs its command on the
// console the launch created for it (CONIN$, CONOUT$; its own standard
// handles are the launch's) and exits with its status.
func runRecorder(a recorderArgs, _ io.Reader, _, _ io.Writer) (int, error) {
	if a.fd >= 0 || a.socket != "" {
		return startFailedStatus, fmt.Errorf("%w: a recorder on Windows takes no channel", ErrRecorderUsage)
	}
	stop := holdTerminalSignals()
	defer stop()
	in, err := os.OpenFile("CONIN$", os.O_RDWR, 0)
	if err != nil {
		return startFailedStatus, fmt.Errorf("this recorder has no console: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile("CONOUT$", os.O_RDWR, 0)
	if err != nil {
		return startFailedStatus, fmt.Errorf("this recorder has no console: %w", err)
	}
	defer out.Close()
	cmd := exec.Command(a.argv[0], a.argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = in, out, out
	if err := cmd.Start(); err != nil {
		return startFailedStatus, fmt.Errorf("start %s: %w", a.argv[0], err)
	}
	return exitStatus(cmd, cmd.Wait())
}
