package pac

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// childEnv makes the test binary the evaluator child (ServeChild), as
// "trustlaunch __pac" is in the real program.
const childEnv = "TRUSTLAUNCH_PAC_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		if err := ServeChild(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "pac child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func testCommand(t testing.TB) func() *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return func() *exec.Cmd {
		cmd := exec.Command(exe)
		cmd.Env = []string{childEnv + "=1"}
		return cmd
	}
}

// servePAC serves script at /proxy.pac over plain http on loopback.
func servePAC(t testing.TB, script string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/proxy.pac" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/x-ns-proxy-autoconfig")
		fmt.Fprint(w, script)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/proxy.pac"
}

func TestEnginePACFunctions(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{`isPlainHostName("www")`, "true"},
		{`isPlainHostName("www.corp")`, "false"},
		{`dnsDomainIs("www.Corp.example", ".corp.example")`, "true"},
		{`dnsDomainIs("www", ".corp.example")`, "false"},
		{`localHostOrDomainIs("www", "www.corp.example")`, "true"},
		{`localHostOrDomainIs("www.other", "www.corp.example")`, "false"},
		{`dnsDomainLevels("a.b.c")`, "2"},
		{`shExpMatch("http://a.corp/x/y", "*.corp/*")`, "true"},
		{`shExpMatch("a.corp", "?.corp")`, "true"},
		{`shExpMatch("ab.corp", "?.corp")`, "false"},
		{`shExpMatch("x", "")`, "false"},
		{`isInNet("10.1.2.3", "10.0.0.0", "255.0.0.0")`, "true"},
		{`isInNet("11.1.2.3", "10.0.0.0", "255.0.0.0")`, "false"},
		{`isInNet("127.0.0.1", "127.0.0.0", "255.255.255.0")`, "true"},
		{`dnsResolve("127.0.0.1")`, "127.0.0.1"},
		{`dnsResolve("localhost")`, "127.0.0.1"},
		{`dnsResolve("no-such-host.invalid")`, "null"},
		{`isResolvable("no-such-host.invalid")`, "false"},
		{`convert_addr("10.0.0.1")`, "167772161"},
		{`typeof myIpAddress()`, "string"},
		{`weekdayRange("SUN", "SAT")`, "true"},
		{`weekdayRange("XYZ")`, "false"},
		{`timeRange(0, 24)`, "true"},
		{`dateRange(1, 31)`, "true"},
		{`dateRange("JAN", "DEC")`, "true"},
		{`typeof require + typeof console + typeof process + typeof fetch`, "undefinedundefinedundefinedundefined"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			e, err := NewEngine("function FindProxyForURL(url, host) { return String("+tc.expr+"); }", time.Second)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Find("https://x/", "x")
			if err != nil || got != tc.want {
				t.Errorf("= %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestEngineFailures(t *testing.T) {
	for _, tc := range []struct{ name, script, want string }{
		{"syntax", "function FindProxyForURL(url, host) {", "the script threw SyntaxError"},
		{"no function", "var x = 1;", "defines no function FindProxyForURL"},
		{"throws", `function FindProxyForURL(u, h) { throw new Error("boom") }`, "the script threw Error: boom"},
		{"not a string", `function FindProxyForURL(u, h) { return 42 }`, "returned a value of type int64, not a string"},
		{"loops at load", `while (true) {}`, "ran longer than 100ms"},
		{"loops", `function FindProxyForURL(u, h) { for (;;) {} }`, "ran longer than 100ms"},
		{"recurses", `function f(n) { return f(n + 1) + 1 } function FindProxyForURL(u, h) { return f(0) }`, "recursed too deep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := NewEngine(tc.script, 100*time.Millisecond)
			if err == nil {
				_, err = e.Find("https://x/", "x")
			}
			var ee *EvalError
			if !errors.As(err, &ee) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want an EvalError with %q", err, tc.want)
			}
		})
	}
}

// TestScriptBounds runs scripts that never end, in the child process: a
// loop, a recursion, and an allocation without end each fail within the
// bound (the budget plus the kill's grace) with a clear error, and the
// Script then fails at once for every later query (the caller goes
// direct), without a second child or a second wait.
func TestScriptBounds(t *testing.T) {
	t.Parallel()
	const budget = 500 * time.Millisecond
	// The allocations get a longer budget, so that the memory limit, not
	// the time, is what stops them, even under the race detector.
	const allocBudget = 5 * time.Second
	for _, tc := range []struct {
		name, script, want string
		budget             time.Duration
	}{
		{"loop", `function FindProxyForURL(u, h) { for (;;) {} }`, "ran longer than 500ms", budget},
		{"loop in a second", `function FindProxyForURL(u, h) { if (h == "secproxy.test") for (;;) {} return "DIRECT" }`, "ran longer than 500ms", budget},
		{"loop at load", `for (;;) {} function FindProxyForURL(u, h) { return "DIRECT" }`, "ran longer than 500ms", budget},
		{"recursion", `function f() { return [f()] } function FindProxyForURL(u, h) { return f() }`, "recursed too deep", budget},
		{"allocation", `function FindProxyForURL(u, h) { var a = []; for (;;) { a.push(new ArrayBuffer(4 << 20)) } }`, "memory limit", allocBudget},
		{"string doubling", `function FindProxyForURL(u, h) { var s = "xxxxxxxx"; for (;;) { s = s + s } }`, "memory limit", allocBudget},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := NewScript(Options{URL: servePAC(t, tc.script), Command: testCommand(t), Timeout: tc.budget, MemoryLimit: 64 << 20})
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

func deadAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// FuzzEngine: whatever the script, URL and host (all untrusted), the
// engine returns a string or an *EvalError within its budget, and never
// panics.
func FuzzEngine(f *testing.F) {
	for _, s := range []string{
		`function FindProxyForURL(u, h) { return "PROXY " + h + ":3128" }`,
		`function FindProxyForURL(u, h) { return isInNet(dnsResolve(h), "10.0.0.0", "255.0.0.0") ? "DIRECT" : "PROXY p:1" }`,
		`function FindProxyForURL(u, h) { return shExpMatch(u, h) + "" }`,
		`function FindProxyForURL(u, h) { return weekdayRange(h, u, "GMT") + dateRange(h) + timeRange(u) + "" }`,
		`FindProxyForURL = 1`,
	} {
		f.Add(s, "https://a.test/", "a.test")
	}
	f.Fuzz(func(t *testing.T, script, url, host string) {
		start := time.Now()
		e, err := NewEngine(script, 50*time.Millisecond)
		if err == nil {
			_, err = e.Find(url, host)
		}
		var ee *EvalError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("error of type %T: %v", err, err)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("took %v", took)
		}
	})
}

// BenchmarkFindProxy is one query to a running child with the script
// loaded: the cost of a connection's choice when its answer is not cached
// yet (the connector caches it per target for the launch).
func BenchmarkFindProxy(b *testing.B) {
	script := `function FindProxyForURL(url, host) {
		if (isPlainHostName(host) || dnsDomainIs(host, ".corp.example")) return "DIRECT";
		if (shExpMatch(host, "*.portal.test")) return "PROXY a.test:3128; DIRECT";
		return "PROXY b.test:3128; PROXY c.test:3128; DIRECT";
	}`
	s, err := NewScript(Options{URL: servePAC(b, script), Command: testCommand(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.FindProxy(context.Background(), "warm.test", "443"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.FindProxy(context.Background(), "secproxy.test", "8443"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChildStart is the one-time cost of a launch's PAC: fetching
// the script from loopback, starting the child, and loading the script.
func BenchmarkChildStart(b *testing.B) {
	u := servePAC(b, `function FindProxyForURL(u, h) { return "DIRECT" }`)
	for b.Loop() {
		s, err := NewScript(Options{URL: u, Command: testCommand(b)})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.FindProxy(context.Background(), "x.test", "443"); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// TestServeChildRefusesNoLimits: a child given no memory limit or no time
// budget runs no script, and says why (the parent shows it).
func TestServeChildRefusesNoLimits(t *testing.T) {
	var out strings.Builder
	err := ServeChild(strings.NewReader(`{"memory":0,"budget_ms":2000}`+"\n"+`"function FindProxyForURL(){return \"DIRECT\"}"`+"\n"), &out)
	if err == nil || !strings.Contains(out.String(), `"error":"the PAC evaluator's configuration has no memory limit`) {
		t.Fatalf("ServeChild: %v, wrote %q", err, out.String())
	}
}
