package audit

import (
	"context"
	"encoding/base64"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/internal/oslog"
	"github.com/trustlaunch/trustlaunch/internal/oslog/oslogtest"
	"github.com/trustlaunch/trustlaunch/internal/redact"
	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// osLogFixture is an audit log whose OS log is a journald receiver, or,
// with journald absent, a syslog socket.
type osLogFixture struct {
	log     *Log
	journal *oslogtest.Journal
	syslog  *net.UnixConn
}

func newOSLogFixture(t *testing.T, level oslog.Level, journald bool) *osLogFixture {
	dir := testtmp.Dir(t)
	f := &osLogFixture{}
	target := oslog.Options{JournalSocket: filepath.Join(dir, "journal.sock"), SyslogSocket: filepath.Join(dir, "log")}
	if journald {
		f.journal = oslogtest.ListenJournal(t, target.JournalSocket)
	} else {
		c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: target.SyslogSocket, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		f.syslog = c
	}
	l, err := New(Options{Path: filepath.Join(dir, "audit.log"), OSLog: level, OSLogOptions: target})
	if err != nil {
		t.Fatal(err)
	}
	f.log = l
	return f
}

// next returns the next entry's bytes as the OS's log received them.
func (f *osLogFixture) next(t *testing.T) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if f.journal != nil {
		d, err := f.journal.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return d.Raw
	}
	f.syslog.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 1<<20)
	n, err := f.syslog.Read(b)
	if err != nil {
		t.Fatal(err)
	}
	return b[:n]
}

// TestOSLogLevel: a launch's record goes to the OS's log when its severity
// is within the level, and the audit line says where it went or why not;
// a detection's record stays in the audit log.
func TestOSLogLevel(t *testing.T) {
	for _, tt := range []struct {
		level  oslog.Level
		o      Outcome
		action string
		want   string
	}{
		{oslog.LevelInfo, Launched, ActionLaunch, oslog.Journald},
		{oslog.LevelWarning, Launched, ActionLaunch, "below level warning"},
		{oslog.LevelWarning, RefusedUser, ActionLaunch, oslog.Journald},
		{oslog.LevelError, RefusedPolicy, ActionLaunch, "below level error"},
		{oslog.LevelError, Failed, ActionLaunch, oslog.Journald},
		{oslog.LevelOff, Failed, ActionLaunch, "off"},
		{oslog.LevelInfo, Detected, ActionDetect, ""},
	} {
		t.Run(tt.level.String()+" "+string(tt.o), func(t *testing.T) {
			f := newOSLogFixture(t, tt.level, true)
			if err := f.log.Append(t.Context(), Record{Action: tt.action, Decision: tt.o, Step: "x"}); err != nil {
				t.Fatal(err)
			}
			recs, err := f.log.ReadRecent(1)
			if err != nil || len(recs) != 1 || recs[0].OSLog != tt.want {
				t.Fatalf("records %+v %v; want os_log %q", recs, err, tt.want)
			}
			if tt.want == oslog.Journald {
				if raw := f.next(t); !strings.Contains(string(raw), "TRUSTLAUNCH_DECISION="+string(tt.o)+"\n") {
					t.Errorf("journald got %q", raw)
				}
			}
		})
	}
	t.Run("no log", func(t *testing.T) {
		dir := testtmp.Dir(t)
		l, err := New(Options{Path: filepath.Join(dir, "audit.log"), OSLogOptions: oslog.Options{JournalSocket: filepath.Join(dir, "j"), SyslogSocket: filepath.Join(dir, "s")}})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Append(t.Context(), Record{Action: ActionLaunch, Decision: Failed}); err != nil {
			t.Fatal(err)
		}
		if recs, _ := l.ReadRecent(1); len(recs) != 1 || recs[0].OSLog != "none" {
			t.Errorf("records %+v; want os_log none", recs)
		}
	})
}

// TestOSLogWithoutSecrets: the token, the outbound proxy's password and
// the ticket, planted in every text field of a launch's record in several
// spellings, reach neither journald nor syslog in any spelling.
func TestOSLogWithoutSecrets(t *testing.T) {
	const pass, token, ticket = "Corp-Pr0xy/Pa55w0rd!Spring", "tl-oslog-token-3c9e71a0f5d2", "tkt-oslog-secret-0c4f77a1"
	secrets := &redact.Set{}
	connector.NewToken(token).AddTo(secrets)
	secrets.Add(pass)
	planted := strings.ToUpper(token) + " " + base64.RawURLEncoding.EncodeToString([]byte("x:"+pass)) + " " + ticket + " " + strings.ToLower(token)
	rec, fields := plantedRecord(t, planted)
	rec.Action, rec.Decision, rec.DescriptorURL = ActionLaunch, Failed, "https://portal.example.com/d/1?ticket="+ticket
	fields -= 2
	for _, journald := range []bool{true, false} {
		name := "syslog"
		if journald {
			name = "journald"
		}
		t.Run(name, func(t *testing.T) {
			f := newOSLogFixture(t, oslog.LevelInfo, journald)
			if err := f.log.Append(t.Context(), rec.Scrubbed(secrets)); err != nil {
				t.Fatal(err)
			}
			raw := string(f.next(t))
			for _, s := range []string{token, pass, ticket} {
				checkNoSpelling(t, name, raw, s)
			}
			if n := strings.Count(raw, "[redacted]"); n < 2*fields {
				t.Errorf("%s got %d [redacted], want the secrets of each of the %d fields scrubbed: %q", name, n, fields, raw)
			}
		})
	}
}
