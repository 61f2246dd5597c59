//go:build linux

package browsertest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/peers"
)

// scanRadius is how many ports on each side of the tunnel's the page tries.
const scanRadius = 32

// The emulator's two exchanges with the host: one before the page scans,
// one on the same connection after, so the session is relayed throughout.
const (
	emulatorHello = "emulator-hello\n"
	emulatorAfter = "emulator-after-scan\n"
)

// scanEmulator is the profile's emulator: it connects to the tunnel's local
// end, does an echo exchange with the host, says so on stdout (open's
// stdout, which the test reads), holds the connection until a line arrives
// on stdin (open's stdin, the test's pipe), then does a second exchange and
// exits 0.
const scanEmulator = `import socket, sys
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port), timeout=30)
def exchange(msg):
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        b = s.recv(len(msg) - len(got))
        if not b:
            sys.exit("emulator: the tunnel closed after %r" % got)
        got += b
    if got != msg:
        sys.exit("emulator: echo %r, want %r" % (got, msg))
exchange(b"` + `emulator-hello\n` + `")
print("emulator ready %d" % port, flush=True)
sys.stdin.readline()
exchange(b"` + `emulator-after-scan\n` + `")
print("emulator done", flush=True)
`

// TestChromiumPortScanDuringLaunch is the browser test of "same user is not
// enough" (docs/admin.md "Who may use a tunnel"): during a launch, a page in
// headless Chromium (the same user as trustlaunch) POSTs to (fetch) and
// WebSocket-connects every port within scanRadius of the tunnel's local end,
// while the emulator (a scripted client from a local profile, started by the
// built `trustlaunch open`) holds its tunnel open. Nothing of the page may
// get through: the proxy sees no tunnel beyond the emulator's, the host no
// byte beyond the emulator's, and the log refuses Chromium's connections as
// "not the emulator". The emulator's connection is relayed before and after
// the scan.
//
// The refusal line cannot name Chromium's process: the holder search walks
// down from the emulator and never reaches the browser (by design, it reads
// no other process). So the test ties the refusals to Chromium with
// Chromium's own net log: it must have attempted TCP connections to the
// tunnel's port (the test cannot pass because the page missed the port),
// and there are exactly as many refusals as attempts (every refused
// connection was Chromium's, and every one of Chromium's was refused).
func TestChromiumPortScanDuringLaunch(t *testing.T) {
	peers.RequireBinary(t, "chromium")
	// The system Python: a pyenv shim on root's PATH is a shell script
	// that runs more programs, a poor stand-in for an emulator.
	python, err := exec.LookPath("/usr/bin/python3")
	if err != nil {
		t.Fatalf("python3 (the scripted emulator) is missing: %v (apt-get install python3)", err)
	}
	bin := peers.BuildTrustlaunch(t)
	adoptOrphans(t)
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	root := t.TempDir()

	host := startRecordingHost(t)
	proxy := startProxy(t)
	ca := peers.NewCA(t)
	portal := startOrigin(t, ca.Issue(t, "127.0.0.1"))
	token, ticket := "tok-"+randHex(t), randHex(t)
	proxy.allow(token)
	portal.serveDescriptor("/descriptor/scan", ticket, map[string]any{
		"version": 1,
		"session": "port scan test",
		"profile": "scan-emulator",
		"proxy": map[string]any{
			"address": proxy.Addr, "transport": "connect", "server_name": "127.0.0.1",
			"ca_pem": string(proxy.CA.CertPEM()),
		},
		"destination": map[string]any{"host": "127.0.0.1", "port": port(t, host.addr)},
		"token":       token,
	})
	config := filepath.Join(root, "config")
	if err := os.MkdirAll(filepath.Join(config, "trustlaunch"), 0o700); err != nil {
		t.Fatal(err)
	}
	profile := fmt.Sprintf("[profile.scan-emulator]\ncommand = [%q, \"-c\", %q, \"{port}\"]\n", python, scanEmulator)
	for name, data := range map[string]string{"whitelist.txt": hostPort(t, portal.origin) + "\n", "profiles.toml": profile} {
		if err := os.WriteFile(filepath.Join(config, "trustlaunch", name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// The launch, as a browser starts it: no controlling terminal (its own
	// session), but stdin a pipe the emulator inherits, to release it.
	link := "trustlaunch://launch?url=" + url.QueryEscape(portal.origin+"/descriptor/scan?ticket="+ticket)
	open := exec.CommandContext(ctx, bin, "open", "--admin-whitelist", "/nonexistent-trustlaunch-test/whitelist.txt", "--", link)
	open.Env = []string{
		"HOME=" + root, "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8",
		"XDG_CONFIG_HOME=" + config, "XDG_STATE_HOME=" + filepath.Join(root, "state"),
		"SSL_CERT_FILE=" + ca.CertFile,
	}
	open.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	open.WaitDelay = 5 * time.Second
	release, err := open.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	// stdout is a pipe of our own, not StdoutPipe: the emulator holds it
	// too, and Wait must not wait for its reader.
	stdout, stdoutW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	open.Stdout = stdoutW
	var stderr lockedBuffer
	open.Stderr = &stderr
	err = open.Start()
	stdoutW.Close()
	if err != nil {
		stdout.Close()
		t.Fatal(err)
	}
	exited := make(chan struct{}) // closed once open is reaped; then waitErr is set
	var waitErr error
	go func() { waitErr = open.Wait(); close(exited) }()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	t.Cleanup(func() {
		release.Close()
		select {
		case <-exited:
		default:
			// The launch's session: open, the emulator and anything it
			// left (while open runs, its process group id is not reused).
			syscall.Kill(-open.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		stdout.Close()
	})
	var outLines []string
	nextLine := func(what string) string {
		select {
		case l, ok := <-lines:
			if ok {
				outLines = append(outLines, l)
				return l
			}
			t.Fatalf("trustlaunch open ended before %s:\n%s", what, redact(stderr.String(), token, ticket))
		case <-ctx.Done():
			t.Fatalf("no %s: %v\n%s", what, ctx.Err(), redact(stderr.String(), token, ticket))
		}
		return ""
	}
	ready := nextLine("the emulator's first exchange")
	tp, ok := strings.CutPrefix(ready, "emulator ready ")
	if !ok {
		t.Fatalf("the emulator said %q, want \"emulator ready PORT\"\n%s", ready, redact(stderr.String(), token, ticket))
	}
	tunnelPort, err := strconv.Atoi(tp)
	if err != nil {
		t.Fatal(err)
	}
	tunnelsBefore := len(proxy.Targets())
	if tunnelsBefore != 1 {
		t.Fatalf("before the scan the proxy saw %d tunnels, want the emulator's 1", tunnelsBefore)
	}
	t.Logf("emulator relayed through 127.0.0.1:%d", tunnelPort)

	// The page, on a plain HTTP server of 127.0.0.1 like any local web
	// app the user has open.
	pageURL := startScanPage(t)

	// The ports: the tunnel's neighbourhood, less the ports something else
	// listens on (this machine is shared: another program's server is no
	// business of this test, and the test's own servers would only blur
	// what the host and proxy saw). A port nothing listens on answers a
	// refusal; the tunnel's is the one the page must not get through.
	scan, skipped := scanPorts(t, tunnelPort, scanRadius)
	t.Logf("scanning %d ports %d-%d (skipping %d other listeners: %v)", len(scan), scan[0], scan[len(scan)-1], len(skipped), skipped)

	netLog := filepath.Join(root, "chromium-netlog.json")
	env := []string{"HOME=" + filepath.Join(root, "home"), "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"}
	br := startChromium(t, ctx, root, env, "--headless", "--disable-quic", "--log-net-log="+netLog)
	cdp, err := dialCDP(ctx, br.wsURL)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := cdp.newPage(ctx)
	if err != nil {
		cdp.close()
		t.Fatal(err)
	}
	if err := tab.navigate(ctx, pageURL); err != nil {
		cdp.close()
		t.Fatal(err)
	}
	var outcome struct {
		FetchMs, WSMs float64
		Results       []scanResult
	}
	if err := tab.eval(ctx, scanJS(scan), &outcome); err != nil {
		cdp.close()
		t.Fatalf("the page's scan: %v", err)
	}
	results := outcome.Results
	t.Logf("the page fetched %d ports in %.0f ms, then opened WebSockets to them in %.0f ms", len(results), outcome.FetchMs, outcome.WSMs)
	cdp.close()
	// Stop Chromium: its net log is complete once it has exited.
	br.stop()
	attempts, err := netLogAttempts(netLog, fmt.Sprintf("127.0.0.1:%d", tunnelPort))
	if err != nil {
		t.Fatalf("chromium's net log: %v", err)
	}

	tunnelsAfterScan := len(proxy.Targets())
	hostAfterScan := host.received()

	// The emulator's second exchange, on the connection it held.
	if _, err := io.WriteString(release, "go\n"); err != nil {
		t.Fatal(err)
	}
	release.Close()
	if l := nextLine("the emulator's second exchange"); l != "emulator done" {
		t.Errorf("the emulator said %q after the scan, want \"emulator done\"", l)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("trustlaunch open: %v (want exit 0, the emulator's)", waitErr)
		}
	case <-ctx.Done():
		t.Fatalf("trustlaunch open did not exit: %v", ctx.Err())
	}
	logText := stderr.String()
	t.Logf("trustlaunch open's log:\n%s", redact(logText, token, ticket))

	// Nothing of the page through: no tunnel, no byte.
	if tunnelsAfterScan != tunnelsBefore {
		t.Errorf("the proxy saw %d tunnels after the scan, %d before: the page got a tunnel", tunnelsAfterScan, tunnelsBefore)
	}
	if want := emulatorHello; hostAfterScan != want {
		t.Errorf("the host received %q by the end of the scan, want only the emulator's %q", hostAfterScan, want)
	}
	if got, want := host.received(), emulatorHello+emulatorAfter; got != want {
		t.Errorf("the host received %q in all, want only the emulator's %q", got, want)
	}
	if n := host.connections(); n != 1 {
		t.Errorf("the host saw %d connections, want the emulator's 1", n)
	}
	if n := len(proxy.Targets()); n != 1 {
		t.Errorf("the proxy saw %d tunnels in all, want the emulator's 1", n)
	}
	for _, r := range results {
		if r.Port == tunnelPort {
			t.Logf("the page at the tunnel's port: fetch %s, websocket %s", r.Fetch, r.WS)
		}
		if strings.HasPrefix(r.Fetch, "answered") || r.WS == "open" {
			t.Errorf("port %d answered the page (fetch %s, websocket %s)", r.Port, r.Fetch, r.WS)
		}
	}

	// Chromium hit the tunnel's port, and each of its connections there was
	// refused as not the emulator's.
	refused, first := refusals(logText)
	t.Logf("chromium attempted %d connections to 127.0.0.1:%d; trustlaunch refused %d", attempts, tunnelPort, refused)
	if attempts == 0 {
		t.Fatalf("chromium's net log shows no connection attempt to the tunnel's port %d: the scan missed it (or chromium wrote no net log), and the test would prove nothing", tunnelPort)
	}
	if refused != attempts {
		t.Errorf("trustlaunch refused %d local connections, chromium attempted %d to the tunnel's port: want every attempt refused and no other refusal", refused, attempts)
	}
	if !strings.Contains(first, fmt.Sprintf("opened by uid %d", os.Geteuid())) || !strings.Contains(first, "not by the emulator") {
		t.Errorf("refusal line %q: want this user's uid, refused as not the emulator", first)
	}
	for _, secret := range []string{token, ticket} {
		if strings.Contains(logText, secret) || strings.Contains(strings.Join(outLines, "\n"), secret) {
			t.Errorf("trustlaunch's output holds the token or the ticket")
		}
	}
}

// scanResult is what the page learned about one port.
type scanResult struct {
	Port  int    `json:"port"`
	Fetch string `json:"fetch"`
	WS    string `json:"ws"`
}

// scanJS returns the page's scan: a no-cors POST with fetch to every port
// (a simple request: no preflight, the body is sent), then a WebSocket
// handshake to every port that would send a message once open; 16 ports
// at a time, each bounded by 5 s inside the page. It returns the outcome
// per port and the time each half took.
func scanJS(ports []int) string {
	list, _ := json.Marshal(ports)
	return `(async (ports) => {
	const fetchOne = async (port) => {
		const ac = new AbortController();
		const timer = setTimeout(() => ac.abort(), 5000);
		try {
			const resp = await fetch("http://127.0.0.1:" + port + "/steal", {method: "POST", mode: "no-cors", cache: "no-store", body: "page-payload-" + port, signal: ac.signal});
			return "answered " + resp.type;
		} catch (e) {
			return "failed " + e.name;
		} finally {
			clearTimeout(timer);
		}
	};
	const wsOne = (port) => new Promise((resolve) => {
		let ws;
		try {
			ws = new WebSocket("ws://127.0.0.1:" + port + "/steal");
		} catch (e) {
			resolve("blocked " + e.name);
			return;
		}
		const t = setTimeout(() => { ws.close(); resolve("timeout"); }, 5000);
		ws.onopen = () => { clearTimeout(t); ws.send("page-ws-payload"); ws.close(); resolve("open"); };
		ws.onerror = () => { clearTimeout(t); resolve("failed"); };
	});
	const batches = async (f) => {
		const out = [];
		for (let i = 0; i < ports.length; i += 16) {
			out.push(...await Promise.all(ports.slice(i, i + 16).map(f)));
		}
		return out;
	};
	let t0 = performance.now();
	const fetched = await batches(fetchOne);
	const fetchMs = performance.now() - t0;
	t0 = performance.now();
	const ws = await batches(wsOne);
	const wsMs = performance.now() - t0;
	return {fetchMs, wsMs, results: fetched.map((f, i) => ({port: ports[i], fetch: f, ws: ws[i]}))};
})(` + string(list) + `)`
}

// startScanPage serves an empty page on http://127.0.0.1 and returns its URL.
func startScanPage(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/favicon.ico" {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, "<!doctype html><html><head><meta charset=utf-8><title>a local web app</title></head><body>scanning</body></html>\n")
		}),
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/"
}

// scanPorts returns the ports within radius of tunnel (inside 1024-65535),
// the tunnel's included, and, apart, the others that have a listening TCP
// socket on this machine (/proc/net/tcp and tcp6), which are left out.
func scanPorts(t *testing.T, tunnel, radius int) (scan, skipped []int) {
	t.Helper()
	listening := map[int]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(string(data)) {
			fields := strings.Fields(line)
			// sl local_address rem_address st ...: "0100007F:1F90 ... 0A".
			if len(fields) < 4 || fields[3] != "0A" {
				continue
			}
			_, hexPort, ok := strings.Cut(fields[1], ":")
			if !ok {
				continue
			}
			if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil {
				listening[int(p)] = true
			}
		}
	}
	if !listening[tunnel] {
		t.Fatalf("nothing listens on the tunnel's port %d", tunnel)
	}
	for p := max(tunnel-radius, 1024); p <= min(tunnel+radius, 65535); p++ {
		if p != tunnel && listening[p] {
			skipped = append(skipped, p)
			continue
		}
		scan = append(scan, p)
	}
	return scan, skipped
}

// netLogAttempts counts the TCP connection attempts to addr in a Chromium
// net log (--log-net-log): a JSON file whose first line holds the
// constants (the event type numbers) and then one event per line.
func netLogAttempts(path, addr string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	first, rest, ok := strings.Cut(string(data), "\n")
	if !ok {
		return 0, fmt.Errorf("%s: no events", path)
	}
	var constants struct {
		Constants struct {
			LogEventTypes map[string]int `json:"logEventTypes"`
		} `json:"constants"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSuffix(strings.TrimSpace(first), ",")+"}"), &constants); err != nil {
		return 0, fmt.Errorf("%s: constants: %w", path, err)
	}
	attempt, ok := constants.Constants.LogEventTypes["TCP_CONNECT_ATTEMPT"]
	if !ok {
		return 0, fmt.Errorf("%s: no TCP_CONNECT_ATTEMPT event type", path)
	}
	n := 0
	for line := range strings.Lines(rest) {
		line = strings.TrimSuffix(strings.TrimSpace(line), ",")
		line = strings.TrimSuffix(line, "]")
		var ev struct {
			Type   int `json:"type"`
			Phase  int `json:"phase"`
			Params struct {
				Address string `json:"address"`
			} `json:"params"`
		}
		if json.Unmarshal([]byte(line), &ev) != nil {
			continue // "events": [, polledData, the end
		}
		// Phase 1 is the beginning of the attempt, which names the address.
		if ev.Type == attempt && ev.Phase == 1 && ev.Params.Address == addr {
			n++
		}
	}
	return n, nil
}

var (
	refusalFirstRE = regexp.MustCompile(`^trustlaunch: refused local connection from \S+: (.*)$`)
	refusalCountRE = regexp.MustCompile(`^trustlaunch: refused (\d+) more local connections from `)
)

// refusals counts the local connections trustlaunch's log says it refused
// (first lines count one, aggregated lines their number) and returns the
// first refusal line.
func refusals(log string) (n int, first string) {
	for line := range strings.Lines(log) {
		line = strings.TrimRight(line, "\n")
		if refusalFirstRE.MatchString(line) {
			n++
			if first == "" {
				first = line
			}
		} else if m := refusalCountRE.FindStringSubmatch(line); m != nil {
			k, _ := strconv.Atoi(m[1])
			n += k
		}
	}
	return n, first
}

// recordingHost is the host behind the proxy: it echoes and keeps every
// byte it received, and counts connections.
type recordingHost struct {
	addr string
	mu   sync.Mutex
	got  []byte
	n    int
}

func startRecordingHost(t *testing.T) *recordingHost {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &recordingHost{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	var conns sync.Map
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Store(c, true)
			h.mu.Lock()
			h.n++
			h.mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					k, err := c.Read(buf)
					h.mu.Lock()
					h.got = append(h.got, buf[:k]...)
					h.mu.Unlock()
					if k > 0 {
						if _, err := c.Write(buf[:k]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		conns.Range(func(c, _ any) bool { c.(net.Conn).Close(); return true })
		wg.Wait()
	})
	return h
}

func (h *recordingHost) received() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return string(h.got)
}

func (h *recordingHost) connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// lockedBuffer is an io.Writer safe for a process's output and the test's
// reads at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// redact hides secrets in text for the test log.
func redact(s string, secrets ...string) string {
	for _, x := range secrets {
		s = strings.ReplaceAll(s, x, "[redacted]")
	}
	return s
}
