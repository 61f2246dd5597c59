package oslog

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/oslog/oslogtest"
	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

func receive(t *testing.T, j *oslogtest.Journal) oslogtest.Datagram {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	d, err := j.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestWriteJournald: where journald listens, the entry goes there, as the
// datagram's payload.
func TestWriteJournald(t *testing.T) {
	dir := testtmp.Dir(t)
	j := oslogtest.ListenJournal(t, filepath.Join(dir, "journal.sock"))
	where, err := Write(t.Context(), Options{JournalSocket: j.Path, SyslogSocket: filepath.Join(dir, "none")}, sampleEntry())
	if err != nil || where != Journald {
		t.Fatalf("Write = %q, %v; want journald", where, err)
	}
	d := receive(t, j)
	if d.Memfd {
		t.Error("a small entry came in a memfd")
	}
	if v, _ := d.Entry.Get("TRUSTLAUNCH_DECISION"); v != "refused-user" {
		t.Errorf("entry %q", d.Entry)
	}
}

// TestWriteJournaldMemfd: an entry too big for one datagram goes in a
// sealed memfd, the datagram's only content.
func TestWriteJournaldMemfd(t *testing.T) {
	dir := testtmp.Dir(t)
	j := oslogtest.ListenJournal(t, filepath.Join(dir, "journal.sock"))
	e := sampleEntry()
	big := strings.Repeat("0123456789", 100_000) // 1 MB: over the socket's send buffer
	e.Fields = append(e.Fields, Field{"big", big})
	where, err := Write(t.Context(), Options{JournalSocket: j.Path}, e)
	if err != nil || where != Journald {
		t.Fatalf("Write = %q, %v; want journald", where, err)
	}
	d := receive(t, j)
	if !d.Memfd {
		t.Error("a 1 MB entry came as the datagram's payload")
	}
	if v, _ := d.Entry.Get("TRUSTLAUNCH_BIG"); v != big {
		t.Errorf("TRUSTLAUNCH_BIG has %d bytes, want %d", len(v), len(big))
	}
}

// TestWriteSyslog: without journald, the entry goes to the syslog socket
// as one RFC 5424 datagram; a socket file nobody listens on counts as no
// journald.
func TestWriteSyslog(t *testing.T) {
	dir := testtmp.Dir(t)
	stale := filepath.Join(dir, "journal.sock")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: stale, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	ln.Close() // the file stays: a journald that is gone
	sys, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "log"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	where, err := Write(t.Context(), Options{JournalSocket: stale, SyslogSocket: sys.LocalAddr().String()}, sampleEntry())
	if err != nil || where != Syslog {
		t.Fatalf("Write = %q, %v; want syslog", where, err)
	}
	sys.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64<<10)
	n, err := sys.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(buf[:n]); !strings.HasPrefix(got, "<12>1 2026-12-07T10:11:12.345678Z ") || !strings.Contains(got, " trustlaunch ") || !strings.Contains(got, `[trustlaunch@32473 schema="1"`) {
		t.Errorf("syslog got %q", got)
	}
}

// TestWriteSyslogStream: a syslog daemon whose /dev/log is a stream
// socket (syslog-ng can be set up so) gets the message and a newline.
func TestWriteSyslogStream(t *testing.T) {
	dir := testtmp.Dir(t)
	ln, err := net.Listen("unix", filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		b := make([]byte, 64<<10)
		n, _ := c.Read(b)
		got <- string(b[:n])
	}()
	where, err := Write(t.Context(), Options{JournalSocket: filepath.Join(dir, "none"), SyslogSocket: ln.Addr().String()}, sampleEntry())
	if err != nil || where != Syslog {
		t.Fatalf("Write = %q, %v; want syslog", where, err)
	}
	if s := <-got; !strings.HasPrefix(s, "<12>1 ") || !strings.HasSuffix(s, "https://portal.example.com\n") {
		t.Errorf("stream got %q", s)
	}
}

// TestWriteNoLog: with neither socket, Write says there is no log.
func TestWriteNoLog(t *testing.T) {
	dir := testtmp.Dir(t)
	_, err := Write(t.Context(), Options{JournalSocket: filepath.Join(dir, "a"), SyslogSocket: filepath.Join(dir, "b")}, sampleEntry())
	if !errors.Is(err, ErrNoLog) {
		t.Errorf("Write = %v, want ErrNoLog", err)
	}
}

// TestWriteJournaldBlocked: a journald that reads nothing makes Write
// give up at its timeout rather than hold the launch.
func TestWriteJournaldBlocked(t *testing.T) {
	dir := testtmp.Dir(t)
	j := oslogtest.ListenJournal(t, filepath.Join(dir, "journal.sock"))
	opts := Options{JournalSocket: j.Path, Timeout: 200 * time.Millisecond}
	e := sampleEntry()
	e.Fields = append(e.Fields, Field{"pad", strings.Repeat("x", 32<<10)})
	start := time.Now()
	var err error
	for i := 0; i < 1000 && err == nil; i++ { // until the receiver's queue is full
		_, err = Write(t.Context(), opts, e)
	}
	if err == nil || time.Since(start) > 30*time.Second {
		t.Fatalf("Write never failed on a journald that reads nothing (%v)", time.Since(start))
	}
	if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "timeout") {
		t.Errorf("Write = %v, want a timeout", err)
	}
}
