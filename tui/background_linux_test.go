package tui

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// roleEnv selects a helper role of this test binary (TestMain).
const roleEnv = "TUI_TEST_ROLE"

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "":
		os.Exit(m.Run())
	case "session":
		// The session leader of a terminal, in its foreground: the
		// terminal is usable. Then a job of the same session in the
		// background, which must not use it.
		if err := CheckTerminal(""); err != nil {
			fmt.Println("foreground:", err)
			os.Exit(1)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), roleEnv+"=background")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Println("background job:", err)
			os.Exit(1)
		}
		os.Exit(0)
	case "background":
		err := CheckTerminal("")
		if !errors.Is(err, ErrNoTerminal) || !strings.Contains(err.Error(), "background") {
			fmt.Println("background:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(2)
}

// TestBackgroundJobHasNoTerminal: a process in the background of its
// controlling terminal (a browser started as "firefox &", and its URL
// handler with it) would be stopped by SIGTTIN as soon as the prompt read
// the terminal, and its timeout could not run: it must be told it has no
// terminal, so that open asks in a window instead.
func TestBackgroundJobHasNoTerminal(t *testing.T) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminal: %v", err)
	}
	master := os.NewFile(uintptr(fd), "ptmx")
	defer master.Close()
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), roleEnv+"=session")
	cmd.Stdin = slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	cmd.WaitDelay = time.Second
	done := make(chan error, 1)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("%v: %s", err, out.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("the helper did not finish (stopped in the background?): %s", out.String())
	}
}
