package connector

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when the test says so. Timers fire
// (their channel receives) when Advance passes their deadline.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	c       chan time.Time
	stopped bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{at: f.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.c <- f.now
		t.stopped = true
	} else {
		f.timers = append(f.timers, t)
	}
	return t.c, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// Advance moves the clock by d and fires the timers that are due.
func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	kept := f.timers[:0]
	for _, t := range f.timers {
		switch {
		case t.stopped:
		case !t.at.After(f.now):
			t.stopped = true
			t.c <- f.now
		default:
			kept = append(kept, t)
		}
	}
	f.timers = kept
}

// refusedErr stands for the checker's refusal of one connection.
func refusedErr(owner string) error {
	return &PeerOwnerError{Owner: owner, Want: "uid 0"}
}

// TestRefusalLogAggregates: the first refusal of a quiet source is one line
// with its reason; the rest of the interval becomes one counted line at its
// end; a source quiet for a whole interval starts over.
func TestRefusalLogAggregates(t *testing.T) {
	clk := newFakeClock()
	r := newRefusalLog(10*time.Second, clk, nil)
	for i := range 3121 {
		r.record("uid 1001", fmt.Sprintf("127.0.0.1:%d", 40000+i%20000), refusedErr("uid 1001"))
		if i < 5 {
			r.record("owner unknown", "127.0.0.1:39999", errPeerUnchecked)
		}
	}
	lines, next := r.due()
	want := []string{
		"refused local connection from 127.0.0.1:40000: connection opened by uid 1001, not by this user (uid 0)",
		"refused local connection from 127.0.0.1:39999: the owner of the connection cannot be checked",
	}
	if !equalLines(lines, want) {
		t.Fatalf("first lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if wantNext := clk.Now().Add(10 * time.Second); !next.Equal(wantNext) {
		t.Errorf("next flush at %v, want %v", next, wantNext)
	}

	clk.Advance(9*time.Second + 999*time.Millisecond)
	if lines, _ := r.due(); len(lines) != 0 {
		t.Errorf("lines before the end of the interval: %q", lines)
	}
	clk.Advance(time.Millisecond)
	lines, _ = r.due()
	want = []string{
		"refused 4 more local connections from owner unknown in the last 10s",
		"refused 3120 more local connections from uid 1001 in the last 10s",
	}
	if !equalLines(lines, want) {
		t.Fatalf("interval lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	// A whole quiet interval ends both windows without a line.
	clk.Advance(10 * time.Second)
	if lines, next := r.due(); len(lines) != 0 || !next.IsZero() {
		t.Errorf("after a quiet interval: lines %q, next %v; want none", lines, next)
	}
	clk.Advance(3 * time.Second)
	r.record("uid 1001", "127.0.0.1:50000", refusedErr("uid 1001"))
	if lines, _ := r.due(); len(lines) != 1 || !strings.HasPrefix(lines[0], "refused local connection from 127.0.0.1:50000: ") {
		t.Errorf("a source back after a quiet interval: %q, want its first line at once", lines)
	}
}

// TestRefusalLogAtMostOneLinePerInterval: with refusals from three sources
// at random moments and flushes at random moments, no source gets two lines
// less than an interval apart, and the lines account for every refusal.
func TestRefusalLogAtMostOneLinePerInterval(t *testing.T) {
	const interval = 10 * time.Second
	rng := rand.New(rand.NewPCG(1, 2))
	clk := newFakeClock()
	r := newRefusalLog(interval, clk, nil)
	sources := []string{"uid 1001", "uid 1002", "owner unknown"}
	last := map[string]time.Time{}
	counted := map[string]int{}
	recorded := map[string]int{}
	check := func(lines []string) {
		for _, l := range lines {
			src, n := parseRefusalLine(t, l)
			if prev, ok := last[src]; ok && clk.Now().Sub(prev) < interval {
				t.Fatalf("%s: a line %v after the previous one: %q", src, clk.Now().Sub(prev), l)
			}
			last[src] = clk.Now()
			counted[src] += n
		}
	}
	for range 20000 {
		clk.Advance(time.Duration(rng.IntN(50)) * time.Millisecond)
		if rng.IntN(3) == 0 { // bursts and pauses
			src := sources[rng.IntN(len(sources))]
			r.record(src, "127.0.0.1:1", refusedErr(src))
			recorded[src]++
		}
		if rng.IntN(10) == 0 {
			lines, _ := r.due()
			check(lines)
		}
	}
	// What is left is written at shutdown, however soon.
	for _, l := range r.flushAll() {
		src, n := parseRefusalLine(t, l)
		counted[src] += n
	}
	for _, src := range sources {
		if counted[src] != recorded[src] {
			t.Errorf("%s: lines count %d refusals, %d were recorded", src, counted[src], recorded[src])
		}
	}
}

// TestRefusalLogSourceCap: a source beyond the cap is counted under
// "other sources", so the table cannot grow without bound.
func TestRefusalLogSourceCap(t *testing.T) {
	clk := newFakeClock()
	r := newRefusalLog(10*time.Second, clk, nil)
	for i := range maxRefusalSources + 10 {
		r.record(fmt.Sprintf("uid %d", 2000+i), "127.0.0.1:1", refusedErr("x"))
	}
	if n := len(r.sources); n != maxRefusalSources+1 {
		t.Errorf("%d sources kept, want %d (the cap and \"other sources\")", n, maxRefusalSources+1)
	}
	lines := r.flushAll()
	if !strings.Contains(strings.Join(lines, "\n"), "refused 9 more local connections from other sources in the last 0s") {
		t.Errorf("no line for the other sources in:\n%s", strings.Join(lines, "\n"))
	}
}

// TestRefusalLogRunFlushesAtIntervalAndClose: the goroutine writes the first
// line at once, the count when the fake clock reaches the end of the
// interval, and what remains when it is closed.
func TestRefusalLogRunFlushesAtIntervalAndClose(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	clk := newFakeClock()
	logs := newLogSink()
	r := newRefusalLog(10*time.Second, clk, logs.Logf)
	r.start()
	for range 3 {
		r.record("uid 1001", "127.0.0.1:2", refusedErr("uid 1001"))
	}
	logs.waitLog(t, ctx, "refused local connection from 127.0.0.1:2")
	clk.Advance(10 * time.Second)
	logs.waitLog(t, ctx, "refused 2 more local connections from uid 1001 in the last 10s")
	clk.Advance(3 * time.Second)
	r.record("uid 1001", "127.0.0.1:2", refusedErr("uid 1001"))
	r.close()
	if got := logs.all(); !strings.HasSuffix(got, "refused 1 more local connections from uid 1001 in the last 3s") {
		t.Errorf("close did not flush the count; log:\n%s", got)
	}
	if n := strings.Count(logs.all(), "\n") + 1; n != 3 {
		t.Errorf("%d lines, want 3:\n%s", n, logs.all())
	}
}

var refusalLineRE = regexp.MustCompile(`^refused (?:local connection from [^ ]+: connection opened by (.+), not by this user \(uid 0\)|(\d+) more local connections from (.+) in the last [0-9.]+m?s)$`)

// parseRefusalLine returns the source of a refusal line and how many
// refusals it reports.
func parseRefusalLine(t *testing.T, l string) (string, int) {
	t.Helper()
	m := refusalLineRE.FindStringSubmatch(l)
	if m == nil {
		t.Fatalf("not a refusal line: %q", l)
	}
	if m[1] != "" {
		return m[1], 1
	}
	n, err := strconv.Atoi(m[2])
	if err != nil {
		t.Fatal(err)
	}
	return m[3], n
}

func equalLines(a, b []string) bool {
	return strings.Join(a, "\n") == strings.Join(b, "\n")
}
