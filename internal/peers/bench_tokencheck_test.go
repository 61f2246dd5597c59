//go:build linux

package peers_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/peers"
)

// BenchmarkTokenCheckConnect is what the token check adds to opening a
// tunnel through Squid, side by side in one run: three Squids from the
// same harness, "plain" without the check (NoTokenCheck), "noop" with the
// same external_acl_type lines but a helper that answers OK at once (mawk,
// unbuffered: Squid's own cost of asking a helper), and "check" with
// docs/proxy.md's lines and trustlaunch-tokencheck, taking turns so that
// a slow moment of the machine hits all three. Every CONNECT carries a token of
// its own (Squid would answer a repeated one from its cache for the rest
// of that second), the plain Squid's too, so both parse the same request.
//
// Measured per CONNECT: from writing the request on an established TLS
// connection to reading Squid's 200, which holds the lookup (TCP and TLS
// set-up are the same for both and are left out).
//
//   - serial: one CONNECT at a time; each op is one CONNECT through each
//     Squid. Metrics: p50 and p99 of each, and their differences.
//   - concurrent=100: 100 clients at once; each op is one burst of 100
//     CONNECTs through each Squid. Metrics: CONNECTs a second of each
//     (a burst's count over its wall time), and the p99 of the CONNECTs.
//
// Run (BENCHMARKS.md, "Session tokens at the proxy"):
//
//	go test -run '^$' -bench TokenCheckConnect -count 6 ./internal/peers/
func BenchmarkTokenCheckConnect(b *testing.B) {
	plain := peers.StartSquid(b, peers.SquidOptions{NoTokenCheck: true})
	noop := peers.StartSquid(b, peers.SquidOptions{NoTokenCheck: true, ExtraConfig: noopHelperConf(b)})
	checked := peers.StartSquid(b, peers.SquidOptions{})
	echo := peers.StartEcho(b)
	squids := []struct {
		name string
		sq   *peers.Squid
	}{{"plain", plain}, {"noop", noop}, {"check", checked}}

	b.Run("serial", func(b *testing.B) {
		tokens := issueTokens(b, checked, echo.Addr, b.N)
		took := map[string][]time.Duration{}
		b.ResetTimer()
		for i := range b.N {
			for _, s := range squids {
				d, err := timedConnect(b.Context(), s.sq, echo.Addr, tokens[i])
				if err != nil {
					b.Fatalf("%s: %v", s.name, err)
				}
				took[s.name] = append(took[s.name], d)
			}
		}
		b.StopTimer()
		p50p, p99p := percentiles(took["plain"])
		p50n, p99n := percentiles(took["noop"])
		p50c, p99c := percentiles(took["check"])
		b.ReportMetric(p50p, "plain-p50-us")
		b.ReportMetric(p99p, "plain-p99-us")
		b.ReportMetric(p50n, "noop-p50-us")
		b.ReportMetric(p99n, "noop-p99-us")
		b.ReportMetric(p50c, "check-p50-us")
		b.ReportMetric(p99c, "check-p99-us")
		b.ReportMetric(p50c-p50p, "added-p50-us")
		b.ReportMetric(p99c-p99p, "added-p99-us")
	})

	b.Run("concurrent=100", func(b *testing.B) {
		const clients = 100
		tokens := issueTokens(b, checked, echo.Addr, b.N*clients)
		took := map[string][]time.Duration{}
		wall := map[string]time.Duration{}
		b.ResetTimer()
		for i := range b.N {
			for _, s := range squids {
				// Connections first, then the CONNECTs at once: the burst
				// is of lookups, not of TLS handshakes.
				conns := make([]*tls.Conn, clients)
				for c := range conns {
					var err error
					if conns[c], err = dialTLS(b.Context(), s.sq); err != nil {
						b.Fatal(err)
					}
				}
				durs := make([]time.Duration, clients)
				errs := make([]error, clients)
				var wg sync.WaitGroup
				start := time.Now()
				for c, conn := range conns {
					wg.Go(func() {
						durs[c], errs[c] = connectOn(conn, echo.Addr, tokens[i*clients+c])
						conn.Close()
					})
				}
				wg.Wait()
				wall[s.name] += time.Since(start)
				for _, err := range errs {
					if err != nil {
						b.Fatalf("%s: %v", s.name, err)
					}
				}
				took[s.name] = append(took[s.name], durs...)
			}
		}
		b.StopTimer()
		for _, s := range squids {
			_, p99 := percentiles(took[s.name])
			b.ReportMetric(float64(b.N*clients)/wall[s.name].Seconds(), s.name+"-connects/s")
			b.ReportMetric(p99, s.name+"-p99-us")
		}
	})
}

// issueTokens returns n tokens for dest through sq, issued before the
// timer runs.
func issueTokens(b *testing.B, sq *peers.Squid, dest string, n int) []string {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = sq.Token(b, dest)
	}
	return tokens
}

func dialTLS(ctx context.Context, sq *peers.Squid) (*tls.Conn, error) {
	d := tls.Dialer{Config: sq.Cert.CA.ClientTLS("127.0.0.1")}
	c, err := d.DialContext(ctx, "tcp", sq.Addr)
	if err != nil {
		return nil, err
	}
	tc := c.(*tls.Conn)
	return tc, tc.HandshakeContext(ctx)
}

// timedConnect opens a TLS connection to sq and times a CONNECT on it.
func timedConnect(ctx context.Context, sq *peers.Squid, dest, token string) (time.Duration, error) {
	conn, err := dialTLS(ctx, sq)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	return connectOn(conn, dest, token)
}

// connectOn sends CONNECT dest with token on conn and returns the time to
// Squid's 200.
func connectOn(conn *tls.Conn, dest, token string) (time.Duration, error) {
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	req := "CONNECT " + dest + " HTTP/1.1\r\nHost: " + dest + "\r\nProxy-Authorization: Bearer " + token + "\r\n\r\n"
	start := time.Now()
	if _, err := conn.Write([]byte(req)); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	took := time.Since(start)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("CONNECT: %s", resp.Status)
	}
	return took, nil
}

// percentiles returns the p50 and p99 of ds in microseconds.
func percentiles(ds []time.Duration) (p50, p99 float64) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) float64 { return float64(s[int(q*float64(len(s)-1))].Nanoseconds()) / 1e3 }
	return at(0.50), at(0.99)
}

// noopHelperConf is squid.conf lines for an external ACL whose helper
// answers every lookup OK without looking at it, sized and placed as the
// token check is.
func noopHelperConf(b *testing.B) []string {
	b.Helper()
	dir := b.TempDir()
	script := filepath.Join(dir, "noop-helper")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexec awk -W interactive '{ print $1 \" OK\" }'\n"), 0o755); err != nil {
		b.Fatal(err)
	}
	// Squid runs its helpers as "proxy" when the tests run as root.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	return []string{
		"external_acl_type noop ttl=0 negative_ttl=0 " + peers.DocumentedHelperOptions + " %>ha{Proxy-Authorization} %SRC %DST %PORT " + script,
		"acl noop external noop",
		"http_access deny CONNECT !noop",
	}
}
