package main

import (
	"context"
	"io"

	"github.com/trustlaunch/trustlaunch/platform"
)

// What a command reads from files the user names (--token-file, --key,
// --ca, the FILE of policy check and whitelist check) and from standard
// input goes through the two readers below: capped, and given up when
// ctx ends.
//
// main turns SIGINT, SIGTERM and SIGHUP into the end of ctx, so that open
// can tear down its emulator, tunnel and lock; the signal itself then
// kills nothing. A read that is blocked (standard input from a pipe whose
// writer neither writes nor closes, a file on a network mount that stopped
// answering) does not see ctx, and the runtime restarts it after the
// handler: the process would stay until SIGKILL. So the read runs on its
// own goroutine, and the command returns exitInterrupted when ctx ends,
// leaving the read to end with the process.

// interruptible returns read's result, or ctx's error as soon as ctx ends
// first. read must not touch anything the caller uses after a return
// caused by ctx.
func interruptible[T any](ctx context.Context, read func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := read()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// readNamedFile reads a file the user named, at most limit bytes, with
// platform.ReadRegularFile (a named pipe or a device is refused, never
// waited on).
func readNamedFile(ctx context.Context, path string, limit int64) ([]byte, error) {
	return interruptible(ctx, func() ([]byte, error) { return platform.ReadRegularFile(path, limit) })
}

// readInput reads r, standard input, to its end, but no more than limit+1
// bytes: the caller refuses more than limit, in its own words.
func readInput(ctx context.Context, r io.Reader, limit int64) ([]byte, error) {
	return interruptible(ctx, func() ([]byte, error) { return io.ReadAll(io.LimitReader(r, limit+1)) })
}
