package launcher

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// recorderFD is the descriptor the window's terminal gets the launch's end
// of the socketpair as (exec.Cmd.ExtraFiles[0]), and its command with it
// when the terminal passes its descriptors on.
const recorderFD = 3

// reportSocket is the name of the socket, in a private directory of the
// launch, that a terminal which may start its command from a server
// process is offered for the recorder's report.
const reportSocket = "report.sock"

// recorderAnswerWait bounds the recorder's wait for the launch to accept
// its report: a few /proc reads on the launch's side.
const recorderAnswerWait = 30 * time.Second

// recorderWatch is the launch's side of the recorder in a terminal window:
// it reads the reports on the socketpair whose other end the window
// inherits and, when the terminal may not pass it on, on the report
// socket; it accepts the first report whose sender checks out, and ends
// the launch (end) on any report after it, any report that fails the
// check, and anything on a channel that only the recorder may send. The
// accepted recorder and its descendants are admitted to the tunnel
// (admitted), and its exit status is read from its channel (finish).
type recorderWatch struct {
	want []string          // the recorder's whole command line
	exe  fileID            // the file want[0] names
	pair *net.UnixConn     // the launch's end of the socketpair
	peer *os.File          // the window's end, closed once the window has started
	ln   *net.UnixListener // the report socket; nil when the terminal passes descriptors on
	dir  string            // ln's private directory
	end  func(error)       // ends the emulator's run

	readers  sync.WaitGroup
	accepted chan struct{} // closed when ln's accept loop has returned
	once     sync.Once

	mu        sync.Mutex
	pid       int           // the accepted recorder, 0 before
	start     string        // its start time (startTime)
	pidfd     int           // a pidfd of it, or -1 (pinProcess)
	conn      *net.UnixConn // its channel: pair, or its connection to ln
	gone      bool          // its channel has ended: it has exited
	status    int
	hasStatus bool
	err       error           // why the launch was ended, wrapping ErrTampered
	conns     []*net.UnixConn // every channel, to close
}

// fileID names a file by device and inode.
type fileID struct{ dev, ino uint64 }

// prepareWindow sets spec up to run through the recorder in a terminal
// window, and returns the launch's side of the recorder; serve starts it.
func prepareWindow(win *TerminalWindow, spec *emulatorSpec) (_ *recorderWatch, err error) {
	if len(win.Recorder) == 0 || win.Terminal == nil {
		return nil, errors.New("no recorder or no terminal to open a window with")
	}
	var st unix.Stat_t
	if err := unix.Stat(win.Recorder[0], &st); err != nil {
		return nil, fmt.Errorf("the recorder %s: %w", win.Recorder[0], err)
	}
	terminal, inherits, err := win.Terminal()
	if err != nil {
		return nil, err
	}
	w := &recorderWatch{exe: fileID{st.Dev, st.Ino}, accepted: make(chan struct{}), pidfd: -1}
	defer func() {
		if err != nil {
			w.closeAll()
		}
	}()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("the recorder's channel: %w", err)
	}
	w.peer = os.NewFile(uintptr(fds[1]), "recorder channel")
	ours := os.NewFile(uintptr(fds[0]), "recorder channel")
	// Set before the window can send anything: each message then carries
	// its sender's PID, which the kernel fills in and checks.
	err = unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	var c net.Conn
	if err == nil {
		c, err = net.FileConn(ours)
	}
	ours.Close()
	if err != nil {
		return nil, fmt.Errorf("the recorder's channel: %w", err)
	}
	w.pair = c.(*net.UnixConn)
	w.conns = append(w.conns, w.pair)
	if err := unix.Fstat(fds[1], &st); err != nil {
		return nil, fmt.Errorf("the recorder's channel: %w", err)
	}
	a := recorderArgs{fd: recorderFD, inode: st.Ino, argv: spec.argv}
	if !inherits {
		if a.socket, err = w.listen(); err != nil {
			return nil, err
		}
	}
	w.want = append(slices.Clone(win.Recorder), a.list()...)
	spec.argv = append(slices.Clone(terminal), w.want...)
	spec.extraFiles = []*os.File{w.peer}
	return w, nil
}

// listen opens the report socket in a new private directory (0700), in
// the temporary directory or, when that path is too long for a socket
// (sun_path), in /tmp.
func (w *recorderWatch) listen() (string, error) {
	var lastErr error
	for _, base := range []string{os.TempDir(), "/tmp"} {
		dir, err := os.MkdirTemp(base, "trustlaunch-recorder-")
		if err != nil {
			lastErr = err
			continue
		}
		path := filepath.Join(dir, reportSocket)
		if len(path) >= len(unix.RawSockaddrUnix{}.Path) {
			os.Remove(dir)
			lastErr = fmt.Errorf("%s: path too long for a socket", path)
			continue
		}
		ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
		if err != nil {
			os.Remove(dir)
			return "", fmt.Errorf("the recorder's report socket: %w", err)
		}
		w.ln, w.dir = ln, dir
		return path, nil
	}
	return "", fmt.Errorf("the recorder's report socket: %w", lastErr)
}

// serve starts reading reports; end is called (once) when the launch must
// be ended.
func (w *recorderWatch) serve(end func(error)) {
	w.end = end
	w.readers.Add(1)
	go w.read(w.pair, -1)
	if w.ln == nil {
		close(w.accepted)
		return
	}
	go func() {
		defer close(w.accepted)
		for {
			c, err := w.ln.AcceptUnix()
			if err != nil {
				return
			}
			pid := 0 // a connection whose sender cannot be named is refused at its first message
			if raw, err := c.SyscallConn(); err == nil {
				raw.Control(func(fd uintptr) {
					if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
						pid = int(cred.Pid)
					}
				})
			}
			w.mu.Lock()
			w.conns = append(w.conns, c)
			w.readers.Add(1)
			w.mu.Unlock()
			go w.read(c, pid)
		}
	}()
}

// read handles the messages of one channel until it ends. pid is the
// sender of every message (the connecting process of an accepted
// connection), or -1: each message names its own (SCM_CREDENTIALS).
func (w *recorderWatch) read(c *net.UnixConn, pid int) {
	defer w.readers.Done()
	buf := make([]byte, maxMessage+1)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	for {
		n, oobn, flags, _, err := c.ReadMsgUnix(buf, oob)
		if err != nil || n == 0 {
			break
		}
		from := pid
		if from < 0 {
			from = credentialsPID(oob[:oobn])
		}
		if flags&unix.MSG_TRUNC != 0 {
			n = len(buf) // longer than any message: refused as it stands
		}
		w.message(c, from, string(buf[:n]))
	}
	w.mu.Lock()
	if c == w.conn {
		w.gone = true
	}
	w.mu.Unlock()
}

// credentialsPID returns the sender's PID from a message's SCM_CREDENTIALS,
// or 0.
func credentialsPID(oob []byte) int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for i := range msgs {
		if cred, err := unix.ParseUnixCredentials(&msgs[i]); err == nil {
			return int(cred.Pid)
		}
	}
	return 0
}

// message handles one message from process pid on channel c. Holding mu
// throughout makes the first report the one accepted: a second waits, and
// then finds the first.
func (w *recorderWatch) message(c *net.UnixConn, pid int, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return // ended already
	}
	who := func() string { return fmt.Sprintf("process %d (%s)", pid, procName(pid)) }
	switch {
	case msg == msgReport && w.pid != 0:
		w.tamper(fmt.Errorf("%w: %s reported itself as the recorder after process %d had", ErrTampered, who(), w.pid))
	case msg == msgReport:
		start, err := checkRecorderProcess(pid, w.want, w.exe)
		if err != nil {
			w.tamper(fmt.Errorf("%w: %s reported itself as the recorder: %v", ErrTampered, who(), err))
			return
		}
		w.pid, w.start, w.conn = pid, start, c
		w.pidfd = pinProcess(pid, start)
		if _, err := c.Write([]byte(msgAccepted)); err != nil {
			w.gone = true // it has gone already; its descendants are not admitted
		}
	case c == w.conn && pid == w.pid && !w.hasStatus:
		st, ok := parseStatus(msg)
		if !ok {
			w.tamper(fmt.Errorf("%w: the recorder sent %s, not an exit status", ErrTampered, safetext.Quote(msg)))
			return
		}
		w.status, w.hasStatus = st, true
	default:
		w.tamper(fmt.Errorf("%w: %s sent %s on the recorder's channel", ErrTampered, who(), safetext.Quote(msg)))
	}
}

// tamper ends the launch with err: the emulator's run is ended and every
// channel closed, which tells a recorder that is running its emulator to
// end it. Called with mu held.
func (w *recorderWatch) tamper(err error) {
	if w.err != nil {
		return
	}
	w.err = err
	for _, c := range w.conns {
		c.Close()
	}
	if w.ln != nil {
		w.ln.Close()
	}
	if w.end != nil {
		w.end(err)
	}
}

// admitted returns the accepted recorder while it runs: its descendants
// may use the tunnel. The start time tells it from a later process that
// reused its PID.
func (w *recorderWatch) admitted() (int, bool) {
	w.mu.Lock()
	defer w.mu.Unlock() // held while pidfd is polled: closeAll closes it
	if w.pid == 0 || w.gone || w.err != nil {
		return 0, false
	}
	if w.pidfd >= 0 {
		// A pidfd becomes readable when its process has exited: one
		// system call, where the start time is a read of /proc/PID/stat,
		// which for a process of many threads costs tens of µs.
		for {
			n, err := unix.Poll([]unix.PollFd{{Fd: int32(w.pidfd), Events: unix.POLLIN}}, 0)
			if err == unix.EINTR {
				continue
			}
			if err != nil || n > 0 {
				return 0, false
			}
			return w.pid, true
		}
	}
	if st, err := startTime(w.pid); err != nil || st != w.start {
		return 0, false
	}
	return w.pid, true
}

// pinProcess returns a pidfd of process pid once it is known to name the
// process with this start time, or -1 (no pidfd_open before Linux 5.3):
// admitted then compares the start time each time.
func pinProcess(pid int, start string) int {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1
	}
	if st, err := startTime(pid); err != nil || st != start {
		unix.Close(fd)
		return -1
	}
	return fd
}

// finish is called once the window has closed: what the recorder sent
// before it exited is queued on its channel by then. It stops taking
// reports, reads what is queued, closes everything, and returns the
// recorder's exit status (ok false: none came) or why the launch was
// ended. Later calls return the same. A watch that was prepared and never
// served (the launch ended before the window opened) is only closed.
func (w *recorderWatch) finish() (status int, ok bool, err error) {
	w.once.Do(func() {
		if w.end == nil {
			w.closeAll()
			return
		}
		if w.ln != nil {
			w.ln.Close()
		}
		<-w.accepted
		w.mu.Lock()
		for _, c := range w.conns {
			// Reads return what is queued, then the end.
			c.CloseRead()
		}
		w.mu.Unlock()
		w.readers.Wait()
		w.closeAll()
	})
	// Nothing changes them any more: every reader has returned.
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status, w.hasStatus && w.err == nil, w.err
}

// closeAll releases the channels and the report socket's directory.
func (w *recorderWatch) closeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.conns {
		c.Close()
	}
	if w.peer != nil {
		w.peer.Close()
	}
	if w.ln != nil {
		w.ln.Close()
	}
	if w.dir != "" {
		os.RemoveAll(w.dir)
	}
	if w.pidfd >= 0 {
		unix.Close(w.pidfd)
		w.pidfd = -1
	}
}

// checkRecorderProcess returns the start time of process pid when it runs
// the file exe with exactly the command line want, and why not otherwise.
// The start time is read before and after, so that the answers are about
// one process.
func checkRecorderProcess(pid int, want []string, exe fileID) (string, error) {
	if pid <= 0 {
		return "", errors.New("the sender cannot be named")
	}
	before, err := startTime(pid)
	if err != nil {
		return "", fmt.Errorf("it cannot be inspected: %w", err)
	}
	proc := "/proc/" + strconv.Itoa(pid)
	var st unix.Stat_t
	if err := unix.Stat(proc+"/exe", &st); err != nil {
		return "", fmt.Errorf("its executable cannot be read: %w", err)
	}
	if (fileID{st.Dev, st.Ino}) != exe {
		path, _ := os.Readlink(proc + "/exe")
		return "", fmt.Errorf("it runs %s, not %s", safetext.Quote(path), safetext.Quote(want[0]))
	}
	cmdline, err := os.ReadFile(proc + "/cmdline")
	if err != nil {
		return "", fmt.Errorf("its command line cannot be read: %w", err)
	}
	var b bytes.Buffer
	for _, a := range want {
		b.WriteString(a)
		b.WriteByte(0)
	}
	if !bytes.Equal(cmdline, b.Bytes()) {
		return "", errors.New("its command line is not this launch's recorder's")
	}
	if after, err := startTime(pid); err != nil || after != before {
		return "", errors.New("it exited while it was being checked")
	}
	return before, nil
}

// runRecorder is RunRecorder on Linux: it reports over the descriptor the
// window passed on, or else the report socket.
func runRecorder(a recorderArgs, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	stop := holdTerminalSignals()
	defer stop()
	ch, err := reportToLaunch(a)
	if err != nil {
		return startFailedStatus, fmt.Errorf("report to the launch: %w", err)
	}
	defer ch.Close()
	cmd := exec.Command(a.argv[0], a.argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	status, runErr := startFailedStatus, error(nil)
	if err := cmd.Start(); err != nil {
		runErr = fmt.Errorf("start %s: %w", a.argv[0], err)
	} else {
		exited := make(chan struct{})
		go endWithLaunch(ch, cmd.Process, exited)
		status, runErr = exitStatus(cmd, cmd.Wait())
		close(exited)
	}
	if _, err := ch.Write([]byte(msgStatus + strconv.Itoa(status))); err != nil {
		return status, errors.Join(runErr, fmt.Errorf("hand the exit status to the launch: %w", err))
	}
	return status, runErr
}

// reportToLaunch opens the channel to the launch and reports on it: the
// inherited descriptor when it is the launch's socket, else the report
// socket. It returns once the launch has accepted the report.
func reportToLaunch(a recorderArgs) (*net.UnixConn, error) {
	var c *net.UnixConn
	if a.fd >= 0 {
		c = inheritedChannel(a.fd, a.inode)
	}
	if c == nil {
		if a.socket == "" {
			return nil, fmt.Errorf("the terminal window did not pass on descriptor %d, the launch's channel", a.fd)
		}
		var err error
		if c, err = net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: a.socket, Net: "unixpacket"}); err != nil {
			return nil, err
		}
	}
	c.SetDeadline(time.Now().Add(recorderAnswerWait))
	buf := make([]byte, maxMessage)
	_, err := c.Write([]byte(msgReport))
	n := 0
	if err == nil {
		n, err = c.Read(buf)
	}
	if err != nil || string(buf[:n]) != msgAccepted {
		c.Close()
		return nil, errors.New("the launch did not accept this recorder: it has ended, or another program reported itself as the recorder")
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// inheritedChannel returns descriptor fd as a connection when it is the
// launch's socket (its inode is the one given), and closes the descriptor
// so that the emulator does not inherit it (the connection is a duplicate
// that is closed on exec). Anything else at fd is left alone.
func inheritedChannel(fd int, inode uint64) *net.UnixConn {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK || st.Ino != inode {
		return nil
	}
	f := os.NewFile(uintptr(fd), "launch channel")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil
	}
	return uc
}

// endWithLaunch ends the recorder's command when the launch closes the
// channel before it has exited: the launch was interrupted, or ended as
// tampered with, and a window that a server process runs would outlive
// it. SIGHUP is what a closing terminal sends; SIGKILL follows.
func endWithLaunch(ch *net.UnixConn, p *os.Process, exited <-chan struct{}) {
	buf := make([]byte, maxMessage)
	for {
		if _, err := ch.Read(buf); err != nil {
			break
		}
	}
	select {
	case <-exited:
		return
	default:
	}
	p.Signal(syscall.SIGHUP)
	grace := time.NewTimer(killGrace)
	defer grace.Stop()
	select {
	case <-exited:
	case <-grace.C:
		p.Kill()
	}
}
