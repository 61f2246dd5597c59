package connector

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// DefaultRefusalLogInterval is Config.RefusalLogInterval when zero.
const DefaultRefusalLogInterval = 10 * time.Second

// maxRefusalSources bounds the table of sources with an open window; a
// source beyond it is counted under otherRefusalSources. Sources are users
// (and "owner unknown"), so the cap is not reached in practice; it only
// keeps memory bounded whatever PeerSource returns.
const (
	maxRefusalSources   = 64
	otherRefusalSources = "other sources"
)

// refusalLog aggregates the log lines of refused local connections (issue
// 10, "Refusals cannot flood"). Serve's log lines go to the terminal the
// emulator draws on (open and demo write Config.Logf to stderr), and another
// local user looping connect/close once made trustlaunch write 74,000 lines
// in 8 s over the emulator's screen, each refusal waiting for its turn at
// the terminal. This is the one place that limits them:
//
//   - per source (PeerSource: a user, or "owner unknown"), the first refusal
//     after a quiet interval is one line at once, with its reason, and
//     opens a window of one interval;
//   - refusals within the window are only counted; at its end, a count
//     ("refused 3120 more local connections from uid 1001 in the last 10s")
//     is one line and opens the next window; a window without refusals
//     ends silently;
//   - at shutdown (Serve returning, the emulator gone) the open counts are
//     written at once.
//
// So a source gets at most one line per interval, and every refusal is in
// some line. Lines are written by a goroutine of their own: a refusal takes
// one short lock to count itself and never waits for a log write, so a slow
// terminal cannot hold back the accept loop or the checks of other
// connections.
type refusalLog struct {
	interval time.Duration
	clock    clock
	logf     func(format string, args ...any)

	mu      sync.Mutex
	sources map[string]*refusalWindow
	pending []string // first lines not yet written, in order

	wake     chan struct{} // buffered: a pending line or a new window
	done     chan struct{} // closed by close
	finished chan struct{} // closed when run has written everything
}

// refusalWindow is one source's window: it opened with that source's last
// line, and counts the refusals since.
type refusalWindow struct {
	start time.Time
	count int
}

// clock is time.Now and time.NewTimer, replaced by a fake in tests.
type clock interface {
	Now() time.Time
	NewTimer(d time.Duration) (c <-chan time.Time, stop func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

func newRefusalLog(interval time.Duration, clk clock, logf func(string, ...any)) *refusalLog {
	if clk == nil {
		clk = realClock{}
	}
	return &refusalLog{
		interval: interval,
		clock:    clk,
		logf:     logf,
		sources:  make(map[string]*refusalWindow),
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		finished: make(chan struct{}),
	}
}

// record counts one refused connection from source (PeerSource of err),
// whose client end was from.
func (r *refusalLog) record(source, from string, err error) {
	r.mu.Lock()
	w := r.sources[source]
	if w == nil && len(r.sources) >= maxRefusalSources {
		source = otherRefusalSources
		w = r.sources[source]
	}
	if w != nil {
		w.count++
		r.mu.Unlock()
		return
	}
	r.sources[source] = &refusalWindow{start: r.clock.Now()}
	r.pending = append(r.pending, fmt.Sprintf("refused local connection from %s: %v", from, err))
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default: // already woken
	}
}

// due returns the lines to write now: the pending first lines, then a count
// for each window that has ended, in the order of the sources' names. It
// returns when the next window ends (zero: none open).
func (r *refusalLog) due() (lines []string, next time.Time) {
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	lines, r.pending = r.pending, nil
	for _, src := range r.sourceNames() {
		w := r.sources[src]
		if end := w.start.Add(r.interval); now.Before(end) {
			if next.IsZero() || end.Before(next) {
				next = end
			}
			continue
		}
		if w.count == 0 {
			delete(r.sources, src)
			continue
		}
		lines = append(lines, countLine(src, w.count, now.Sub(w.start)))
		w.start, w.count = now, 0
		if end := now.Add(r.interval); next.IsZero() || end.Before(next) {
			next = end
		}
	}
	return lines, next
}

// flushAll returns every line not yet written, the open counts included
// however short their window, and forgets every source.
func (r *refusalLog) flushAll() []string {
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	lines := r.pending
	r.pending = nil
	for _, src := range r.sourceNames() {
		if w := r.sources[src]; w.count > 0 {
			lines = append(lines, countLine(src, w.count, now.Sub(w.start)))
		}
	}
	clear(r.sources)
	return lines
}

func (r *refusalLog) sourceNames() []string {
	names := make([]string, 0, len(r.sources))
	for src := range r.sources {
		names = append(names, src)
	}
	slices.Sort(names)
	return names
}

func countLine(source string, n int, d time.Duration) string {
	if d >= time.Second {
		d = d.Round(time.Second)
	} else {
		d = d.Round(time.Millisecond)
	}
	return fmt.Sprintf("refused %d more local connections from %s in the last %v", n, source, d)
}

// start runs the writer goroutine; close stops it.
func (r *refusalLog) start() { go r.run() }

func (r *refusalLog) run() {
	defer close(r.finished)
	for {
		lines, next := r.due()
		r.write(lines)
		var timer <-chan time.Time
		stop := func() bool { return false }
		if !next.IsZero() {
			timer, stop = r.clock.NewTimer(next.Sub(r.clock.Now()))
		}
		select {
		case <-r.wake:
		case <-timer:
		case <-r.done:
			stop()
			r.write(r.flushAll())
			return
		}
		stop()
	}
}

func (r *refusalLog) write(lines []string) {
	if r.logf == nil {
		return
	}
	for _, l := range lines {
		r.logf("%s", l)
	}
}

// close writes what is left and returns when it is written. Call it once,
// after the last record.
func (r *refusalLog) close() {
	close(r.done)
	<-r.finished
}
