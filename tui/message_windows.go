package tui

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// showWindow runs opts.Command, whose ServeMessage shows m in a message box
// and says so on its standard output, a pipe to this process. The box is
// that process's: the launch returns once it is up, not once it is closed.
func showWindow(ctx context.Context, opts WindowOptions, m windowMessage) error {
	dir, argv, err := handOffMessage(opts, m)
	if dir != "" {
		defer os.RemoveAll(dir)
	}
	if err != nil {
		return err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = opts.Env
	// No console window flashes up for the process that shows the box.
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_NO_WINDOW}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("message window: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: %v", ErrNoWindow, err)
	}
	go func() { _ = cmd.Wait() }() // the box stays up after this returns
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(io.LimitReader(out, maxReply)).ReadString('\n')
		line <- strings.TrimSpace(l)
	}()
	timer := time.NewTimer(opts.StartTimeout)
	defer timer.Stop()
	select {
	case l := <-line:
		if l != messageShown {
			return fmt.Errorf("%w: the message box process answered %s", ErrNoWindow, safetext.Quote(l))
		}
		return nil
	case <-timer.C:
		_ = cmd.Process.Kill()
		return fmt.Errorf("%w: the message box did not come up within %s", ErrNoWindow, opts.StartTimeout)
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		return context.Cause(ctx)
	}
}

// present says on out (the pipe to the waiting process) that the message
// is shown, then shows it in a message box until the user closes it or
// timeout passes. in is not read: the box has its own OK button.
func present(ctx context.Context, _ string, m windowMessage, _ io.Reader, out io.Writer, timeout time.Duration) error {
	if _, err := io.WriteString(out, messageShown+"\n"); err != nil {
		return fmt.Errorf("message window: %w", err)
	}
	if c, ok := out.(io.Closer); ok {
		c.Close()
	}
	text := strings.TrimSuffix(renderMessageBody(m), "\n")
	return messageBox(ctx, safetext.Sanitize(m.Title), text, timeout)
}

// messageBox shows a message box and returns when it is closed or timeout
// passes. It is a variable so that a test can watch what would be shown
// without a desktop.
var messageBox = func(_ context.Context, title, text string, timeout time.Duration) error {
	t, err := windows.UTF16PtrFromString(title)
	if err != nil {
		return err
	}
	b, err := windows.UTF16PtrFromString(text)
	if err != nil {
		return err
	}
	// MessageBoxTimeoutW: MessageBoxW with a timeout, in user32 since
	// Windows XP (and in Wine); MB_SETFOREGROUND and MB_TOPMOST, since the
	// browser that started the launch has the focus.
	const flags = windows.MB_OK | windows.MB_ICONERROR | windows.MB_SETFOREGROUND | windows.MB_TOPMOST
	r, _, callErr := procMessageBoxTimeoutW.Call(0, uintptr(unsafe.Pointer(b)), uintptr(unsafe.Pointer(t)), flags, 0, uintptr(timeout.Milliseconds()))
	if r == 0 {
		return fmt.Errorf("message box: %w", callErr)
	}
	return nil
}

var procMessageBoxTimeoutW = windows.NewLazySystemDLL("user32.dll").NewProc("MessageBoxTimeoutW")

// renderMessageBody is the message alone, sanitized line by line, for a
// message box that wraps it itself.
func renderMessageBody(m windowMessage) string {
	var b strings.Builder
	for _, para := range strings.Split(m.Text, "\n") {
		b.WriteString(safetext.Sanitize(para) + "\n")
	}
	return b.String()
}
