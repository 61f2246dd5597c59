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
