package sessiontoken

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/jws"
)

// BenchmarkVerify is the cost of one check at the proxy: the JWS (parse,
// header, signature), the claims, the destination and the single-use
// record of a new token. Run (BENCHMARKS.md, "Session tokens at the
// proxy"):
//
//	go test -run '^$' -bench . -benchmem -count 8 ./sessiontoken/
func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{jws.EdDSA, jws.ES256} {
		b.Run("alg="+alg, func(b *testing.B) {
			key, err := jws.GenerateKey(alg)
			if err != nil {
				b.Fatal(err)
			}
			keys, _ := NewKeySet(key.Public())
			clock := func() time.Time { return now }
			iss, _ := NewIssuer(IssuerConfig{Key: key, Issuer: testIssuer, Now: clock})
			// Tokens of their own, so that each check records a new jti;
			// the memory is sized so that none is refused.
			const pool = 4096
			tokens := make([]string, pool)
			for i := range tokens {
				if tokens[i], _, err = iss.Issue(Grant{Audience: testAudience, Destination: testDest, Subject: "alice"}); err != nil {
					b.Fatal(err)
				}
			}
			v, _ := NewVerifier(VerifierConfig{Keys: keys, Issuers: []string{testIssuer}, Audience: testAudience, Replay: NewMemoryReplay(0), Now: clock})
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				// Past the pool, a token is a reconnect of the same
				// client: the same work but for the insert.
				if _, err := v.Verify(b.Context(), tokens[i%pool], Request{Destination: testDest, Source: "192.0.2.7"}); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkIssue is the portal's cost of one token.
func BenchmarkIssue(b *testing.B) {
	for _, alg := range []string{jws.EdDSA, jws.ES256} {
		b.Run("alg="+alg, func(b *testing.B) {
			key, _ := jws.GenerateKey(alg)
			iss, _ := NewIssuer(IssuerConfig{Key: key, Issuer: testIssuer})
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := iss.Issue(Grant{Audience: testAudience, Destination: testDest, Subject: "alice"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReplayMemory measures MemoryReplay's heap bytes per recorded
// token, full at its default capacity, with jtis and sources as a
// portal and clients make them.
func BenchmarkReplayMemory(b *testing.B) {
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m := NewMemoryReplay(0)
		until := now.Add(MaxLifetime)
		for i := range DefaultReplayCapacity {
			if err := m.Admit(b.Context(), Entry{Key: testIssuer + "\x00" + NewID(), Source: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), Until: until, Now: now}); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/DefaultReplayCapacity, "B/token")
		runtime.KeepAlive(m)
	}
}
