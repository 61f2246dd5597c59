//go:build linux

package redisreplay_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/peers"
	"github.com/trustlaunch/trustlaunch/sessiontoken"
	"github.com/trustlaunch/trustlaunch/sessiontoken/redisreplay"
)

// TestAdmitRedisDownFast: with Redis down (connection refused), a check
// fails at once: one dial per attempt and one retry, not go-redis's
// default of five dials 100 ms apart per attempt, which held each CONNECT
// for about a second while Redis was down.
func TestAdmitRedisDownFast(t *testing.T) {
	t.Parallel()
	rd := peers.StartRedis(t, peers.RedisOptions{})
	s := open(t, rd)
	rd.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	now := time.Now()
	start := time.Now()
	err := s.Admit(ctx, sessiontoken.Entry{Key: "iss\x00j", Source: "192.0.2.1", Until: now.Add(time.Minute), Now: now})
	took := time.Since(start)
	var se *redisreplay.StoreError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a *StoreError", err)
	}
	// Two dials and a 10-50 ms backoff. The default sleeps 100 ms after
	// each of four failed dials, twice: at least 800 ms.
	if took > 600*time.Millisecond {
		t.Errorf("a check with Redis down took %v, want under 600 ms", took.Round(time.Millisecond))
	}
	t.Logf("refused after %v", took.Round(time.Millisecond))
}
