package connector

import (
	"net"
	"sync"
)

// maxRecordPayload is the most plaintext one TLS record carries (RFC 8446
// section 5.1): crypto/tls splits a longer Write into records of this size.
const maxRecordPayload = 16 << 10

// coalesceCap bounds one gathered write: four full records and their
// overhead (TLS 1.2 AES-GCM adds 29 bytes a record, TLS 1.3 22).
const coalesceCap = 4*maxRecordPayload + 4*64

var coalescePool = sync.Pool{New: func() any { b := make([]byte, 0, coalesceCap); return &b }}

// coalescingConn sits between the proxy's tls.Conn and its TCP connection.
// crypto/tls writes each record of a Write with its own write(2); while
// gathering, coalescingConn collects those records and sends them with one
// write(2) of up to coalesceCap bytes when flushed. For bulk traffic this
// cuts the system calls on the connector's side by four and hands the proxy
// 64 KiB segments instead of 16 KiB ones (BENCHMARKS.md, issue 4).
//
// The order of records is kept: crypto/tls serializes its writes under its
// own lock, and a record written by another goroutine while gathering (a
// TLS 1.3 KeyUpdate answer from the reading side) joins the batch in turn.
type coalescingConn struct {
	net.Conn
	mu        sync.Mutex
	gathering bool
	buf       *[]byte // from coalescePool while gathering
}

// Write sends p, or appends it to the batch while gathering.
func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.gathering {
		return c.Conn.Write(p)
	}
	b := *c.buf
	if len(b) > 0 && len(b)+len(p) > cap(b) {
		if _, err := c.Conn.Write(b); err != nil {
			*c.buf = b[:0]
			return 0, err
		}
		b = b[:0]
	}
	*c.buf = append(b, p...)
	return len(p), nil
}

// writeRecords writes p through tc, the tls.Conn over c, sending the
// records of p in as few writes to the socket as coalesceCap allows.
func (c *coalescingConn) writeRecords(tc net.Conn, p []byte) (int, error) {
	if len(p) <= maxRecordPayload {
		return tc.Write(p) // one record: nothing to gather
	}
	c.mu.Lock()
	c.gathering = true
	c.buf = coalescePool.Get().(*[]byte)
	c.mu.Unlock()

	n, err := tc.Write(p)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.gathering = false
	if b := *c.buf; len(b) > 0 {
		if _, ferr := c.Conn.Write(b); ferr != nil && err == nil {
			// tls.Conn counted the gathered bytes as written; none of
			// them is known to have left.
			n, err = 0, ferr
		}
	}
	*c.buf = (*c.buf)[:0]
	coalescePool.Put(c.buf)
	c.buf = nil
	return n, err
}
