//go:build linux

package peers

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"io"
	"net"
	"sync"
	"testing"
)

// Destination is a TCP server on 127.0.0.1 standing for the host behind the
// proxy. It runs in the test process; each accepted connection's outcome is
// reported through Next.
type Destination struct {
	Addr string // "127.0.0.1:PORT"

	ln      net.Listener
	handle  func(net.Conn) Result
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	results []Result
	notify  chan struct{} // closed and replaced when a result arrives
	closed  bool
}

// Result is what a destination saw on one connection.
type Result struct {
	Received int64    // bytes read before EOF
	SHA256   [32]byte // of the bytes read
	Sent     int64    // bytes written
	Err      error    // the first read or write error other than EOF
}

// SinkOptions configures StartSink.
type SinkOptions struct {
	// Send is how many bytes of Pattern(Seed) each connection sends while
	// it reads; zero makes a pure sink.
	Send int64
	Seed uint64
	// CloseWrite half-closes the connection once Send bytes are out. Leave
	// it off behind Squid: Squid's tunnel does not carry a half-close, it
	// tears the whole tunnel down and drops what is still in flight
	// towards the destination.
	CloseWrite bool
	// NoHash only counts the bytes read, for benchmarks, where hashing
	// would take CPU time from the tunnel being measured.
	NoHash bool
}

// StartSink starts a destination that reads each connection to EOF, hashing
// what it reads, while it sends opts.Send bytes of Pattern(opts.Seed). It is
// the sink, the source and the two-way peer of the bulk tests: the result
// carries the SHA-256 to compare with the sender's.
func StartSink(t testing.TB, opts SinkOptions) *Destination {
	t.Helper()
	return startDestination(t, func(c net.Conn) Result {
		var res Result
		var wg sync.WaitGroup
		if opts.Send > 0 {
			wg.Go(func() {
				n, err := io.Copy(c, Pattern(opts.Seed, opts.Send))
				res.Sent = n
				if err != nil {
					res.Err = err
					return
				}
				if opts.CloseWrite {
					if cw, ok := c.(interface{ CloseWrite() error }); ok {
						cw.CloseWrite()
					}
				}
			})
		}
		var h hash.Hash = discardHash{}
		if !opts.NoHash {
			h = sha256.New()
		}
		n, err := io.Copy(h, c)
		wg.Wait()
		res.Received = n
		if !opts.NoHash {
			h.Sum(res.SHA256[:0])
		}
		if err != nil && res.Err == nil {
			res.Err = err
		}
		return res
	})
}

// StartEcho starts a destination that writes back everything it reads and
// half-closes when it reads EOF. Its results count the echoed bytes.
func StartEcho(t testing.TB) *Destination {
	t.Helper()
	return startDestination(t, func(c net.Conn) Result {
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(c, h), c)
		res := Result{Received: n, Sent: n, Err: err}
		h.Sum(res.SHA256[:0])
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		return res
	})
}

// StartBanner starts a server-first destination: it writes banner as soon as
// a connection arrives, then behaves like StartEcho. A tunnel must deliver
// bytes that arrive before the client sends anything.
func StartBanner(t testing.TB, banner []byte) *Destination {
	t.Helper()
	return startDestination(t, func(c net.Conn) Result {
		if _, err := c.Write(banner); err != nil {
			return Result{Err: err}
		}
		n, err := io.Copy(c, c)
		return Result{Received: n, Sent: int64(len(banner)) + n, Err: err}
	})
}

func startDestination(t testing.TB, handle func(net.Conn) Result) *Destination {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("destination: listen: %v", err)
	}
	d := &Destination{
		Addr:   ln.Addr().String(),
		ln:     ln,
		handle: handle,
		conns:  make(map[net.Conn]struct{}),
		notify: make(chan struct{}),
	}
	d.wg.Go(d.serve)
	t.Cleanup(d.Close)
	return d
}

func (d *Destination) serve() {
	for {
		c, err := d.ln.Accept()
		if err != nil {
			return
		}
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			c.Close()
			return
		}
		d.conns[c] = struct{}{}
		d.mu.Unlock()
		d.wg.Go(func() {
			res := d.handle(c)
			if errors.Is(res.Err, net.ErrClosed) {
				res.Err = nil // torn down by Close, not a peer's failure
			}
			c.Close()
			d.mu.Lock()
			delete(d.conns, c)
			d.results = append(d.results, res)
			close(d.notify)
			d.notify = make(chan struct{})
			d.mu.Unlock()
		})
	}
}

// Next returns the result of the next connection to finish, in order of
// finishing, waiting until one does or ctx ends.
func (d *Destination) Next(ctx context.Context) (Result, error) {
	for {
		d.mu.Lock()
		if len(d.results) > 0 {
			res := d.results[0]
			d.results = d.results[1:]
			d.mu.Unlock()
			return res, nil
		}
		notify := d.notify
		d.mu.Unlock()
		select {
		case <-notify:
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}
}

// Active returns the number of connections currently open.
func (d *Destination) Active() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.conns)
}

// Close stops accepting, closes every open connection and waits for the
// handlers. It runs at cleanup and is idempotent.
func (d *Destination) Close() {
	d.mu.Lock()
	d.closed = true
	for c := range d.conns {
		c.Close()
	}
	d.mu.Unlock()
	d.ln.Close()
	d.wg.Wait()
}

// Pattern returns a reader of n deterministic pseudo-random bytes for seed
// (AES-128-CTR keystream: fast everywhere, not periodic, so a lost, doubled
// or reordered block changes the hash).
func Pattern(seed uint64, n int64) io.Reader {
	var key [16]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err)
	}
	var iv [aes.BlockSize]byte
	return io.LimitReader(keystream{cipher.NewCTR(block, iv[:])}, n)
}

type keystream struct{ s cipher.Stream }

func (k keystream) Read(p []byte) (int, error) {
	clear(p)
	k.s.XORKeyStream(p, p)
	return len(p), nil
}

// PatternSum returns the SHA-256 of Pattern(seed, n).
func PatternSum(seed uint64, n int64) [32]byte {
	h := sha256.New()
	io.Copy(h, Pattern(seed, n))
	return [32]byte(h.Sum(nil))
}

// HashingWriter wraps w so that everything written is also hashed.
func HashingWriter(w io.Writer) (io.Writer, hash.Hash) {
	h := sha256.New()
	return io.MultiWriter(w, h), h
}

// discardHash is the hash.Hash of SinkOptions.NoHash: it only discards.
type discardHash struct{}

func (discardHash) Write(p []byte) (int, error) { return len(p), nil }
func (discardHash) Sum(b []byte) []byte         { return b }
func (discardHash) Reset()                      {}
func (discardHash) Size() int                   { return 0 }
func (discardHash) BlockSize() int              { return 1 }
