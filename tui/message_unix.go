//go:build !windows

package tui

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// showWindow opens a terminal window that shows m, and returns once the
// window has said it shows it.
func showWindow(ctx context.Context, opts WindowOptions, m windowMessage) error {
	dir, argv, err := handOffMessage(opts, m)
	if dir != "" {
		defer os.RemoveAll(dir)
	}
	if err != nil {
		return err
	}
	ln, err := net.Listen("unix", filepath.Join(dir, answerSock))
	if err != nil {
		return fmt.Errorf("message window: %w", err)
	}
	defer ln.Close()
	conns := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			conns <- c
		}
	}()
	cands, failures := windowCommands(environ(opts.Env), argv, dir)
	p := &windowPrompter{opts: opts}
	for _, c := range cands {
		conn, err := p.launch(ctx, c, conns)
		if errors.Is(err, errTryNext) {
			failures = append(failures, err.Error())
			continue
		}
		if err != nil {
			return err
		}
		return awaitShown(conn, opts.StartTimeout)
	}
	if len(failures) == 0 {
		return ErrNoWindow
	}
	return fmt.Errorf("%w: %s", ErrNoWindow, strings.Join(failures, "; "))
}

// awaitShown reads the window's one line, which says the message is on its
// screen.
func awaitShown(conn net.Conn, timeout time.Duration) error {
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(timeout))
	line, err := bufio.NewReader(io.LimitReader(conn, maxReply)).ReadString('\n')
	if err != nil {
		return fmt.Errorf("%w: the window closed before it showed the message: %v", ErrNoWindow, err)
	}
	if strings.TrimSpace(line) != messageShown {
		return fmt.Errorf("%w: the window answered %s", ErrNoWindow, safetext.Quote(strings.TrimSpace(line)))
	}
	return nil
}

// present writes the message on the window's terminal, tells the waiting
// process through the hand-off socket, and waits for Enter.
func present(ctx context.Context, handoff string, m windowMessage, in io.Reader, out io.Writer, timeout time.Duration) error {
	if _, err := io.WriteString(out, renderMessage(m, maxWidth)); err != nil {
		return fmt.Errorf("message window: %w", err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", filepath.Join(handoff, answerSock))
	if err != nil {
		return fmt.Errorf("message window: %w", err)
	}
	_, err = io.WriteString(conn, messageShown+"\n")
	conn.Close()
	if err != nil {
		return fmt.Errorf("message window: %w", err)
	}
	read := make(chan struct{})
	go func() {
		_, _ = bufio.NewReader(in).ReadString('\n')
		close(read)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-read:
	case <-timer.C:
	case <-ctx.Done():
	}
	return nil
}
