//go:build unix

package launcher

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/connector/proxytest"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// launchToken is distinctive so a search for it in any output is meaningful.
const launchToken = "tl-launch-token-5d1e8b2c9a"

// The test binary doubles as a fake emulator (profile "fake"): it connects
// to the tunnel, reads the host's greeting, sends a line, prints what came
// back and exits with status 7; role "sleep" connects and then waits to be
// killed, printing its pid and the tunnel's port first.
const emulatorRoleEnv = "LAUNCH_TEST_EMULATOR"

func TestMain(m *testing.M) {
	switch os.Getenv(emulatorRoleEnv) {
	case "":
		os.Exit(m.Run())
	case "fake":
		os.Exit(fakeEmulator(os.Args[len(os.Args)-1]))
	case "sleep":
		c, err := net.Dial("tcp", "127.0.0.1:"+os.Args[len(os.Args)-1])
		if err != nil {
			os.Exit(2)
		}
		defer c.Close()
		fmt.Printf("%d %s\n", os.Getpid(), os.Args[len(os.Args)-1])
		time.Sleep(time.Minute) // until the launch's teardown kills it
		os.Exit(3)
	}
}

func fakeEmulator(port string) int {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 5*time.Second)
	if err != nil {
		fmt.Println("dial:", err)
		return 2
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	greet, _ := r.ReadString('\n')
	fmt.Fprintf(c, "ping\n")
	reply, _ := r.ReadString('\n')
	fmt.Printf("greeting=%q reply=%q\n", greet, reply)
	if len(os.Environ()) > 0 {
		for _, kv := range os.Environ() {
			if strings.Contains(kv, launchToken) || strings.HasPrefix(kv, "TRUSTLAUNCH_") || strings.HasPrefix(kv, "GOOGLE_") {
				fmt.Println("LEAKED ENV", kv)
			}
		}
	}
	return 7
}

// host is the destination: it greets first, like a TN3270 host, then
// answers each line in upper case.
func startHost(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				fmt.Fprintf(c, "HELLO from host\n")
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					fmt.Fprintf(c, "%s\n", strings.ToUpper(sc.Text()))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// world is an origin serving one descriptor, a proxy and a host.
type world struct {
	origin     *httptest.Server
	proxy      *proxytest.Proxy
	launchURL  string
	userList   string
	profiles   string
	descriptor map[string]any
	mu         sync.Mutex
}

func newWorld(t testing.TB, transport string) *world {
	t.Helper()
	host := startHost(t)
	w := &world{}
	if transport == "websocket" {
		w.proxy = proxytest.NewUnstartedWebSocketProxy(host)
	} else {
		w.proxy = proxytest.NewUnstartedConnectProxy()
	}
	w.proxy.CheckToken = func(tok string) bool { return tok == launchToken }
	w.proxy.Start()
	t.Cleanup(w.proxy.Close)
	hh, hp, _ := net.SplitHostPort(host)
	port, _ := strconv.Atoi(hp)
	w.descriptor = map[string]any{
		"version": 1,
		"session": "Payroll (TN3270)",
		"profile": "fake",
		"proxy": map[string]any{
			"address":     w.proxy.Addr,
			"transport":   transport,
			"server_name": "127.0.0.1",
			"ca_pem":      string(w.proxy.CA.CertPEM()),
		},
		"destination": map[string]any{"host": hh, "port": port},
		"token":       launchToken,
	}
	w.origin = httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		defer w.mu.Unlock()
		rw.Header().Set("Content-Type", "application/json")
		json.NewEncoder(rw).Encode(w.descriptor)
	}))
	t.Cleanup(w.origin.Close)
	w.launchURL = w.origin.URL + "/sessions/1/descriptor?ticket=tkt-secret-0c4f"
	dir := t.TempDir()
	w.userList = filepath.Join(dir, "whitelist.txt")
	o, err := whitelist.ParseOrigin(w.launchURL)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(w.userList, []byte(whitelist.EntryFor(o).String()+"\n"), 0o600)
	w.profiles = filepath.Join(dir, "profiles.toml")
	profile := fmt.Sprintf("[profile.fake]\ncommand = [%q, \"-test.run=^$\", \"{port}\"]\n[profile.sleeper]\ncommand = [%q, \"-test.run=^$\", \"{port}\"]\n", os.Args[0], os.Args[0])
	os.WriteFile(w.profiles, []byte(profile), 0o600)
	return w
}

func (w *world) set(key string, v any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.descriptor[key] = v
}

func (w *world) options(t testing.TB, role string, stdin io.Reader, stdout io.Writer) (Options, *AuditLog) {
	audit, err := NewAuditLog(AuditOptions{Path: filepath.Join(t.TempDir(), "audit.log")})
	if err != nil {
		t.Fatal(err)
	}
	pool := w.origin.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	return Options{
		LaunchURL: w.launchURL,
		Admin:     whitelist.Source{Path: "/nonexistent-trustlaunch-test/whitelist.txt"},
		User:      whitelist.LoadUser(w.userList),
		Fetch:     FetchOptions{RootCAs: pool, ExtraCAFile: "/nonexistent-trustlaunch-test/ca.pem"},
		Profiles:  ProfileOptions{AdminFile: "/nonexistent-trustlaunch-test/profiles.toml", UserFile: w.profiles},
		Audit:     audit,
		Stdin:     stdin,
		Stdout:    stdout,
		Stderr:    io.Discard,
		Env: CleanEnv(append(os.Environ(), emulatorRoleEnv+"="+role, "TRUSTLAUNCH_TOKEN="+launchToken,
			"GOOGLE_DEFAULT_CLIENT_SECRET=s3cr3t", "MY_API_TOKEN="+launchToken)),
	}, audit
}

// syncBuffer is a bytes.Buffer safe for the emulator's writer goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLaunchEndToEnd(t *testing.T) {
	for _, transport := range []string{"connect", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			w := newWorld(t, transport)
			var out syncBuffer
			opts, audit := w.options(t, "fake", strings.NewReader(""), &out)
			var events []Event
			opts.Status = func(e Event) { events = append(events, e) }
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			res := Launch(ctx, opts)
			if res.Err != nil || res.Step != StepLaunched {
				t.Fatalf("Launch: step %s err %v", res.Step, res.Err)
			}
			if res.ExitStatus != 7 {
				t.Errorf("exit status %d, want the emulator's 7; output %q", res.ExitStatus, out.String())
			}
			if got := out.String(); !strings.Contains(got, `greeting="HELLO from host\n" reply="PING\n"`) || strings.Contains(got, "LEAKED") {
				t.Errorf("emulator output %q", got)
			}
			if n := len(w.proxy.Tokens()); n != 1 {
				t.Errorf("proxy saw %d tunnels, want 1 (the pre-dialed one)", n)
			}
			var steps []string
			for _, e := range events {
				if !e.OK {
					t.Errorf("event %+v", e)
				}
				steps = append(steps, e.Step)
			}
			if strings.Join(steps, ",") != "whitelist,descriptor,proxy,emulator" {
				t.Errorf("status steps %v", steps)
			}
			recs, err := audit.ReadRecent(10)
			if err != nil || len(recs) != 1 {
				t.Fatalf("audit: %v %v", recs, err)
			}
			r := recs[0]
			if r.Decision != "launched" || r.Step != StepLaunched || r.Whitelist != "user-listed" || r.ExitStatus == nil || *r.ExitStatus != 7 ||
				r.BytesUp != 5 || r.BytesDown != int64(len("HELLO from host\nPING\n")) || r.Session != "Payroll (TN3270)" {
				t.Errorf("audit record %+v", r)
			}
			assertNoSecrets(t, audit.Path())
		})
	}
}

func TestLaunchRawProfile(t *testing.T) {
	w := newWorld(t, "connect")
	w.set("profile", "raw")
	var out syncBuffer
	opts, _ := w.options(t, "", strings.NewReader("hello\n\x1b[2J\n"), &out)
	res := Launch(t.Context(), opts)
	if res.Err != nil || res.Step != StepLaunched || res.ExitStatus != 0 {
		t.Fatalf("Launch: %+v", res)
	}
	// The host echoes the escape back in upper case; the terminal must get
	// it as text.
	if got := out.String(); got != "HELLO from host\nHELLO\n\\x1b[2J\n" {
		t.Errorf("terminal got %q", got)
	}
}

// TestLaunchRefusedDescriptors checks that hostile descriptors stop the
// launch at their step with a message, and nothing is launched: the proxy
// never sees a token.
func TestLaunchRefusedDescriptors(t *testing.T) {
	tests := []struct {
		name, key string
		value     any
		step      string
		errHas    string
	}{
		{"unknown field", "extra", 1, StepDescriptorDecode, `unknown field "extra"`},
		{"profile with slash", "profile", "../bin/sh", StepDescriptorValidate, "profile"},
		{"profile with dotdot", "profile", "..", StepDescriptorValidate, "profile"},
		{"unknown profile", "profile", "nonesuch", StepProfile, "nonesuch"},
		{"missing token", "token", "", StepDescriptorValidate, "token"},
		{"version 2", "version", 2, StepDescriptorValidate, "version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, "connect")
			w.set(tt.key, tt.value)
			opts, audit := w.options(t, "fake", strings.NewReader(""), io.Discard)
			res := Launch(t.Context(), opts)
			if res.Step != tt.step || res.Err == nil || !strings.Contains(res.Err.Error(), tt.errHas) {
				t.Fatalf("step %s err %v; want %s with %q", res.Step, res.Err, tt.step, tt.errHas)
			}
			if n := len(w.proxy.Tokens()); n != 0 {
				t.Errorf("proxy received %d tokens", n)
			}
			recs, _ := audit.ReadRecent(1)
			if len(recs) != 1 || recs[0].Decision != "failed" || recs[0].Step != tt.step {
				t.Errorf("audit %+v", recs)
			}
			assertNoSecrets(t, audit.Path())
		})
	}
	t.Run("profile none without a terminal", func(t *testing.T) {
		w := newWorld(t, "connect")
		w.set("profile", "none")
		opts, _ := w.options(t, "", strings.NewReader(""), io.Discard)
		res := Launch(t.Context(), opts)
		if res.Step != StepProfile || !strings.Contains(fmt.Sprint(res.Err), "has none") {
			t.Fatalf("%s %v", res.Step, res.Err)
		}
		if n := len(w.proxy.Tokens()); n != 0 {
			t.Errorf("proxy received %d tokens", n)
		}
	})
	t.Run("tls_min 1.0", func(t *testing.T) {
		w := newWorld(t, "connect")
		w.set("proxy", map[string]any{"address": w.proxy.Addr, "transport": "connect", "tls_min": "1.0"})
		opts, _ := w.options(t, "fake", strings.NewReader(""), io.Discard)
		if res := Launch(t.Context(), opts); res.Step != StepDescriptorValidate || !strings.Contains(fmt.Sprint(res.Err), "tls_min") {
			t.Fatalf("%s %v", res.Step, res.Err)
		}
	})
	t.Run("token rejected by the proxy", func(t *testing.T) {
		w := newWorld(t, "connect")
		w.set("token", "forged-token")
		opts, _ := w.options(t, "fake", strings.NewReader(""), io.Discard)
		if res := Launch(t.Context(), opts); res.Step != "proxy-auth" {
			t.Fatalf("%s %v", res.Step, res.Err)
		}
	})
}

// TestLaunchTeardown checks that ending the launch (Ctrl-C, SIGTERM) stops
// the emulator's process group and closes the listener.
func TestLaunchTeardown(t *testing.T) {
	w := newWorld(t, "connect")
	w.set("profile", "sleeper")
	pr, pw := io.Pipe()
	opts, audit := w.options(t, "sleep", strings.NewReader(""), pw)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan *Result, 1)
	go func() { done <- Launch(ctx, opts) }()

	started := make(chan [2]int, 1)
	go func() {
		var pid, port int
		fmt.Fscan(pr, &pid, &port)
		started <- [2]int{pid, port}
		io.Copy(io.Discard, pr)
	}()
	var pid, port int
	select {
	case p := <-started:
		pid, port = p[0], p[1]
	case <-time.After(15 * time.Second):
		t.Fatal("the emulator never started")
	}
	cancel()
	select {
	case res := <-done:
		if res.ExitStatus != 128+int(syscall.SIGHUP) && res.ExitStatus != 128+int(syscall.SIGTERM) {
			t.Errorf("exit status %d, want death by SIGHUP or SIGTERM", res.ExitStatus)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Launch did not return after cancel")
	}
	pw.Close()
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("emulator %d still alive", pid)
	}
	if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
		c.Close()
		t.Errorf("listener on port %d still open", port)
	}
	recs, _ := audit.ReadRecent(1)
	if len(recs) != 1 || recs[0].Decision != "interrupted" {
		t.Errorf("audit %+v", recs)
	}
}

func assertNoSecrets(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{launchToken, "tkt-secret-0c4f", url.QueryEscape("tkt-secret-0c4f")} {
		if strings.Contains(string(data), secret) {
			t.Errorf("%s contains %q", path, secret)
		}
	}
}
