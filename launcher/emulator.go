package launcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"
)

// killGrace is how long an emulator has to exit after SIGTERM before it is
// killed.
const killGrace = 3 * time.Second

// emulatorSpec is one emulator process to run.
type emulatorSpec struct {
	argv           []string // argv[0] is an absolute path (Profile.Command)
	env            []string
	stdin          io.Reader
	stdout, stderr io.Writer
	started        func(g *processGroup) // when not nil, called once the emulator runs
	// extraFiles are handed to the emulator as descriptors 3, 4, ... (Unix)
	// and closed here once it has started.
	extraFiles []*os.File
	// newConsole gives the emulator a console window of its own (Windows).
	newConsole bool
}

// runEmulator runs the emulator in a process group of its own and waits for
// it. When ctx ends (Ctrl-C, SIGTERM, SIGHUP on trustlaunch) the whole group
// is stopped; when the emulator exits, whatever it left in its group is
// killed, so no process outlives the launch. It returns the exit status, or
// 128+signal for an emulator killed by a signal.
func runEmulator(ctx context.Context, spec emulatorSpec) (int, error) {
	if len(spec.argv) == 0 {
		return 0, errors.New("no emulator command")
	}
	cmd := exec.Command(spec.argv[0], spec.argv[1:]...)
	cmd.Env = spec.env
	if cmd.Env == nil {
		// exec.Cmd would pass this process's whole environment on.
		cmd.Env = CleanEnv(os.Environ())
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = spec.stdin, spec.stdout, spec.stderr
	cmd.ExtraFiles = spec.extraFiles
	grp := newProcessGroup(cmd, spec.newConsole)
	err := cmd.Start()
	for _, f := range spec.extraFiles {
		f.Close() // the emulator's now, or no one's
	}
	if err != nil {
		return 0, fmt.Errorf("start %s: %w", spec.argv[0], err)
	}
	if err := grp.started(); err != nil {
		// Windows: the emulator, still suspended, could not be put in its
		// Job Object; it has not run.
		grp.kill()
		_ = cmd.Wait()
		grp.finished()
		return 0, fmt.Errorf("start %s: %w", spec.argv[0], err)
	}
	if spec.started != nil {
		spec.started(grp)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	select {
	case err = <-waited:
	case <-ctx.Done():
		grp.terminate()
		select {
		case err = <-waited:
		case <-time.After(killGrace):
			grp.kill()
			err = <-waited
		}
	}
	// Anything the emulator left behind in its group. The group lives on
	// while any member does, so its id cannot have been reused while there
	// is something to kill.
	grp.kill()
	grp.finished()
	return exitStatus(cmd, err)
}

func exitStatus(cmd *exec.Cmd, err error) (int, error) {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		return statusOf(ee), nil
	default:
		return 0, fmt.Errorf("wait for %s: %w", cmd.Path, err)
	}
}
