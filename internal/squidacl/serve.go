package squidacl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
)

// MaxLineBytes bounds a request line: a token of sessiontoken.MaxBytes
// (16 KiB) URL-escaped, and the rest. A longer line is answered ERR
// without being read into memory.
const MaxLineBytes = 64 << 10

// ServeConfig configures Serve.
type ServeConfig struct {
	// Check answers a request; it is called from several goroutines.
	Check func(context.Context, Request) Result
	// Broken answers a line that did not parse (a *ProtocolError).
	Broken func(error) Result
	// Workers is how many requests with channel IDs are checked at once;
	// runtime.GOMAXPROCS(0) when 0.
	Workers int
}

// Serve reads requests from in and writes the answers to out until in
// ends (Squid closes the helper's stdin to stop it). A failed write, or
// ctx done, ends it at the next line it reads.
//
// Requests with a channel ID are checked by Workers goroutines and
// answered as each is ready: Squid matches the answers by channel, so a
// slow check does not hold up the others. A request without one is
// answered in order, after every earlier answer (concurrency=0, where
// Squid matches answers by order).
func Serve(ctx context.Context, in io.Reader, out io.Writer, c ServeConfig) error {
	workers := c.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	jobs := make(chan Request, workers)
	answers := make(chan []byte, 4*workers)
	var inflight sync.WaitGroup // checks of channel requests not yet answered
	var workersDone sync.WaitGroup
	for range workers {
		workersDone.Go(func() {
			for req := range jobs {
				res := c.Check(ctx, req)
				select {
				case answers <- res.AppendLine(nil, req.Channel):
				case <-ctx.Done():
				}
				inflight.Done()
			}
		})
	}

	writeErr := make(chan error, 1)
	go func() {
		w := bufio.NewWriterSize(out, 64<<10)
		var err error
		for a := range answers {
			if err != nil {
				continue // drain, so that no worker blocks
			}
			if _, err = w.Write(a); err == nil && len(answers) == 0 {
				// Flush once nothing else is ready: Squid waits for each
				// answer, while a burst is answered in one write.
				err = w.Flush()
			}
			if err != nil {
				cancel()
			}
		}
		if err == nil {
			err = w.Flush()
		}
		writeErr <- err
	}()

	readErr := func() error {
		r := bufio.NewReaderSize(in, MaxLineBytes)
		for {
			line, err := r.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				// A line longer than any token: answer it without reading
				// it whole. Only its channel ID is kept.
				channel := channelOf(string(line[:min(len(line), maxChannelDigits+1)]))
				for errors.Is(err, bufio.ErrBufferFull) {
					_, err = r.ReadSlice('\n')
				}
				res := Result{Code: Denied, Message: fmt.Sprintf("oversized: the request is longer than %d KiB", MaxLineBytes>>10)}
				if !send(ctx, answers, &inflight, res.AppendLine(nil, channel), channel != "") {
					return ctx.Err()
				}
				if err != nil {
					return ignoreEOF(err)
				}
				continue
			}
			if len(line) == 0 && err != nil {
				return ignoreEOF(err)
			}
			s := string(trimEOL(line))
			req, perr := ParseRequest(s)
			var a []byte
			switch {
			case perr != nil:
				var pe *ProtocolError
				errors.As(perr, &pe)
				a = c.Broken(perr).AppendLine(nil, pe.Channel)
				if !send(ctx, answers, &inflight, a, pe.Channel != "") {
					return ctx.Err()
				}
			case req.Channel != "":
				inflight.Add(1)
				select {
				case jobs <- req:
				case <-ctx.Done():
					inflight.Done()
					return ctx.Err()
				}
			default:
				// In order: after every answer already under way.
				inflight.Wait()
				if !send(ctx, answers, &inflight, c.Check(ctx, req).AppendLine(nil, ""), false) {
					return ctx.Err()
				}
			}
			if err != nil {
				return ignoreEOF(err)
			}
		}
	}()
	close(jobs)
	workersDone.Wait()
	close(answers)
	werr := <-writeErr
	if readErr == nil && ctx.Err() != nil && werr == nil {
		readErr = ctx.Err()
	}
	return errors.Join(readErr, werr)
}

// send queues an answer. An answer out of order (unordered: it has a
// channel ID) goes at once; one in order waits for the answers under way.
func send(ctx context.Context, answers chan<- []byte, inflight *sync.WaitGroup, a []byte, unordered bool) bool {
	if !unordered {
		inflight.Wait()
	}
	select {
	case answers <- a:
		return true
	case <-ctx.Done():
		return false
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

func ignoreEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}
