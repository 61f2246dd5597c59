//go:build linux

package peers

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// BareClient is the smallest correct HTTP CONNECT-over-TLS client: the
// baseline the connector is benchmarked against, and the client the harness
// tests use to check the peers themselves. It dials TCP, completes TLS with
// the given configuration, sends CONNECT with a bearer token, and returns the
// TLS connection once the proxy answered 200.
type BareClient struct {
	Proxy string      // "host:port" of the proxy's TLS port
	TLS   *tls.Config // must set RootCAs and ServerName as needed
	Token string      // sent as "Proxy-Authorization: Bearer <token>"; empty sends none
	// Source is the local IP address to connect from ("127.0.0.2": any
	// 127/8 address is loopback); "" lets the system choose.
	Source string
}

// StatusError is a non-200 answer to CONNECT.
type StatusError struct {
	StatusCode int
	Status     string
}

func (e *StatusError) Error() string { return "proxy answered " + e.Status }

// Dial opens a tunnel to dest ("host:port").
func (b *BareClient) Dial(ctx context.Context, dest string) (net.Conn, error) {
	d := tls.Dialer{Config: b.TLS}
	if b.Source != "" {
		ip := net.ParseIP(b.Source)
		if ip == nil {
			return nil, fmt.Errorf("source %q is not an IP address", b.Source)
		}
		d.NetDialer = &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}}
	}
	conn, err := d.DialContext(ctx, "tcp", b.Proxy)
	if err != nil {
		return nil, err
	}
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	req := &http.Request{
		Method: http.MethodConnect,
		URL:    &url.URL{Opaque: dest},
		Host:   dest,
		Header: http.Header{},
	}
	if b.Token != "" {
		req.Header.Set("Proxy-Authorization", "Bearer "+b.Token)
	}
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("send CONNECT: %w", err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("read CONNECT response: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		conn.Close()
		return nil, &StatusError{StatusCode: resp.StatusCode, Status: resp.Status}
	}
	conn.SetDeadline(time.Time{})
	if br.Buffered() > 0 {
		// The destination spoke first and its bytes arrived behind the
		// header: hand them out before reading the connection again.
		return &bufferedConn{Conn: conn, r: br}, nil
	}
	return conn, nil
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// CloseWrite half-closes the underlying TLS connection.
func (c *bufferedConn) CloseWrite() error { return c.Conn.(*tls.Conn).CloseWrite() }
