package main

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestIsAppLaunch(t *testing.T) {
	const bundled = "/Applications/trustlaunch.app/Contents/MacOS/trustlaunch"
	for _, tc := range []struct {
		name string
		args []string
		exe  string
		want bool
	}{
		{"Launch Services, no arguments", nil, bundled, true},
		{"Launch Services before 10.9, process serial number", []string{"-psn_0_12345"}, bundled, true},
		{"command line in the bundle", []string{"version"}, bundled, false},
		{"open from the command line", []string{"open", "--", "trustlaunch://launch?url=x"}, bundled, false},
		{"two arguments after -psn", []string{"-psn_0_1", "open"}, bundled, false},
		{"plain binary, no arguments", nil, "/usr/local/bin/trustlaunch", false},
		{"MacOS without Contents", nil, "/x/MacOS/trustlaunch", false},
		{"Contents/MacOS not in a .app", nil, "/x/Contents/MacOS/trustlaunch", false},
		{"renamed bundle", nil, "/Applications/Other Name.app/Contents/MacOS/trustlaunch", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := isAppLaunch(tc.args, tc.exe); got != tc.want {
				t.Errorf("isAppLaunch(%q, %q) = %v, want %v", tc.args, tc.exe, got, tc.want)
			}
		})
	}
}

// recorder counts refusals and lets a test wait for them without sleeping.
type recorder struct {
	mu      sync.Mutex
	refused []string
	ch      chan string
}

func newRecorder() *recorder { return &recorder{ch: make(chan string, 16)} }

func (r *recorder) refuse(raw string) {
	r.mu.Lock()
	r.refused = append(r.refused, raw)
	r.mu.Unlock()
	r.ch <- raw
}

func (r *recorder) wait(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-r.ch:
		if got != want {
			t.Fatalf("refused %q, want %q", got, want)
		}
	case <-t.Context().Done():
		t.Fatalf("no refusal of %q", want)
	}
}

func TestAppSessionColdStartLaunchesTheFirstLink(t *testing.T) {
	// The link that started the app arrives before serve runs.
	r := newRecorder()
	a := newAppSession(r.refuse)
	if !a.deliver("first") {
		t.Fatal("first link refused")
	}
	var opened []string
	code := a.serve(t.Context(), time.Hour, func(_ context.Context, raw string) int {
		opened = append(opened, raw)
		return 7
	}, func() { t.Error("told no link while one came") })
	if code != 7 || len(opened) != 1 || opened[0] != "first" {
		t.Fatalf("serve = %d, opened %q; want 7, [first]", code, opened)
	}
	if len(r.refused) != 0 {
		t.Fatalf("refused %q", r.refused)
	}
}

func TestAppSessionWarmLinkWhileRunningIsRefused(t *testing.T) {
	r := newRecorder()
	a := newAppSession(r.refuse)
	running := make(chan struct{})
	release := make(chan struct{})
	done := make(chan int)
	go func() {
		done <- a.serve(t.Context(), time.Hour, func(_ context.Context, raw string) int {
			if raw != "first" {
				t.Errorf("opened %q", raw)
			}
			close(running)
			<-release
			return 0
		}, func() { t.Error("told no link") })
	}()
	// The first link reaches an app that is already running (warm).
	if !a.deliver("first") {
		t.Fatal("first link refused")
	}
	<-running
	if a.deliver("second") {
		t.Fatal("second link accepted while the first runs")
	}
	r.wait(t, "second")
	close(release)
	if code := <-done; code != 0 {
		t.Fatalf("serve = %d", code)
	}
	// After the launch the app quits; a link now is refused, synchronously.
	if a.deliver("third") {
		t.Fatal("link accepted after the launch ended")
	}
	r.wait(t, "third")
}

func TestAppSessionNoLinkTellsAndReturns(t *testing.T) {
	r := newRecorder()
	a := newAppSession(r.refuse)
	told := 0
	code := a.serve(t.Context(), time.Millisecond, func(context.Context, string) int {
		t.Error("opened without a link")
		return 1
	}, func() { told++ })
	if code != exitOK || told != 1 {
		t.Fatalf("serve = %d, told %d times; want 0, once", code, told)
	}
	if a.deliver("late") {
		t.Fatal("link accepted after the app gave up waiting")
	}
	r.wait(t, "late")
}

func TestAppSessionInterrupted(t *testing.T) {
	a := newAppSession(newRecorder().refuse)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	code := a.serve(ctx, time.Hour, func(context.Context, string) int {
		t.Error("opened without a link")
		return 1
	}, func() { t.Error("told no link") })
	if code != exitInterrupted {
		t.Fatalf("serve = %d, want %d", code, exitInterrupted)
	}
}

// TestAppSessionRace delivers links from many goroutines at once (the
// handler runs on one thread, but serve's timer and deliver race): exactly
// one is opened, every other one is refused, and serve waits for them all.
func TestAppSessionRace(t *testing.T) {
	const n = 20
	var mu sync.Mutex
	refused := 0
	a := newAppSession(func(string) { mu.Lock(); refused++; mu.Unlock() })
	opened := 0
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); a.deliver("x") }()
	}
	a.serve(t.Context(), time.Microsecond, func(context.Context, string) int { opened++; return 0 }, func() {})
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if opened+refused != n || opened > 1 {
		t.Fatalf("opened %d, refused %d, of %d links", opened, refused, n)
	}
}
