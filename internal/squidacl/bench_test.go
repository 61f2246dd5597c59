package squidacl

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
)

// BenchmarkServe is the helper's throughput as Squid drives it with
// concurrency=: 100 lookups in flight at once on 100 channels, over real
// pipes (os.Pipe) into Serve, with Ed25519 tokens. Each op is one lookup
// answered; checks/s is the rate. workers=1 answers one at a time, as a
// helper without concurrency would; workers=GOMAXPROCS is the shipped
// helper. Run (BENCHMARKS.md, "Session tokens at the proxy"):
//
//	go test -run '^$' -bench Serve -count 8 ./internal/squidacl/
func BenchmarkServe(b *testing.B) {
	for _, c := range []struct{ inFlight, workers int }{{1, runtime.GOMAXPROCS(0)}, {100, 1}, {100, runtime.GOMAXPROCS(0)}} {
		inFlight, workers := c.inFlight, c.workers
		b.Run(fmt.Sprintf("inflight=%d/workers=%d", inFlight, workers), func(b *testing.B) {
			f := newFixture(b, 0)
			f.checker = NewChecker(f.checker.verifier, discard{}, "bench")
			// A pool of tokens, so that the lines differ; past the pool a
			// token is the same client reconnecting, checked in full.
			const pool = 1024
			lines := make([]string, pool)
			for i := range lines {
				lines[i] = bearer(f.token(b, "h.example:23")) + " 192.0.2.7 h.example 23 -"
			}
			inR, inW, _ := os.Pipe()
			outR, outW, _ := os.Pipe()
			served := make(chan error, 1)
			go func() {
				served <- Serve(b.Context(), inR, outW, ServeConfig{Check: f.checker.Check, Broken: f.checker.Broken, Refuse: f.checker.Refuse, Workers: workers})
				outW.Close()
			}()
			// Squid's side: at most inFlight lookups unanswered, each on a
			// free channel.
			free := make(chan int, inFlight)
			for ch := range inFlight {
				free <- ch
			}
			answered := make(chan error, 1)
			n := b.N
			b.ResetTimer()
			go func() {
				sc := bufio.NewScanner(outR)
				for i := 0; i < n; i++ {
					if !sc.Scan() {
						answered <- fmt.Errorf("answers ended after %d: %v", i, sc.Err())
						return
					}
					ch, rest, _ := strings.Cut(sc.Text(), " ")
					if !strings.HasPrefix(rest, "OK") {
						answered <- fmt.Errorf("answer %q", sc.Text())
						return
					}
					var c int
					fmt.Sscan(ch, &c)
					free <- c
				}
				answered <- nil
			}()
			w := bufio.NewWriter(inW)
			for i := 0; i < n; i++ {
				ch := <-free
				fmt.Fprintf(w, "%d %s\n", ch, lines[i%pool])
				if len(free) == 0 {
					w.Flush()
				}
			}
			w.Flush()
			if err := <-answered; err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "checks/s")
			inW.Close()
			if err := <-served; err != nil {
				b.Fatal(err)
			}
			inR.Close()
			outR.Close()
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
