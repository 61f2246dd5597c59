//go:build unix

package launcher

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/audit"
	"github.com/trustlaunch/trustlaunch/connector/proxytest"
	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/oslog"
	"github.com/trustlaunch/trustlaunch/internal/phase"
	"github.com/trustlaunch/trustlaunch/internal/testnet"
	"github.com/trustlaunch/trustlaunch/internal/testtmp"
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
	if len(os.Args) > 1 && os.Args[1] == recorderArg {
		os.Exit(runTestRecorder())
	}
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
		// Wait until the teardown kills us, or the tunnel ends (the proxy
		// died): then exit like an emulator whose host went away.
		go func() { io.Copy(io.Discard, c); os.Exit(4) }()
		time.Sleep(time.Minute)
		os.Exit(3)
	case "escape":
		os.Exit(escapingEmulator(os.Args[len(os.Args)-1]))
	case "escapee":
		time.Sleep(time.Minute) // until killed
		os.Exit(3)
	case "launch":
		// A whole launch in a process of its own, for the SIGTERM test: it
		// ends the launch on SIGTERM as trustlaunch's main does.
		os.Exit(launchProcess())
	}
}

// escapingEmulator is the "escape" role: it starts a grandchild of the
// launch in a session of its own (setsid: out of the emulator's process
// group, which the teardown kills), prints "PID PORT GRANDCHILD", and then
// exits at once (LAUNCH_TEST_ESCAPE=exit) or waits to be ended.
func escapingEmulator(port string) int {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), emulatorRoleEnv+"=escapee")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 2
	}
	fmt.Printf("%d %s %d\n", os.Getpid(), port, cmd.Process.Pid)
	if os.Getenv("LAUNCH_TEST_ESCAPE") == "exit" {
		return 0 // the grandchild is orphaned
	}
	time.Sleep(time.Minute)
	return 3
}

// launchProcess runs Launch from the settings the parent test passed in the
// environment and exits with the emulator's status.
func launchProcess() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	pem, err := os.ReadFile(os.Getenv("LAUNCH_TEST_ORIGIN_CA"))
	if err != nil {
		return 20
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	role := os.Getenv("LAUNCH_TEST_LAUNCH_ROLE")
	if role == "" {
		role = "sleep"
	}
	res := Launch(ctx, Options{
		LaunchURL: os.Getenv("LAUNCH_TEST_URL"),
		Admin:     whitelist.Source{Path: "/nonexistent-trustlaunch-test/whitelist.txt"},
		User:      whitelist.LoadUser(os.Getenv("LAUNCH_TEST_USERLIST")),
		Fetch:     descriptor.FetchOptions{RootCAs: pool, ExtraCAFile: "/nonexistent-trustlaunch-test/ca.pem"},
		Profiles:  ProfileOptions{AdminFile: "/nonexistent-trustlaunch-test/profiles.toml", UserFile: os.Getenv("LAUNCH_TEST_PROFILES")},
		Stdin:     strings.NewReader(""),
		Stdout:    os.Stdout,
		Stderr:    os.Stderr,
		Env:       append(CleanEnv(os.Environ()), emulatorRoleEnv+"="+role),
		Subreaper: os.Getenv("LAUNCH_TEST_SUBREAPER") != "",
	})
	if res.Err != nil {
		fmt.Fprintln(os.Stderr, res.Err)
		return 21
	}
	if ctx.Err() != nil {
		return 130
	}
	return res.ExitStatus
}

func fakeEmulator(port string) int {
	if os.Getenv("LAUNCH_TEST_STAMP") != "" {
		// When it started, for BenchmarkLaunchToExecInWindow.
		fmt.Printf("started=%d\n", time.Now().UnixNano())
	}
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
	fmt.Printf("greeting=%q reply=%q in-terminal=%q\n", greet, reply, os.Getenv("LAUNCH_TEST_IN_TERMINAL"))
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
	testnet.ServeEach(t, ln, hostSession)
	return ln.Addr().String()
}

// hostSession is the host's side of one connection.
func hostSession(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(c, "HELLO from host\n")
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		fmt.Fprintf(c, "%s\n", strings.ToUpper(sc.Text()))
	}
}

// world is an origin serving one descriptor, a proxy and a host.
type world struct {
	origin     *httptest.Server
	proxy      *proxytest.Proxy
	launchURL  string
	userList   string
	profiles   string
	descriptor map[string]any
	accepts    *countingListener   // connections the proxy accepted, TLS or not
	sign       func([]byte) []byte // when set, the origin serves sign(descriptor JSON) as application/jose
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
	w.accepts = &countingListener{Listener: w.proxy.Listener}
	w.proxy.Listener = w.accepts
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
		if w.sign != nil {
			body, _ := json.Marshal(w.descriptor)
			rw.Header().Set("Content-Type", "application/jose")
			rw.Write(w.sign(body))
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		json.NewEncoder(rw).Encode(w.descriptor)
	}))
	t.Cleanup(w.origin.Close)
	w.launchURL = w.origin.URL + "/sessions/1/descriptor?ticket=tkt-secret-0c4f"
	dir := testtmp.Dir(t)
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

func (w *world) options(t testing.TB, role string, stdin io.Reader, stdout io.Writer) (Options, *audit.Log) {
	alog, err := audit.New(audit.Options{Path: filepath.Join(testtmp.Dir(t), "audit.log"), OSLog: oslog.LevelOff})
	if err != nil {
		t.Fatal(err)
	}
	pool := w.origin.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	return Options{
		LaunchURL: w.launchURL,
		Admin:     whitelist.Source{Path: "/nonexistent-trustlaunch-test/whitelist.txt"},
		User:      whitelist.LoadUser(w.userList),
		Fetch:     descriptor.FetchOptions{RootCAs: pool, ExtraCAFile: "/nonexistent-trustlaunch-test/ca.pem"},
		Profiles:  ProfileOptions{AdminFile: "/nonexistent-trustlaunch-test/profiles.toml", UserFile: w.profiles},
		Audit:     alog,
		Stdin:     stdin,
		Stdout:    stdout,
		Stderr:    io.Discard,
		Env: CleanEnv(append(os.Environ(), emulatorRoleEnv+"="+role, "TRUSTLAUNCH_TOKEN="+launchToken,
			"GOOGLE_DEFAULT_CLIENT_SECRET=s3cr3t", "MY_API_TOKEN="+launchToken)),
	}, alog
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
			if got := out.String(); !strings.Contains(got, `greeting="HELLO from host\n" reply="PING\n" in-terminal=""`) || strings.Contains(got, "LEAKED") {
				t.Errorf("emulator output %q", got)
			}
			if n := len(w.proxy.Tokens()); n != 1 {
				t.Errorf("proxy saw %d tunnels, want 1 (the pre-dialed one)", n)
			}
			var steps []string
			for _, e := range events {
				switch e.State {
				case phase.Done:
					steps = append(steps, string(e.Phase))
				case phase.Failed:
					t.Errorf("event %+v", e)
				}
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
		{"unknown field", "extra", 1, descriptor.StepDecode, `unknown field "extra"`},
		{"profile with slash", "profile", "../bin/sh", descriptor.StepValidate, "profile"},
		{"profile with dotdot", "profile", "..", descriptor.StepValidate, "profile"},
		{"unknown profile", "profile", "nonesuch", StepProfile, "nonesuch"},
		{"missing token", "token", "", descriptor.StepValidate, "token"},
		{"version 2", "version", 2, descriptor.StepValidate, "version"},
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
		if res := Launch(t.Context(), opts); res.Step != descriptor.StepValidate || !strings.Contains(fmt.Sprint(res.Err), "tls_min") {
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

// TestLaunchTeardown checks that every way a session ends leaves no emulator
// process and no listener: the launch cancelled (Ctrl-C), the emulator
// killed, and the proxy killed under a running session.
func TestLaunchTeardown(t *testing.T) {
	tests := []struct {
		name string
		end  func(w *world, cancel context.CancelFunc, pid int)
		want []int // acceptable exit statuses
		rec  string
	}{
		// On cancel the tunnel closes as the signals go out, so the emulator
		// may see its host go away (exit 4) before the signal arrives.
		{"cancel", func(_ *world, cancel context.CancelFunc, _ int) { cancel() },
			[]int{128 + int(syscall.SIGHUP), 128 + int(syscall.SIGTERM), 4}, "interrupted"},
		{"emulator killed", func(_ *world, _ context.CancelFunc, pid int) { syscall.Kill(pid, syscall.SIGKILL) },
			[]int{128 + int(syscall.SIGKILL)}, "launched"},
		{"proxy killed", func(w *world, _ context.CancelFunc, _ int) { w.proxy.CloseClientConnections() },
			[]int{4}, "launched"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, "connect")
			w.set("profile", "sleeper")
			pr, pw := io.Pipe()
			opts, audit := w.options(t, "sleep", strings.NewReader(""), pw)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			done := make(chan *Result, 1)
			go func() { done <- Launch(ctx, opts) }()
			pid, port := readStarted(t, pr)

			tt.end(w, cancel, pid)
			select {
			case res := <-done:
				if !slices.Contains(tt.want, res.ExitStatus) {
					t.Errorf("exit status %d, want one of %v", res.ExitStatus, tt.want)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("Launch did not return")
			}
			pw.Close()
			assertGone(t, pid, port)
			recs, _ := audit.ReadRecent(1)
			if len(recs) != 1 || string(recs[0].Decision) != tt.rec {
				t.Errorf("audit %+v, want decision %s", recs, tt.rec)
			}
		})
	}
}

// TestLaunchSIGTERM sends a real SIGTERM to a process running a launch, as
// a desktop does at logout: the emulator and the listener must go with it.
func TestLaunchSIGTERM(t *testing.T) {
	w := newWorld(t, "connect")
	w.set("profile", "sleeper")
	caFile := filepath.Join(testtmp.Dir(t), "origin-ca.pem")
	cert := w.origin.Certificate()
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), emulatorRoleEnv+"=launch", "LAUNCH_TEST_URL="+w.launchURL,
		"LAUNCH_TEST_USERLIST="+w.userList, "LAUNCH_TEST_PROFILES="+w.profiles, "LAUNCH_TEST_ORIGIN_CA="+caFile)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid, port := readStarted(t, out)
	cmd.Process.Signal(syscall.SIGTERM)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Errorf("launch process: %v, want exit 130; stderr: %s", err, stderr.String())
	}
	assertGone(t, pid, port)
}

// readStarted reads the sleeper emulator's "PID PORT" line.
func readStarted(t *testing.T, r io.Reader) (pid, port int) {
	t.Helper()
	started := make(chan [2]int, 1)
	go func() {
		var p [2]int
		fmt.Fscan(r, &p[0], &p[1])
		started <- p
		io.Copy(io.Discard, r)
	}()
	select {
	case p := <-started:
		if p[0] == 0 {
			t.Fatal("the emulator did not report its pid")
		}
		return p[0], p[1]
	case <-time.After(15 * time.Second):
		t.Fatal("the emulator never started")
	}
	return 0, 0
}

// assertGone checks that the emulator process and the tunnel's listener are
// both gone.
func assertGone(t *testing.T, pid, port int) {
	t.Helper()
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("emulator %d still alive", pid)
	}
	if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
		c.Close()
		t.Errorf("listener on port %d still open", port)
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
