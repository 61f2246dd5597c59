package relay

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection, closed when
// the test ends.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	acc := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		acc <- res{c, err}
	}()
	d, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-acc
	if r.err != nil {
		d.Close()
		t.Fatal(r.err)
	}
	t.Cleanup(func() { d.Close(); r.c.Close() })
	return d.(*net.TCPConn), r.c.(*net.TCPConn)
}

func TestRawIOWrapsOnlyTCP(t *testing.T) {
	a, _ := tcpPair(t)
	if _, ok := RawIO(a).(*rawTCP); !ok {
		t.Errorf("RawIO(*net.TCPConn) = %T, want *rawTCP", RawIO(a))
	}
	p, q := net.Pipe()
	defer p.Close()
	defer q.Close()
	if got := RawIO(p); got != p {
		t.Errorf("RawIO(net.Pipe end) = %T, want the connection itself", got)
	}
}

// TestRawIOStream sends 16 MiB each way at once through the raw ends with
// the readers slowed down, so that writes meet a full socket buffer
// (EAGAIN, partial writes) and reads an empty one, and checks every byte.
func TestRawIOStream(t *testing.T) {
	a, b := tcpPair(t)
	ra, rb := RawIO(a), RawIO(b)
	deadline := time.Now().Add(time.Minute)
	ra.SetDeadline(deadline)
	rb.SetDeadline(deadline)
	const size = 16 << 20
	dataA, dataB := make([]byte, size), make([]byte, size)
	rand.Read(dataA)
	rand.Read(dataB)
	errs := make(chan error, 4)
	send := func(c net.Conn, data []byte) {
		n, err := c.Write(data)
		if err == nil && n != len(data) {
			err = io.ErrShortWrite
		}
		errs <- err
	}
	got := make([][]byte, 2)
	recv := func(i int, c net.Conn) {
		var buf bytes.Buffer
		p := make([]byte, 3000) // small reads: many of them find the socket empty
		for buf.Len() < size {
			n, err := c.Read(p)
			buf.Write(p[:n])
			if err != nil {
				errs <- err
				return
			}
		}
		got[i] = buf.Bytes()
		errs <- nil
	}
	go send(ra, dataA)
	go send(rb, dataB)
	go recv(0, rb)
	go recv(1, ra)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got[0], dataA) || !bytes.Equal(got[1], dataB) {
		t.Fatal("the bytes read differ from the bytes written")
	}
}

func TestRawIOEOF(t *testing.T) {
	a, b := tcpPair(t)
	rb := RawIO(b)
	if _, err := a.Write([]byte("last")); err != nil {
		t.Fatal(err)
	}
	if err := a.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	rb.SetDeadline(time.Now().Add(time.Minute))
	data, err := io.ReadAll(rb)
	if err != nil || string(data) != "last" {
		t.Fatalf("ReadAll = %q, %v; want \"last\", nil (EOF after the peer's FIN)", data, err)
	}
	if n, err := rb.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("Read after EOF = %d, %v; want 0, EOF", n, err)
	}
	// CloseWrite is the TCP connection's: the peer reads EOF.
	cw, ok := rb.(closeWriter)
	if !ok {
		t.Fatalf("%T has no CloseWrite", rb)
	}
	if err := cw.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	a.SetDeadline(time.Now().Add(time.Minute))
	if n, err := a.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("peer Read after CloseWrite = %d, %v; want 0, EOF", n, err)
	}
}

// TestRawIODeadline: a past deadline ends a pending Read and Write at once
// with a timeout that crypto/tls treats as temporary (it keeps the
// connection usable, which Relay's teardown does not need but a caller
// with a deadline may).
func TestRawIODeadline(t *testing.T) {
	a, _ := tcpPair(t)
	ra := RawIO(a)
	done := make(chan error, 1)
	go func() {
		_, err := ra.Read(make([]byte, 10))
		done <- err
	}()
	// The Read is pending (the peer sends nothing) or about to be: a past
	// deadline ends it either way.
	ra.SetReadDeadline(time.Unix(1, 0))
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Read still blocked 10 s after a past deadline")
	}
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() || !ne.Temporary() { //nolint:staticcheck // crypto/tls tests Temporary
		t.Fatalf("Read error = %v; want a temporary timeout (os.ErrDeadlineExceeded)", err)
	}
	var oe *net.OpError
	if errors.As(err, &oe) && errors.As(oe.Err, new(*net.OpError)) {
		t.Errorf("Read error %q nests one OpError in another", err)
	}
	// A Write into a full socket buffer (the peer reads nothing) ends too.
	ra.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	n, err := ra.Write(make([]byte, 64<<20))
	if !errors.Is(err, os.ErrDeadlineExceeded) || n == 0 || n == 64<<20 {
		t.Fatalf("Write into a full buffer = %d, %v; want a partial count and os.ErrDeadlineExceeded", n, err)
	}
}

func TestRawIOClosed(t *testing.T) {
	a, _ := tcpPair(t)
	ra := RawIO(a)
	ra.Close()
	if _, err := ra.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close: %v, want net.ErrClosed", err)
	}
	if _, err := ra.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close: %v, want net.ErrClosed", err)
	}
}

// TestRelayRawTCP relays 8 MiB each way between two TCP pairs, the path
// on which Relay uses RawIO, and checks the counts, the half-close and the
// bytes.
func TestRelayRawTCP(t *testing.T) {
	client, a := tcpPair(t)
	b, server := tcpPair(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	type counts struct {
		ab, ba int64
		err    error
	}
	res := make(chan counts, 1)
	go func() {
		ab, ba, err := Relay(ctx, a, b)
		res <- counts{ab, ba, err}
	}()
	client.SetDeadline(time.Now().Add(time.Minute))
	server.SetDeadline(time.Now().Add(time.Minute))
	const size = 8 << 20
	up, down := make([]byte, size), make([]byte, size)
	rand.Read(up)
	rand.Read(down)
	errs := make(chan error, 2)
	go func() { // the server answers after the client's EOF, then closes
		got, err := io.ReadAll(server)
		if err == nil && !bytes.Equal(got, up) {
			err = errors.New("server: the bytes read differ from the bytes written")
		}
		if err == nil {
			_, err = server.Write(down)
		}
		server.CloseWrite()
		errs <- err
	}()
	go func() {
		_, err := client.Write(up)
		client.CloseWrite()
		if err == nil {
			var got []byte
			got, err = io.ReadAll(client)
			if err == nil && !bytes.Equal(got, down) {
				err = errors.New("client: the bytes read differ from the bytes written")
			}
		}
		errs <- err
	}()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	r := <-res
	if r.err != nil || r.ab != size || r.ba != size {
		t.Fatalf("Relay = %d, %d, %v; want %d, %d, nil", r.ab, r.ba, r.err, size, size)
	}
}

// TestRawIODoesNotAllocate: a Read and a Write that find the socket ready
// allocate nothing (a bulk tunnel makes ~65,000 of each per GiB).
func TestRawIODoesNotAllocate(t *testing.T) {
	a, b := tcpPair(t)
	ra, rb := RawIO(a), RawIO(b)
	out, in := make([]byte, 1024), make([]byte, 1024)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := ra.Write(out); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(rb, in); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("a Write and a Read allocate %v times, want 0", allocs)
	}
}
