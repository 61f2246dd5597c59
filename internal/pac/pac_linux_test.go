//go:build linux

// Only Linux runs scripts in the child: it alone enforces the memory limit
// (limit_linux.go); elsewhere the child refuses every script
// (TestScriptNeedsTheMemoryLimit).

package pac

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestScriptBounds runs scripts that never end, in the child process: a
// loop, a recursion, and an allocation without end each fail within the
// bound (the budget plus the kill's grace) with a clear error, and the
// Script then fails at once for every later query (the caller goes
// direct), without a second child or a second wait.
func TestScriptBounds(t *testing.T) {
	t.Parallel()
	const budget = 500 * time.Millisecond
	// The allocations get a longer budget and a small memory limit, so
	// that the memory limit, not the time, is what stops them, even under
	// the race detector. The loops and the recursion keep the default
	// limit: with 64 MiB of address space to grow by, the runtime's next
	// heap arena (64 MiB on amd64) could fail before goja's own bound
	// speaks, and the test would see the wrong bound.
	const allocBudget = 5 * time.Second
	const allocMemory = 64 << 20
	for _, tc := range []struct {
		name, script, want string
		budget             time.Duration
		memory             int64
	}{
		{"loop", `function FindProxyForURL(u, h) { for (;;) {} }`, "ran longer than 500ms", budget, 0},
		{"loop in a second", `function FindProxyForURL(u, h) { if (h == "secproxy.test") for (;;) {} return "DIRECT" }`, "ran longer than 500ms", budget, 0},
		{"loop at load", `for (;;) {} function FindProxyForURL(u, h) { return "DIRECT" }`, "ran longer than 500ms", budget, 0},
		{"recursion", `function f() { return [f()] } function FindProxyForURL(u, h) { return f() }`, "recursed too deep", budget, 0},
		{"allocation", `function FindProxyForURL(u, h) { var a = []; for (;;) { a.push(new ArrayBuffer(4 << 20)) } }`, "memory limit", allocBudget, allocMemory},
		{"string doubling", `function FindProxyForURL(u, h) { var s = "xxxxxxxx"; for (;;) { s = s + s } }`, "memory limit", allocBudget, allocMemory},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := NewScript(Options{URL: servePAC(t, tc.script), Command: testCommand(t), Timeout: tc.budget, MemoryLimit: tc.memory})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			start := time.Now()
			_, err = s.FindProxy(t.Context(), "secproxy.test", "8443")
			took := time.Since(start)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if limit := tc.budget + killGrace + startGrace; took > limit {
				t.Errorf("took %v, more than %v", took, limit)
			}
			t.Logf("as expected after %v: %v", took.Round(time.Millisecond), err)
			start = time.Now()
			_, err2 := s.FindProxy(t.Context(), "other.test", "443")
			if err2 == nil || time.Since(start) > budget/2 {
				t.Errorf("second query: %v after %v, want the first failure again at once", err2, time.Since(start))
			}
		})
	}
}

// TestScriptAnswers: the child evaluates a real script, with the URL a
// TLS connection gets, and keeps answering.
func TestScriptAnswers(t *testing.T) {
	t.Parallel()
	script := `function FindProxyForURL(url, host) {
		if (shExpMatch(host, "*.direct.test")) return "DIRECT";
		if (url == "https://secproxy.test:8443/") return "PROXY a.test:3128; PROXY b.test:3128; DIRECT";
		if (url == "https://portal.test/") return "PROXY c.test:8080";
		return "PROXY other.test:1; DIRECT";
	}`
	s, err := NewScript(Options{URL: servePAC(t, script), Command: testCommand(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.String(); !strings.HasPrefix(got, "PAC http://127.0.0.1:") || !strings.HasSuffix(got, "/proxy.pac") {
		t.Errorf("String = %q", got)
	}
	for _, tc := range []struct{ host, port, want string }{
		{"secproxy.test", "8443", "PROXY a.test:3128; PROXY b.test:3128; DIRECT"},
		{"portal.test", "443", "PROXY c.test:8080"},
		{"x.direct.test", "443", "DIRECT"},
		{"::1", "8443", "PROXY other.test:1; DIRECT"},
	} {
		got, err := s.FindProxy(t.Context(), tc.host, tc.port)
		if err != nil || got != tc.want {
			t.Errorf("%s:%s = %q, %v; want %q", tc.host, tc.port, got, err, tc.want)
		}
	}
}

// TestScriptFetch: the script's size is capped, a failed fetch names the
// script without its query (which may hold a key), and a refusal by the
// server is an error, not an empty script.
func TestScriptFetch(t *testing.T) {
	t.Parallel()
	big := servePAC(t, strings.Repeat("//", 600<<10))
	for _, tc := range []struct{ name, url, want string }{
		{"too big", big, "the script is larger than 1024 KiB"},
		{"not found", strings.Replace(big, "/proxy.pac", "/nothing.pac?key=s3cret", 1), "server answered 404 Not Found"},
		{"refused", "http://" + deadAddr(t) + "/proxy.pac?key=s3cret", "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewScript(Options{URL: tc.url, Command: testCommand(t)})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.FindProxy(t.Context(), "x.test", "443")
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("err = %v, want %q without the key", err, tc.want)
			}
		})
	}
}

// TestScriptCancelledQuery: a query the caller cancels (a launch's dial
// given up) ends the child it was waiting on, and the next query gets a
// new child and the script's answer, not the dead child's silence taken
// for the script's failure.
func TestScriptCancelledQuery(t *testing.T) {
	t.Parallel()
	script := `function FindProxyForURL(u, h) { if (h == "slow.test") for (;;) {} return "PROXY a.test:3128" }`
	s, err := NewScript(Options{URL: servePAC(t, script), Command: testCommand(t), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The child is started and answering before the query that will be
	// given up.
	if ans, err := s.FindProxy(t.Context(), "warm.test", "443"); err != nil || ans != "PROXY a.test:3128" {
		t.Fatalf("warm-up query: %q, %v", ans, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, err := s.FindProxy(ctx, "slow.test", "443"); err == nil || ctx.Err() == nil {
		t.Fatalf("the cancelled query: %v (ctx %v), want it ended by the cancel", err, ctx.Err())
	}
	ans, err := s.FindProxy(t.Context(), "next.test", "443")
	if err != nil || ans != "PROXY a.test:3128" {
		t.Fatalf("the query after a cancelled one: %q, %v; want the script's answer", ans, err)
	}
}
