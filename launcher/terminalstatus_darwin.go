package launcher

import (
	"errors"
	"io"
)

var errNoTerminalWindow = errors.New("running an emulator in a terminal window of its own is not supported on darwin")

// prepareWindow refuses: Terminal.app runs a command through open(1), which
// returns at once, so the launch could not follow the emulator (and Launch
// refuses on macOS before this).
func prepareWindow(*TerminalWindow, *emulatorSpec) (*recorderWatch, error) {
	return nil, errNoTerminalWindow
}

func runRecorder(recorderArgs, io.Reader, io.Writer, io.Writer) (int, error) {
	return startFailedStatus, errNoTerminalWindow
}
