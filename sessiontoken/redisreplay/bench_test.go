//go:build linux

package redisreplay_test

import (
	"crypto/ed25519"
	"slices"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/peers"
	"github.com/trustlaunch/trustlaunch/sessiontoken"
)

// BenchmarkVerifyStores is what Redis adds to a token check, side by
// side with the in-memory store in one run: two verifiers with the same
// key, one with sessiontoken.MemoryReplay and one with a Store on a real
// redis-server on loopback (as the ACL user, over one pooled connection),
// taking turns on tokens of their own, so that each check records a new
// jti. Each op is one check with each store. Metrics: p50 and p99 of a
// whole check (signature, claims, single-use record) with each store, and
// the difference, which is Redis's round trip.
//
//	go test -run '^$' -bench VerifyStores -count 6 ./sessiontoken/redisreplay/
func BenchmarkVerifyStores(b *testing.B) {
	rd := peers.StartRedis(b, peers.RedisOptions{})
	store := open(b, rd)
	_, key, _ := ed25519.GenerateKey(nil)
	keys, _ := sessiontoken.NewKeySet(key.Public())
	const iss, aud, dst = "https://portal.example.com", "proxy.example.com:8443", "mainframe.example.com:23"
	issuer, _ := sessiontoken.NewIssuer(sessiontoken.IssuerConfig{Key: key, Issuer: iss})
	verifiers := map[string]*sessiontoken.Verifier{}
	for name, r := range map[string]sessiontoken.Replay{"memory": sessiontoken.NewMemoryReplay(0), "redis": store} {
		v, err := sessiontoken.NewVerifier(sessiontoken.VerifierConfig{Keys: keys, Issuers: []string{iss}, Audience: aud, Replay: r})
		if err != nil {
			b.Fatal(err)
		}
		verifiers[name] = v
	}
	// Warm the pooled connection: its set-up is not a check's cost.
	if err := store.Ping(b.Context()); err != nil {
		b.Fatal(err)
	}
	tokens := make([]string, b.N)
	for i := range tokens {
		var err error
		if tokens[i], _, err = issuer.Issue(sessiontoken.Grant{Audience: aud, Destination: dst, Subject: "alice"}); err != nil {
			b.Fatal(err)
		}
	}
	took := map[string][]time.Duration{}
	b.ResetTimer()
	for i := range b.N {
		for _, name := range []string{"memory", "redis"} {
			start := time.Now()
			if _, err := verifiers[name].Verify(b.Context(), tokens[i], sessiontoken.Request{Destination: dst, Source: "192.0.2.7"}); err != nil {
				b.Fatalf("%s: %v", name, err)
			}
			took[name] = append(took[name], time.Since(start))
		}
	}
	b.StopTimer()
	p50m, p99m := percentiles(took["memory"])
	p50r, p99r := percentiles(took["redis"])
	b.ReportMetric(p50m, "memory-p50-us")
	b.ReportMetric(p99m, "memory-p99-us")
	b.ReportMetric(p50r, "redis-p50-us")
	b.ReportMetric(p99r, "redis-p99-us")
	b.ReportMetric(p50r-p50m, "added-p50-us")
	b.ReportMetric(p99r-p99m, "added-p99-us")
}

// percentiles returns the p50 and p99 of ds in microseconds.
func percentiles(ds []time.Duration) (p50, p99 float64) {
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) float64 { return float64(s[int(q*float64(len(s)-1))].Nanoseconds()) / 1e3 }
	return at(0.50), at(0.99)
}
