package squidacl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/trustlaunch/trustlaunch/sessiontoken"
)

// MaxLineBytes bounds a request line: a token of sessiontoken.MaxBytes
// (16 KiB) URL-escaped, and the rest. A longer line is refused (ERR, and
// Refuse's log line) without being read into memory.
const MaxLineBytes = 64 << 10

// ServeConfig configures Serve.
type ServeConfig struct {
	// Check answers a request; it is called from several goroutines.
	Check func(context.Context, Request) Result
	// Broken answers a line that did not parse (a *ProtocolError).
	Broken func(error) Result
	// Refuse answers a line longer than MaxLineBytes, a request of which
	// only the channel ID was read, refused as sessiontoken.Oversized.
	Refuse func(Request, *sessiontoken.Refusal) Result
	// Workers is how many requests with channel IDs are checked at once;
	// runtime.GOMAXPROCS(0) when 0.
	Workers int
}

// Serve reads requests from in and writes the answers to out until in
// ends (Squid closes the helper's stdin to stop it). A failed write, or
// ctx done, ends it at the next line it reads.
//
// Each of Workers goroutines reads a line (one at a time), checks it and
// writes its answer itself, so that a lookup costs no hand-off between
// goroutines, and requests with channel IDs are checked at once and
// answered as each is ready: Squid matches those answers by channel. A
// request without one (concurrency=0, where Squid matches answers by
// order) is answered before the next line is read, after every earlier
// answer.
func Serve(ctx context.Context, in io.Reader, out io.Writer, c ServeConfig) error {
	workers := c.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &server{cfg: c, r: bufio.NewReaderSize(in, MaxLineBytes), out: out, cancel: cancel}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { s.work(ctx) })
	}
	wg.Wait()
	if s.readErr == nil && s.writeErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.Join(s.readErr, s.writeErr)
}

type server struct {
	cfg    ServeConfig
	cancel context.CancelFunc

	readMu   sync.Mutex // one reader of r at a time
	r        *bufio.Reader
	done     bool  // r has ended; under readMu
	readErr  error // under readMu
	inflight sync.WaitGroup

	writeMu  sync.Mutex
	out      io.Writer
	writeErr error // under writeMu
}

// work reads, checks and answers lines until the input ends or ctx is
// done.
func (s *server) work(ctx context.Context) {
	for {
		s.readMu.Lock()
		if s.done || ctx.Err() != nil {
			s.readMu.Unlock()
			return
		}
		line, oversized, err := s.readLine()
		if err != nil {
			s.done = true
			if !errors.Is(err, io.EOF) {
				s.readErr = err
			}
		}
		if line == nil && !oversized {
			s.readMu.Unlock()
			return
		}
		req, perr := Request{}, error(nil)
		if oversized {
			req.Channel = channelOf(string(line))
		} else {
			req, perr = ParseRequest(string(line))
		}
		var pe *ProtocolError
		if errors.As(perr, &pe) {
			req.Channel = pe.Channel
		}
		if req.Channel == "" {
			// In order: every earlier answer first, and the next line
			// only after this one's answer.
			s.inflight.Wait()
			s.answer(s.result(ctx, req, oversized, perr), "")
			s.readMu.Unlock()
			continue
		}
		s.inflight.Add(1)
		s.readMu.Unlock()
		s.answer(s.result(ctx, req, oversized, perr), req.Channel)
		s.inflight.Done()
	}
}

func (s *server) result(ctx context.Context, req Request, oversized bool, perr error) Result {
	switch {
	case oversized:
		return s.cfg.Refuse(req, &sessiontoken.Refusal{Reason: sessiontoken.Oversized, Msg: fmt.Sprintf("the request is longer than %d KiB", MaxLineBytes>>10)})
	case perr != nil:
		return s.cfg.Broken(perr)
	}
	return s.cfg.Check(ctx, req)
}

// readLine returns the next line without its end, a copy. A line longer
// than the buffer is consumed to its end and returned cut (oversized):
// only its channel ID is read from it. line is nil at the end of the
// input.
func (s *server) readLine() (line []byte, oversized bool, err error) {
	b, err := s.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		head := append([]byte(nil), b[:min(len(b), maxChannelDigits+1)]...)
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = s.r.ReadSlice('\n')
		}
		return head, true, err
	}
	if len(b) == 0 {
		return nil, false, err
	}
	return append([]byte(nil), trimEOL(b)...), false, err
}

// answer writes one answer line in one Write. After a failed write it
// writes nothing more and ends the serving.
func (s *server) answer(r Result, channel string) {
	a := r.AppendLine(nil, channel)
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.writeErr != nil {
		return
	}
	if _, err := s.out.Write(a); err != nil {
		s.writeErr = err
		s.cancel()
	}
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}
