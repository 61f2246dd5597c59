package connector

import (
	"net"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/connector/proxytest"
)

// TestDialTimes: Times tells each step of a Dial apart. The proxy takes
// 60 ms to check the token, which is part of the request's answer, not of
// TCP or TLS.
func TestDialTimes(t *testing.T) {
	const slow = 60 * time.Millisecond
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			dest := newDestination(t, echo)
			p := newProxy(t, tr, dest.addr, func(p *proxytest.Proxy) {
				p.CheckToken = func(string) bool { time.Sleep(slow); return true } // a slow token check, not a wait for something
			})
			c := mustNew(t, config(p, tr, dest.addr))
			start := time.Now()
			conn, err := c.Dial(t.Context())
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			times, ok := Times(conn)
			if !ok {
				t.Fatal("Times: not a tunnel of Dial")
			}
			if times.Request < slow || times.TCP <= 0 || times.TLS <= 0 || times.EndToEnd != 0 {
				t.Errorf("times %+v; want the %v token check in Request alone, no end-to-end TLS", times, slow)
			}
			if sum := times.TCP + times.TLS + times.Request; sum > took {
				t.Errorf("steps add up to %v, more than the %v Dial took", sum, took)
			}
			if _, ok := Times(&net.TCPConn{}); ok {
				t.Error("Times of a connection Dial did not return: ok")
			}
		})
	}
}
