package tui

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// ErrNoWindow is wrapped by the error of a window prompter that could not
// open a terminal window, or whose window never connected back.
var ErrNoWindow = errors.New("no terminal window could be opened")

// Defaults of WindowOptions.
const (
	DefaultWindowStartTimeout = 30 * time.Second
	DefaultWindowTimeout      = DefaultTimeout + 30*time.Second
)

// Names in the hand-off directory.
const (
	requestFile = "request.json"
	answerSock  = "answer.sock"
	maxRequest  = 64 << 10
	maxReply    = 4 << 10
)

// WindowOptions configures NewWindowPrompter.
type WindowOptions struct {
	// Command returns the command line that runs ServeWindow(ctx, handoff, …)
	// in the new window: typically the running executable and a hidden
	// subcommand, e.g. []string{exe, "__prompt-window", handoff}. Required.
	// handoff is a local path; nothing from the network is put in the
	// command line, which a terminal emulator may parse in its own way.
	Command func(handoff string) []string
	// StartTimeout bounds the wait for the window to connect back once a
	// terminal started; 0 means DefaultWindowStartTimeout.
	StartTimeout time.Duration
	// Timeout bounds the wait for the answer once the window connected; 0
	// means DefaultWindowTimeout. Keep it longer than the window prompter's
	// own Options.Timeout, which answers No first.
	Timeout time.Duration
	// Env is the environment that chooses the terminal ($TERMINAL, $PATH,
	// $DISPLAY, $WAYLAND_DISPLAY, $XDG_RUNTIME_DIR) and that it runs with;
	// nil means os.Environ().
	Env []string
	// Notify shows a desktop notification, for TellWithoutTerminal; nil
	// means NotifySend with Env. The window prompter never notifies: its
	// error goes into the decision, whose caller tells the user once
	// (launcher.Options.Tell), with everything else a launch can say.
	Notify func(ctx context.Context, summary, body string) error
}

func (o WindowOptions) withDefaults() WindowOptions {
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultWindowStartTimeout
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultWindowTimeout
	}
	if o.Env == nil {
		o.Env = os.Environ()
	}
	if o.Notify == nil {
		env := o.Env
		o.Notify = func(ctx context.Context, summary, body string) error {
			return NotifySend(ctx, env, summary, body)
		}
	}
	return o
}

type windowPrompter struct{ opts WindowOptions }

// NewWindowPrompter returns a Prompter for a process without a terminal
// (CheckTerminal fails): a browser started the URL handler. Its Prompt opens
// a terminal window that runs opts.Command, whose ServeWindow asks the
// question there and sends the answer back. The terminal is $TERMINAL, then
// x-terminal-emulator, gnome-terminal, konsole, xfce4-terminal,
// mate-terminal, alacritty and xterm (Terminal.app on macOS, a new console on
// Windows).
//
// The request and the answer pass through a directory that only the user can
// enter (0700; owner checked on both sides): request.json, and a Unix socket
// the window connects to, so no other local user can read the request or
// forge the answer. The answer must name the origin that was asked about.
//
// Prompt answers AnswerNo with an error wrapping ErrNoWindow when no terminal
// could be started or none connected back in time; with the window's own
// reason (ErrTimeout, ErrInterrupted, ErrTerminalClosed) when it answered No
// that way; and with an error when the window closed without answering. It
// tells the user nothing itself: the error becomes the decision's message,
// and the launch that asked tells the user why it was refused, once.
func NewWindowPrompter(opts WindowOptions) whitelist.Prompter {
	return &windowPrompter{opts: opts.withDefaults()}
}

// windowRequest is request.json.
type windowRequest struct {
	LaunchURL    string `json:"launch_url"` // the descriptor URL without query and fragment: withoutQuery
	UserListPath string `json:"user_list_path"`
}

// windowReply is the one line the window sends back.
type windowReply struct {
	Answer string `json:"answer"`           // "no", "yes" or "always": whitelist.Answer.String()
	Origin string `json:"origin"`           // the origin the window asked about
	Reason string `json:"reason,omitempty"` // why No came without a choice; see reasons
}

// reasons maps the sentinel errors of a No to their names on the wire.
var reasons = []struct {
	name string
	err  error
}{
	{"timeout", ErrTimeout},
	{"interrupted", ErrInterrupted},
	{"terminal-closed", ErrTerminalClosed},
	{"no-terminal", ErrNoTerminal},
	{"no-answer", ErrNoAnswer},
}

// Prompt implements whitelist.Prompter.
func (p *windowPrompter) Prompt(ctx context.Context, req whitelist.PromptRequest) (whitelist.Answer, error) {
	if err := ctx.Err(); err != nil {
		return whitelist.AnswerNo, err
	}
	if p.opts.Command == nil {
		return whitelist.AnswerNo, errors.New("window prompt: no command to run in the window")
	}
	env := environ(p.opts.Env)
	dir, err := makeHandoff(env)
	if err != nil {
		return whitelist.AnswerNo, err
	}
	defer os.RemoveAll(dir)

	data, err := json.Marshal(windowRequest{LaunchURL: withoutQuery(req.LaunchURL), UserListPath: req.UserListPath})
	if err != nil {
		return whitelist.AnswerNo, err
	}
	if err := writePrivate(filepath.Join(dir, requestFile), data); err != nil {
		return whitelist.AnswerNo, err
	}
	ln, err := net.Listen("unix", filepath.Join(dir, answerSock))
	if err != nil {
		return whitelist.AnswerNo, fmt.Errorf("window prompt: %w", err)
	}
	defer ln.Close()
	conns := make(chan net.Conn, 1)
	go func() {
		// The first connection is the window; the directory lets no one
		// else's in.
		if c, err := ln.Accept(); err == nil {
			conns <- c
		}
	}()

	argv := p.opts.Command(dir)
	if len(argv) == 0 {
		return whitelist.AnswerNo, errors.New("window prompt: empty command")
	}
	cands, skipped := windowCommands(env, argv, dir)
	failures := skipped
	for _, c := range cands {
		conn, err := p.launch(ctx, c, conns)
		if errors.Is(err, errTryNext) {
			failures = append(failures, err.Error())
			continue
		}
		if err != nil {
			return whitelist.AnswerNo, err
		}
		return p.await(ctx, conn, req)
	}
	err = fmt.Errorf("%w: %s", ErrNoWindow, strings.Join(failures, "; "))
	if len(failures) == 0 {
		err = ErrNoWindow
	}
	return whitelist.AnswerNo, err
}

// withoutQuery cuts a raw descriptor URL before its query and fragment, for
// request.json: a portal puts the single-use ticket there
// (docs/design.md "The decision flow"), and the file outlives the prompt if
// trustlaunch is killed. The window needs only the origin and the path, and
// the prompt shows the path with the query hidden as "?…": a bare "?" is kept
// so that it still does. In the URL Standard the first "?" or "#", wherever
// it stands, ends the authority or the path, so nothing after it is origin or
// path.
func withoutQuery(raw string) string {
	i := strings.IndexAny(raw, "?#")
	switch {
	case i < 0:
		return raw
	case raw[i] == '?':
		return raw[:i+1]
	}
	return raw[:i]
}

var errTryNext = errors.New("try the next terminal")

type tryNextError struct{ msg string }

func (e *tryNextError) Error() string        { return e.msg }
func (e *tryNextError) Is(target error) bool { return target == errTryNext }

// launch starts one terminal and waits for its window to connect. It returns
// an errTryNext error when the terminal could not start or exited with an
// error before connecting; a terminal that exits 0 first has handed the
// window to a server process (gnome-terminal, konsole), so the wait goes on.
func (p *windowPrompter) launch(ctx context.Context, c windowCmd, conns <-chan net.Conn) (net.Conn, error) {
	cmd := exec.Command(c.path, c.args...)
	cmd.Env = p.opts.Env
	cmd.SysProcAttr = c.sys
	if err := cmd.Start(); err != nil {
		return nil, &tryNextError{fmt.Sprintf("%s: %v", c.name, err)}
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	timer := time.NewTimer(p.opts.StartTimeout)
	defer timer.Stop()
	for {
		select {
		case conn := <-conns:
			return conn, nil
		case err := <-exited:
			exited = nil
			if err != nil {
				return nil, &tryNextError{fmt.Sprintf("%s: %v", c.name, err)}
			}
		case <-timer.C:
			_ = cmd.Process.Kill()
			return nil, fmt.Errorf("%w: %s started but no window connected within %s", ErrNoWindow, c.name, p.opts.StartTimeout)
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return nil, context.Cause(ctx)
		}
	}
}

// await reads the window's answer. Closing conn (on return, timeout or
// cancel) tells the window to stop asking.
func (p *windowPrompter) await(ctx context.Context, conn net.Conn, req whitelist.PromptRequest) (whitelist.Answer, error) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	_ = conn.SetReadDeadline(time.Now().Add(p.opts.Timeout))
	line, err := bufio.NewReader(io.LimitReader(conn, maxReply)).ReadBytes('\n')
	if ctx.Err() != nil {
		return whitelist.AnswerNo, context.Cause(ctx)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return whitelist.AnswerNo, fmt.Errorf("%w: the terminal window sent no answer within %s", ErrTimeout, p.opts.Timeout)
	}
	if err != nil {
		return whitelist.AnswerNo, fmt.Errorf("%w: the terminal window closed without an answer", ErrTerminalClosed)
	}
	var r windowReply
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return whitelist.AnswerNo, fmt.Errorf("window prompt: malformed answer: %s", safetext.Sanitize(err.Error()))
	}
	if want := req.Origin.String(); r.Origin != want {
		return whitelist.AnswerNo, fmt.Errorf("window prompt: the window asked about %s, not %s", safetext.Quote(r.Origin), safetext.Quote(want))
	}
	switch {
	case r.Answer == whitelist.AnswerAlways.String() && r.Reason == "":
		return whitelist.AnswerAlways, nil
	case r.Answer == whitelist.AnswerYes.String() && r.Reason == "":
		return whitelist.AnswerYes, nil
	case r.Answer == whitelist.AnswerNo.String() && r.Reason == "":
		return whitelist.AnswerNo, nil
	case r.Answer == whitelist.AnswerNo.String():
		for _, rs := range reasons {
			if rs.name == r.Reason {
				return whitelist.AnswerNo, fmt.Errorf("in the terminal window: %w", rs.err)
			}
		}
		return whitelist.AnswerNo, fmt.Errorf("in the terminal window: %w (%s)", ErrNoAnswer, safetext.Sanitize(r.Reason))
	}
	return whitelist.AnswerNo, fmt.Errorf("window prompt: malformed answer %s", safetext.Quote(string(bytes.TrimSpace(line))))
}

// ServeWindow is the far end of NewWindowPrompter, run inside the terminal
// window by WindowOptions.Command: it reads the request from the hand-off
// directory, asks with p (normally NewPrompter on the window's terminal), and
// sends the answer back. It returns an error when the hand-off fails; the
// answer itself, No included, goes to the waiting process. If that process
// gives up, the prompt is cancelled.
func ServeWindow(ctx context.Context, handoff string, p whitelist.Prompter) error {
	if err := checkPrivate(handoff, true); err != nil {
		return fmt.Errorf("window prompt: hand-off directory: %w", err)
	}
	reqPath := filepath.Join(handoff, requestFile)
	if err := checkPrivate(reqPath, false); err != nil {
		return fmt.Errorf("window prompt: %w", err)
	}
	data, err := readCapped(reqPath, maxRequest)
	if err != nil {
		return fmt.Errorf("window prompt: %w", err)
	}
	var req windowRequest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return fmt.Errorf("window prompt: %s: %s", requestFile, safetext.Sanitize(err.Error()))
	}
	origin, err := whitelist.ParseOrigin(req.LaunchURL)
	if err != nil {
		return fmt.Errorf("window prompt: %w", err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", filepath.Join(handoff, answerSock))
	if err != nil {
		return fmt.Errorf("window prompt: %w", err)
	}
	defer conn.Close()

	// The waiting process sends nothing; end of input means it gave up.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		_, _ = io.Copy(io.Discard, conn)
		cancel(errors.New("the launch stopped waiting for an answer"))
	}()

	a, perr := p.Prompt(ctx, whitelist.PromptRequest{Origin: origin, LaunchURL: req.LaunchURL, UserListPath: req.UserListPath})
	reply := windowReply{Answer: a.String(), Origin: origin.String()}
	if perr != nil {
		reply.Answer = whitelist.AnswerNo.String()
		reply.Reason = "no-answer"
		for _, rs := range reasons {
			if errors.Is(perr, rs.err) {
				reply.Reason = rs.name
				break
			}
		}
	}
	line, err := json.Marshal(reply)
	if err != nil {
		return err
	}
	if _, err := conn.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("window prompt: sending the answer: %w", err)
	}
	return nil
}

// NotifySend shows a desktop notification with notify-send, found in env's
// PATH, and reports an error when there is none or it fails. body is plain
// text: it is sanitized and its markup characters escaped, since
// notification servers may read it as markup.
func NotifySend(ctx context.Context, env []string, summary, body string) error {
	path, err := lookPath("notify-send", environ(env).get("PATH"))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	cmd := exec.CommandContext(ctx, path, "--app-name=trustlaunch", "--",
		esc.Replace(safetext.Sanitize(summary)), esc.Replace(safetext.Sanitize(body)))
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("notify-send: %w: %s", err, safetext.Excerpt(strings.TrimSpace(string(out)), 200))
	}
	return nil
}

// environ is an environment list with lookups.
type environ []string

func (e environ) get(key string) string {
	v := ""
	for _, kv := range e {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val // the last one wins, as in os/exec
		}
	}
	return v
}

// windowCmd is one way to open a terminal window.
type windowCmd struct {
	name string // for messages: "$TERMINAL (foot)", "xterm"
	path string
	args []string
	sys  *syscall.SysProcAttr
}

// makeHandoff creates the private hand-off directory: 0700, in the user's
// runtime directory when there is one. A socket path must stay under about
// 100 bytes (sun_path), so a long base falls back to the temp directory.
func makeHandoff(env environ) (string, error) {
	var bases []string
	if rt := env.get("XDG_RUNTIME_DIR"); filepath.IsAbs(rt) {
		bases = append(bases, rt)
	}
	bases = append(bases, os.TempDir())
	var lastErr error
	for _, base := range bases {
		dir, err := os.MkdirTemp(base, "trustlaunch-prompt-")
		if err != nil {
			lastErr = err
			continue
		}
		if len(filepath.Join(dir, answerSock)) > 100 {
			_ = os.Remove(dir)
			lastErr = fmt.Errorf("%s: path too long for a socket", dir)
			continue
		}
		// MkdirTemp asks for 0700, but the umask only narrows it; make sure.
		if err := os.Chmod(dir, 0o700); err != nil {
			_ = os.Remove(dir)
			return "", fmt.Errorf("window prompt: %w", err)
		}
		return dir, nil
	}
	return "", fmt.Errorf("window prompt: hand-off directory: %w", lastErr)
}

func writePrivate(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("window prompt: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("window prompt: %w", err)
	}
	return f.Close()
}

func readCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return data, nil
}

// lookPath finds an executable like exec.LookPath, but in the PATH given
// rather than the process's own.
func lookPath(name, pathEnv string) (string, error) {
	if strings.ContainsRune(name, os.PathSeparator) || filepath.IsAbs(name) {
		if isExecutable(name) {
			return name, nil
		}
		return "", fmt.Errorf("%s: not an executable file", name)
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue // a relative PATH entry would run whatever is in the current directory
		}
		for _, p := range executableNames(filepath.Join(dir, name)) {
			if isExecutable(p) {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("%s: not found in PATH", name)
}
