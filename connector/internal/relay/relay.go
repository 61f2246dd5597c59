// Package relay copies bytes both ways between two connections with
// half-close semantics. It is shared by package connector and by the
// reference proxies of connector/proxytest, so both ends of a test tunnel
// behave alike.
package relay

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// BufSize is the copy buffer of each direction: one full TLS record of
// plaintext (RFC 8446 section 5.1), so a read from a TLS peer fills one
// write and a write to one makes one record.
const BufSize = 16 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, BufSize); return &b }}

// closeWriter is a connection that can end its sending direction only:
// *net.TCPConn and *tls.Conn (close_notify), and the connector's tunnels.
type closeWriter interface{ CloseWrite() error }

// Relay copies a to b and b to a until both directions have ended, then
// closes both and returns the byte counts.
//
// When one direction reads EOF, Relay half-closes the other end with
// CloseWrite (FIN, or TLS close_notify) and keeps the opposite direction
// running, so a peer that sends its request and then shuts its writing side
// still gets the answer. A connection without CloseWrite is closed instead.
// When either direction fails, or ctx ends, Relay sets a past deadline on
// both connections, which unblocks any pending Read or Write at once, and
// closes both: neither end is left waiting for a peer that will never
// answer. The first error is returned; the errors caused by that teardown
// are not.
func Relay(ctx context.Context, a, b net.Conn) (aToB, bToA int64, err error) {
	type result struct {
		n      int64
		err    error
		closed bool // the direction ended by closing its destination (no CloseWrite)
	}
	ab := make(chan result, 1)
	ba := make(chan result, 1)
	cp := func(dst, src net.Conn, out chan<- result) {
		n, err := copyBuf(dst, src)
		if err == nil {
			if cw, ok := dst.(closeWriter); ok {
				if cerr := cw.CloseWrite(); cerr != nil && !errors.Is(cerr, net.ErrClosed) {
					err = cerr
				}
			} else {
				out <- result{n: n, closed: true}
				return
			}
		}
		out <- result{n: n, err: err}
	}
	// The copies read and write TCP ends with raw system calls (RawIO:
	// sysmon's wake-ups were a tenth of a bulk tunnel's CPU); teardown
	// below works on a and b, whose deadlines and Close RawIO shares.
	ra, rb := RawIO(a), RawIO(b)
	go cp(rb, ra, ab)
	go cp(ra, rb, ba)

	var once sync.Once
	teardown := func() {
		once.Do(func() {
			past := time.Unix(1, 0)
			_ = a.SetDeadline(past)
			_ = b.SetDeadline(past)
			_ = a.Close()
			_ = b.Close()
		})
	}
	torn := false
	finish := func(rerr error, closed bool) {
		if rerr != nil && !torn && err == nil {
			err = rerr
		}
		if rerr != nil || closed {
			torn = true
			teardown()
		}
	}
	pending := 2
	for pending > 0 {
		select {
		case r := <-ab:
			pending--
			aToB = r.n
			finish(r.err, r.closed)
			ab = nil
		case r := <-ba:
			pending--
			bToA = r.n
			finish(r.err, r.closed)
			ba = nil
		case <-ctx.Done():
			if err == nil && !torn {
				err = ctx.Err()
			}
			torn = true
			teardown()
			ctx = context.Background() // wait for the copies to return
		}
	}
	teardown()
	return aToB, bToA, err
}

// SmallBufSize is the buffer a direction reads into while traffic is light.
// An idle tunnel sits in Read holding its buffer, so idle tunnels hold
// 2 x SmallBufSize instead of 2 x BufSize.
const SmallBufSize = 2 << 10

// copyBuf copies src to dst until EOF (returned as nil) or an error. It
// reads into a small buffer, switches to a pooled BufSize buffer when a read
// fills the small one (bulk traffic), and gives the big one back as soon as
// a read returns less than a quarter of it (the stream went quiet), before
// blocking again.
func copyBuf(dst io.Writer, src io.Reader) (int64, error) {
	small := make([]byte, SmallBufSize)
	var big *[]byte
	defer func() {
		if big != nil {
			bufPool.Put(big)
		}
	}()
	var n int64
	for {
		buf := small
		if big != nil {
			buf = *big
		}
		nr, rerr := src.Read(buf)
		if nr > 0 {
			nw, werr := dst.Write(buf[:nr])
			n += int64(nw)
			if werr != nil {
				return n, werr
			}
			if nw != nr {
				return n, io.ErrShortWrite
			}
		}
		switch {
		case big == nil && nr == len(small):
			big = bufPool.Get().(*[]byte)
		case big != nil && nr < BufSize/4:
			bufPool.Put(big)
			big = nil
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}
