//go:build linux

package peers

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestRsyslogParsesRFC5424: the harness's rsyslog reads section 6.5's
// third example of RFC 5424 (with structured data) from its socket and
// hands back each header field and parameter as rsyslog parsed them.
func TestRsyslogParsesRFC5424(t *testing.T) {
	r := StartRsyslog(t, RsyslogOptions{})
	c, err := net.Dial("unixgram", r.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const msg = `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry...`
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	m, err := r.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.PRI != "165" || m.Version != "1" || m.Timestamp != "2003-10-11T22:14:15.003Z" || m.Hostname != "mymachine.example.com" ||
		m.AppName != "evntslog" || m.ProcID != "-" || m.MsgID != "ID47" || m.Msg != "An application event log entry..." {
		t.Errorf("header and message: %+v", m)
	}
	sd := m.SD["exampleSDID@32473"]
	if sd["iut"] != "3" || sd["eventSource"] != "Application" || sd["eventID"] != "1011" || len(sd) != 3 {
		t.Errorf("structured data %v", m.SD)
	}
}
