package connector

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/trustlaunch/trustlaunch/connector/proxytest"
)

// countingConn counts the writes that reach the socket.
type countingConn struct {
	net.Conn
	writes atomic.Int64
	fail   atomic.Bool
}

func (c *countingConn) Write(p []byte) (int, error) {
	if c.fail.Load() {
		return 0, errors.New("write failed")
	}
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// tlsOverCounter returns a TLS client over a counting TCP connection, its
// coalescingConn, and the server side, handshaken.
func tlsOverCounter(t *testing.T, version uint16) (*tls.Conn, *coalescingConn, *countingConn, *tls.Conn) {
	t.Helper()
	ca := proxytest.NewCA("coalesce test CA")
	client, server := tcpPair(t)
	counter := &countingConn{Conn: client}
	cc := &coalescingConn{Conn: counter}
	tc := tls.Client(cc, &tls.Config{ServerName: "proxy.test", RootCAs: ca.Pool(), MinVersion: version, MaxVersion: version})
	ts := tls.Server(server, &tls.Config{Certificates: []tls.Certificate{ca.Issue("proxy.test")}})
	errc := make(chan error, 1)
	go func() { errc <- ts.Handshake() }()
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return tc, cc, counter, ts
}

// TestCoalescingGathersRecords writes 4 MiB in 1 MiB writes: the records
// must reach the socket in at most one write per coalesceCap bytes (not one
// per 16 KiB record), and the server must read exactly the bytes sent.
func TestCoalescingGathersRecords(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			tc, cc, counter, ts := tlsOverCounter(t, v)
			const total, chunk = 4 << 20, 1 << 20
			data, _ := io.ReadAll(io.LimitReader(newPattern(7), total))
			got := make(chan [32]byte, 1)
			go func() {
				h := sha256.New()
				io.CopyN(h, ts, total)
				got <- [32]byte(h.Sum(nil))
			}()
			before := counter.writes.Load()
			for off := 0; off < total; off += chunk {
				n, err := cc.writeRecords(tc, data[off:off+chunk])
				if n != chunk || err != nil {
					t.Fatalf("writeRecords = %d, %v", n, err)
				}
			}
			if sum := <-got; sum != sha256.Sum256(data) {
				t.Fatal("the server read other bytes than were written")
			}
			writes := counter.writes.Load() - before
			records := int64(total / maxRecordPayload)
			// Dynamic record sizing makes the first records ~1 KiB: allow
			// for them, but not for one write per record.
			if limit := int64(total/(coalesceCap-4*64)) + 16; writes > limit {
				t.Errorf("%d socket writes for %d records, want at most %d", writes, records, limit)
			}
			t.Logf("%d socket writes for %d MiB (%d full records)", writes, total>>20, records)

			// A write of one record is passed straight through.
			before = counter.writes.Load()
			if _, err := cc.writeRecords(tc, []byte("small")); err != nil {
				t.Fatal(err)
			}
			if w := counter.writes.Load() - before; w != 1 {
				t.Errorf("a small write made %d socket writes, want 1", w)
			}
			buf := make([]byte, 5)
			if _, err := io.ReadFull(ts, buf); err != nil || !bytes.Equal(buf, []byte("small")) {
				t.Errorf("server read %q, %v", buf, err)
			}
		})
	}
}

// TestCoalescingReportsWriteError: when the gathered records cannot be sent,
// the Write fails and says that none of it is known to have left.
func TestCoalescingReportsWriteError(t *testing.T) {
	tc, cc, counter, _ := tlsOverCounter(t, tls.VersionTLS13)
	counter.fail.Store(true)
	n, err := cc.writeRecords(tc, make([]byte, 40<<10))
	if err == nil || n != 0 {
		t.Fatalf("writeRecords = %d, %v; want 0 and the socket's error", n, err)
	}
	if cc.gathering || cc.buf != nil {
		t.Error("the failed write left the batch open")
	}
}
