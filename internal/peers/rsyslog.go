//go:build linux

package peers

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RsyslogOptions configure StartRsyslog.
type RsyslogOptions struct {
	StartTimeout time.Duration // DefaultStartTimeout when zero
}

// Rsyslog is a running rsyslogd that reads RFC 5424 messages from a
// datagram socket of its own (Socket), as its imuxsock module reads
// /dev/log, parses each with rsyslog's own parsers (the RFC 5424 header,
// and the structured data with mmpstrucdata), and writes each as one JSON
// line to a pipe that Next reads.
type Rsyslog struct {
	*Process
	Socket string // the socket it reads, to be bound where /dev/log is
	out    *bufio.Reader
	pipe   *os.File
}

// RsyslogMessage is one message as rsyslog parsed it: the RFC 5424 header
// (section 6.2), the structured data by SD-ID and parameter name, and the
// message.
type RsyslogMessage struct {
	PRI       string `json:"pri"`
	Version   string `json:"version"`
	Timestamp string `json:"timestamp"`
	Hostname  string `json:"hostname"`
	AppName   string `json:"app_name"`
	ProcID    string `json:"procid"`
	MsgID     string `json:"msgid"`
	SDText    string `json:"sd"` // mmpstrucdata's JSON, as text
	Msg       string `json:"msg"`
	SD        map[string]map[string]string
	Line      string // the line rsyslog wrote
}

// rsyslogConf reads SOCKET with the parser chain rather than imuxsock's
// special parser (which knows only the old BSD format and would take an
// RFC 5424 message's version for its tag), keeps the message's own
// timestamp, keeps the case of SD-IDs and parameter names (mmpstrucdata
// lowers them by default), drops no message to rate limiting, and writes
// every message to the pipe as one JSON line.
const rsyslogConf = `global(workDirectory="%[1]s" maxMessageSize="64k")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="%[2]s" UseSpecialParser="off" IgnoreTimestamp="off" RateLimit.Interval="0")
module(load="mmpstrucdata")
template(name="json" type="list" option.jsonf="on") {
  property(outname="pri" name="pri" format="jsonf")
  property(outname="version" name="protocol-version" format="jsonf")
  property(outname="timestamp" name="timestamp" dateFormat="rfc3339" format="jsonf")
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="app_name" name="app-name" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="sd" name="$!rfc5424-sd" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
}
action(type="mmpstrucdata" sd_name.lowercase="off")
action(type="ompipe" pipe="%[3]s" template="json")
`

// StartRsyslog starts rsyslogd in the foreground with its configuration,
// socket, pipe and pid file in a directory of the test's, and returns once
// it has said it is ready: it tells systemd's notify socket READY=1
// (sd_notify), here a socket of the harness's named by NOTIFY_SOCKET.
func StartRsyslog(t testing.TB, opts RsyslogOptions) *Rsyslog {
	t.Helper()
	bin := RequireBinary(t, "rsyslogd")
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	dir := t.TempDir()
	r := &Rsyslog{Socket: filepath.Join(dir, "log")}
	pipe := filepath.Join(dir, "out")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Fatal(err)
	}
	// Open the pipe read-write: the open does not wait for a writer, and
	// the pipe never reads as ended while rsyslog reopens it.
	f, err := os.OpenFile(pipe, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	r.pipe, r.out = f, bufio.NewReader(f)
	conf := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, rsyslogConf, dir, r.Socket, pipe), 0o600); err != nil {
		t.Fatal(err)
	}
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "notify"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()
	cmd := exec.Command(bin, "-n", "-f", conf, "-i", filepath.Join(dir, "rsyslogd.pid"))
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+notify.LocalAddr().String())
	p, err := startProcess(t, "rsyslogd", dir, cmd)
	if err != nil {
		t.Fatal(err)
	}
	r.Process = p
	notify.SetReadDeadline(time.Now().Add(opts.StartTimeout))
	buf := make([]byte, 4096)
	for {
		n, err := notify.Read(buf)
		if err != nil {
			t.Fatalf("rsyslogd did not say READY=1 within %v: %v (%s)", opts.StartTimeout, err, p.exitStatus())
		}
		if strings.Contains("\n"+string(buf[:n])+"\n", "\nREADY=1\n") {
			return r
		}
	}
}

// Next returns the next message rsyslog wrote, waiting until ctx ends.
func (r *Rsyslog) Next(ctx context.Context) (RsyslogMessage, error) {
	if d, ok := ctx.Deadline(); ok {
		r.pipe.SetReadDeadline(d)
	}
	line, err := r.out.ReadString('\n')
	if err != nil {
		return RsyslogMessage{}, fmt.Errorf("rsyslog's output: %w", err)
	}
	var m RsyslogMessage
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		return RsyslogMessage{}, fmt.Errorf("rsyslog wrote %q: %w", line, err)
	}
	if m.SDText != "" {
		if err := json.Unmarshal([]byte(m.SDText), &m.SD); err != nil {
			return RsyslogMessage{}, fmt.Errorf("rsyslog's structured data %q: %w", m.SDText, err)
		}
	}
	m.Line = line
	return m, nil
}
