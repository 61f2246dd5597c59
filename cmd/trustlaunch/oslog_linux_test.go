//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/trustlaunch/trustlaunch/audit"
	"github.com/trustlaunch/trustlaunch/connector/proxytest"
	"github.com/trustlaunch/trustlaunch/internal/oslog"
	"github.com/trustlaunch/trustlaunch/internal/oslog/oslogtest"
	"github.com/trustlaunch/trustlaunch/internal/peers"
	"github.com/trustlaunch/trustlaunch/internal/redact/redacttest"
	"github.com/trustlaunch/trustlaunch/internal/testtmp"
)

// inMountNSCommand is the test binary run as a helper that, in the mount
// namespace of its own it was started in, puts the OS log's socket where
// trustlaunch looks for it and then becomes the command it was given
// (inMountNS).
const inMountNSCommand = "trustlaunch-in-mountns"

func init() { testCommands[inMountNSCommand] = inMountNS }

// The helper's settings, from its environment: the socket to bind at
// /run/systemd/journal/socket (journald) or at /dev/log (syslog), a
// directory of its own, and an admin policy to install as
// mountNSPolicyPath.
const (
	mountNSJournal = "TRUSTLAUNCH_TEST_NS_JOURNAL"
	mountNSSyslog  = "TRUSTLAUNCH_TEST_NS_SYSLOG"
	mountNSDir     = "TRUSTLAUNCH_TEST_NS_DIR"
	mountNSPolicy  = "TRUSTLAUNCH_TEST_NS_POLICY"
)

// mountNSPolicyPath is where the helper installs the admin policy it is
// given: in the tmpfs it mounts over /run, as an administrator's file is
// (root's, in directories only root can write), so that it passes the
// admin-file check.
const mountNSPolicyPath = "/run/trustlaunch-test/policy.toml"

// inMountNS runs in a new mount namespace (the parent set
// CLONE_NEWNS, and Go made every mount private in it): a tmpfs over /run
// hides any journald of the machine; with a journal socket, it is bound at
// journald's path; with a syslog socket, /dev is replaced by a directory
// holding the devices a program needs and the socket as /dev/log; with a
// policy, it is written at mountNSPolicyPath. Then it executes its
// arguments, which see only that log.
func inMountNS() {
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, inMountNSCommand+": "+format+"\n", args...)
		os.Exit(125)
	}
	journal, syslog, dir, pol := os.Getenv(mountNSJournal), os.Getenv(mountNSSyslog), os.Getenv(mountNSDir), os.Getenv(mountNSPolicy)
	bindFile := func(src, dst string) {
		if err := os.WriteFile(dst, nil, 0o600); err != nil {
			fail("%v", err)
		}
		if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
			fail("bind %s at %s: %v", src, dst, err)
		}
	}
	if err := unix.Mount("tmpfs", "/run", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
		fail("mount a tmpfs on /run: %v", err)
	}
	if journal != "" {
		if err := os.MkdirAll("/run/systemd/journal", 0o755); err != nil {
			fail("%v", err)
		}
		bindFile(journal, "/run/systemd/journal/socket")
	}
	if pol != "" {
		if err := os.Mkdir(filepath.Dir(mountNSPolicyPath), 0o755); err != nil {
			fail("%v", err)
		}
		if err := os.WriteFile(mountNSPolicyPath, []byte(pol), 0o644); err != nil {
			fail("%v", err)
		}
	}
	if syslog != "" {
		dev := filepath.Join(dir, "dev")
		if err := os.Mkdir(dev, 0o755); err != nil {
			fail("%v", err)
		}
		for _, n := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
			bindFile("/dev/"+n, filepath.Join(dev, n))
		}
		bindFile(syslog, filepath.Join(dev, "log"))
		if err := unix.Mount(dev, "/dev", "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			fail("bind %s at /dev: %v", dev, err)
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TRUSTLAUNCH_TEST_NS_") {
			env = append(env, kv)
		}
	}
	if len(os.Args) < 2 {
		fail("no command")
	}
	fail("exec %s: %v", os.Args[1], syscall.Exec(os.Args[1], os.Args[1:], env))
}

// osLogWorld is what the launches of TestOSLogRecords run against, with
// secrets planted where a careless portal or proxy would echo them: a
// portal that puts the link's ticket and the token into the session's
// name, a security
// proxy that refuses with the session token's base64 in its reason, and
// an outbound proxy password on the command line.
type osLogWorld struct {
	bin, caFile, userList, stdin string
	portal                       *httptest.Server
	ticket, token, password      string
}

func newOSLogWorld(t *testing.T) *osLogWorld {
	w := &osLogWorld{bin: buildShared(t), ticket: randomTicket(), token: "tl-oslog-" + randomTicket(), password: "Corp-Pr0xy/" + randomTicket()}
	proxy := proxytest.NewUnstartedConnectProxy()
	proxy.Status = 403
	proxy.StatusText = "denied " + base64.StdEncoding.EncodeToString([]byte("tok="+w.token))
	proxy.Start()
	t.Cleanup(proxy.Close)
	w.portal = httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		json.NewEncoder(rw).Encode(map[string]any{
			"version": 1, "session": "Payroll " + r.URL.Query().Get("ticket") + " " + w.token, "profile": "raw",
			"proxy":       map[string]any{"address": proxy.Addr, "transport": "connect", "server_name": "127.0.0.1", "ca_pem": string(proxy.CA.CertPEM())},
			"destination": map[string]any{"host": "mainframe.example.com", "port": 23},
			"token":       w.token,
		})
	}))
	t.Cleanup(w.portal.Close)
	dir := testtmp.Dir(t)
	w.caFile = filepath.Join(dir, "portal-ca.pem")
	if err := os.WriteFile(w.caFile, pemOf(w.portal), 0o600); err != nil {
		t.Fatal(err)
	}
	lists := filepath.Join(dir, "lists")
	if err := os.Mkdir(lists, 0o700); err != nil {
		t.Fatal(err)
	}
	w.userList = filepath.Join(lists, "whitelist.txt")
	if err := os.WriteFile(w.userList, []byte(strings.TrimPrefix(w.portal.URL, "https://")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.stdin = filepath.Join(dir, "lines.txt")
	if err := os.WriteFile(w.stdin, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return w
}

// pemOf is the PEM of the test server's certificate, which SSL_CERT_FILE
// makes the system roots of the trustlaunch under test.
func pemOf(s *httptest.Server) []byte {
	return []byte("-----BEGIN CERTIFICATE-----\n" + base64.StdEncoding.EncodeToString(s.Certificate().Raw) + "\n-----END CERTIFICATE-----\n")
}

// osLogRun is one run of trustlaunch and the outcome it must record.
type osLogRun struct {
	args  []string
	stdin bool
	// interruptAt is output after which the run gets SIGINT, its stdin
	// kept open until it ends: a user's Ctrl-C during the session.
	interruptAt string
	code        int
	outcome     audit.Outcome
	step        string
}

// runs are a launch of each outcome (audit.LaunchOutcomes) and of each
// kind of failure the records tell apart: one that ran its emulator (the
// demo's), one the whitelist refused, one nobody could answer the trust
// prompt of, one the admin policy refused, a malformed link, one whose
// security proxy refused the token, and a session ended by Ctrl-C.
func (w *osLogWorld) runs() []osLogRun {
	const noAdminList = "/nonexistent-trustlaunch-test/whitelist.txt"
	outbound := (&url.URL{Scheme: "http", User: url.UserPassword("alice", w.password), Host: "127.0.0.1:9"}).String()
	openWith := func(policy, link string) []string {
		return []string{"open", "--admin-whitelist", noAdminList, "--admin-policy", policy,
			"--user-whitelist", w.userList, "--outbound-proxy", outbound, "--", link}
	}
	open := func(link string) []string { return openWith("/nonexistent-trustlaunch-test/policy.toml", link) }
	demo := []string{"demo", "--yes", "--admin-whitelist", noAdminList}
	return []osLogRun{
		{args: demo, stdin: true, code: 0, outcome: audit.Launched, step: "launched"},
		{args: open(launchLink("http://portal.example.com/d?ticket=" + w.ticket)), code: exitRefused, outcome: audit.RefusedWhitelist, step: "not-https"},
		// The user's list names the portal's port only: another port is
		// asked about, and a browser's handler has no terminal to ask on.
		{args: open(launchLink("https://127.0.0.1:9/d?ticket=" + w.ticket)), code: exitRefused, outcome: audit.RefusedUser, step: "prompt-no"},
		{args: openWith(mountNSPolicyPath, launchLink(w.portal.URL+"/d?ticket="+w.ticket)), code: exitRefused, outcome: audit.RefusedPolicy, step: "policy"},
		{args: open("trustlaunch://launch?url=" + w.portal.URL + "/d?a=1&ticket=" + w.ticket), code: exitUsage, outcome: audit.Failed, step: "launch-url"},
		{args: open(launchLink(w.portal.URL + "/d?ticket=" + w.ticket)), code: exitFailure, outcome: audit.Failed, step: "proxy-policy"},
		{args: demo, interruptAt: "HELLO", code: exitInterrupted, outcome: audit.Interrupted, step: "launched"},
	}
}

// osLogPolicy is the admin policy of the refused-policy run: it lets a
// descriptor name no proxy.
const osLogPolicy = "proxies = []\n"

// watchWriter keeps what a run writes and closes seen once it holds want.
type watchWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.want != "" && strings.Contains(w.buf.String(), w.want) {
		close(w.seen)
		w.want = ""
	}
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// run runs r in a mount namespace whose OS log is the socket named by
// nsEnv, as a browser starts the handler: no terminal, a session of its own.
func (w *osLogWorld) run(t *testing.T, r osLogRun, dir string, nsEnv string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{w.bin}, r.args...)...)
	cmd.Args[0] = inMountNSCommand
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_STATE_HOME=" + filepath.Join(dir, "state"), "XDG_RUNTIME_DIR=" + dir, "SSL_CERT_FILE=" + w.caFile, "NO_COLOR=1",
		nsEnv, mountNSDir + "=" + testtmp.Dir(t), mountNSPolicy + "=" + osLogPolicy}
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS, Setsid: true}
	out := &watchWriter{want: r.interruptAt, seen: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = out, out
	switch {
	case r.interruptAt != "":
		// A line for the demo's host, and the input left open, so that
		// the session lasts until the interrupt.
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		defer pw.Close()
		if _, err := pw.WriteString("hello\n"); err != nil {
			t.Fatal(err)
		}
		cmd.Stdin = pr
	case r.stdin:
		f, err := os.Open(w.stdin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd.Stdin = f
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	seen := out.seen
	if r.interruptAt == "" {
		seen = nil // never ready: nothing to interrupt
	}
	for waiting := true; waiting; {
		select {
		case err = <-done:
			waiting = false
		case <-seen:
			seen = nil
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
		case <-ctx.Done():
			cmd.Process.Kill()
			t.Fatalf("%s did not end within a minute:\n%s", r.args, out.String())
		}
	}
	if r.interruptAt != "" && seen != nil {
		t.Fatalf("%s ended before its output held %q, so it was not interrupted:\n%s", r.args, r.interruptAt, out.String())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != r.code {
		t.Fatalf("trustlaunch %s exited %d, want %d:\n%s", r.args[0], code, r.code, out.String())
	}
}

// received is one entry as the OS's log received it: its fields by the
// audit record's names, the rest of what the log keeps, and its bytes.
type received struct {
	fields map[string]string
	header map[string]string
	raw    string
}

// TestOSLogRecords runs trustlaunch (the built binary) as a browser
// would, at least once for each outcome, in a mount namespace whose only OS
// log is a journald receiver written from the protocol's documentation,
// then rsyslog reading its own /dev/log with an RFC 5424 parser. Each
// entry holds every field of the audit record, with the same value, and
// the user; its priority, identifier and message ID (journald), or
// header (rsyslog), are the outcome's; and no spelling of the ticket, the
// token or the outbound proxy's password is in any of them.
func TestOSLogRecords(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("this test must run as root: it makes mount namespaces; CI runs tests as root")
		}
		t.Skip("needs root: makes a mount namespace (CI runs it)")
	}
	w := newOSLogWorld(t)
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	covered := map[audit.Outcome]bool{}
	for _, r := range w.runs() {
		covered[r.outcome] = true
	}
	for _, o := range audit.LaunchOutcomes {
		if !covered[o] {
			t.Errorf("no run ends %s: each outcome's entry must be checked", o)
		}
	}
	for _, mode := range []string{oslog.Journald, oslog.Syslog} {
		t.Run(mode, func(t *testing.T) {
			dir := testtmp.Dir(t)
			var nsEnv string
			var next func(context.Context) (received, error)
			if mode == oslog.Journald {
				j := oslogtest.ListenJournal(t, filepath.Join(dir, "journal.sock"))
				nsEnv = mountNSJournal + "=" + j.Path
				next = func(ctx context.Context) (received, error) { return journalEntry(ctx, j) }
			} else {
				r := peers.StartRsyslog(t, peers.RsyslogOptions{})
				nsEnv = mountNSSyslog + "=" + r.Socket
				next = func(ctx context.Context) (received, error) { return rsyslogEntry(ctx, r) }
			}
			runs := w.runs()
			for _, r := range runs {
				w.run(t, r, dir, nsEnv)
			}
			recs := auditLines(t, filepath.Join(dir, "state", "trustlaunch", "audit.log"))
			if len(recs) != len(runs) {
				t.Fatalf("%d audit records, want %d", len(recs), len(runs))
			}
			for i, r := range runs {
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
				got, err := next(ctx)
				cancel()
				if err != nil {
					t.Fatalf("entry %d (%s): %v", i, r.outcome, err)
				}
				rec := recs[i]
				if rec["decision"] != string(r.outcome) || rec["step"] != r.step || rec["os_log"] != mode {
					t.Errorf("record %d: decision %s, step %s, os_log %s; want %s, %s, %s", i, rec["decision"], rec["step"], rec["os_log"], r.outcome, r.step, mode)
				}
				delete(rec, "os_log") // where the entry went is not in the entry
				rec["user"] = me.Username
				for k, v := range rec {
					if got.fields[k] != v {
						t.Errorf("%s entry %d: %s = %q, want the audit record's %q", mode, i, k, got.fields[k], v)
					}
				}
				for k := range got.fields {
					if _, ok := rec[k]; !ok {
						t.Errorf("%s entry %d: %s is not in the audit record", mode, i, k)
					}
				}
				checkHeader(t, mode, i, r.outcome, rec, got.header, host)
				for _, s := range []string{w.ticket, w.token, w.password} {
					if run, ok := redacttest.Leak(got.raw, s); ok {
						t.Errorf("%s entry %d holds %q, of a planted secret: %s", mode, i, run, got.raw)
					}
				}
				if demoToken.MatchString(got.raw) {
					t.Errorf("%s entry %d holds the demo's token: %s", mode, i, got.raw)
				}
			}
			for i, r := range runs {
				rec := recs[i]
				if (rec["demo"] == "true") != (r.args[0] == "demo") {
					t.Errorf("record %d (%s): demo %q, want it marked for the demo's runs alone", i, r.outcome, rec["demo"])
				}
				if fetched := r.step == "policy" || r.step == "proxy-policy"; fetched && rec["session"] != "Payroll [redacted] [redacted]" {
					t.Errorf("record %d (%s): session %q; the portal's echo of the ticket and the token is not scrubbed", i, r.outcome, rec["session"])
				}
				if r.step == "proxy-policy" && !strings.Contains(rec["error"], "(403 Forbidden)") {
					t.Errorf("record %d (%s): error %q, want the proxy's 403", i, r.outcome, rec["error"])
				}
			}
		})
	}
}

// checkHeader checks what the log keeps besides the fields.
func checkHeader(t *testing.T, mode string, i int, o audit.Outcome, rec, h map[string]string, host string) {
	t.Helper()
	sev := strconv.Itoa(int(o.Severity()))
	want := map[string]string{"PRIORITY": sev, "SYSLOG_FACILITY": "1", "SYSLOG_IDENTIFIER": "trustlaunch", "MESSAGE_ID": o.MessageID()}
	if mode == oslog.Syslog {
		pri := strconv.Itoa(8 + int(o.Severity())) // facility user
		want = map[string]string{"pri": pri, "version": "1", "hostname": host, "app_name": "trustlaunch", "msgid": string(o)}
		if _, err := strconv.Atoi(h["procid"]); err != nil {
			t.Errorf("syslog entry %d: PROCID %q, want the pid", i, h["procid"])
		}
		at, err1 := time.Parse(time.RFC3339Nano, h["timestamp"])
		rt, err2 := time.Parse(time.RFC3339Nano, rec["time"])
		if err1 != nil || err2 != nil || !at.Equal(rt.Truncate(time.Microsecond)) {
			t.Errorf("syslog entry %d: TIMESTAMP %q, want the record's time %q to the microsecond", i, h["timestamp"], rec["time"])
		}
	}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("%s entry %d: %s = %q, want %q", mode, i, k, h[k], v)
		}
	}
	if msg := h["message"]; !strings.Contains(msg, rec["origin"]) || (rec["error"] != "" && !strings.HasSuffix(msg, rec["error"])) {
		t.Errorf("%s entry %d: message %q does not name the origin and end with the error", mode, i, msg)
	}
}

// journalEntry reads the next datagram the receiver got.
func journalEntry(ctx context.Context, j *oslogtest.Journal) (received, error) {
	d, err := j.Next(ctx)
	if err != nil {
		return received{}, err
	}
	got := received{fields: map[string]string{}, header: map[string]string{}, raw: string(d.Raw)}
	for _, f := range d.Entry {
		if name, ok := strings.CutPrefix(f.Key, "TRUSTLAUNCH_"); ok {
			if _, dup := got.fields[strings.ToLower(name)]; dup {
				return received{}, fmt.Errorf("field %s twice", f.Key)
			}
			got.fields[strings.ToLower(name)] = f.Value
			continue
		}
		got.header[f.Key] = f.Value
	}
	got.header["message"] = got.header["MESSAGE"]
	return got, nil
}

// rsyslogEntry reads the next message rsyslog wrote.
func rsyslogEntry(ctx context.Context, r *peers.Rsyslog) (received, error) {
	m, err := r.Next(ctx)
	if err != nil {
		return received{}, err
	}
	if len(m.SD) != 1 || m.SD[oslog.SDID] == nil {
		return received{}, fmt.Errorf("structured data %v, want one element %s", m.SD, oslog.SDID)
	}
	got := received{fields: m.SD[oslog.SDID], header: map[string]string{
		"pri": m.PRI, "version": m.Version, "timestamp": m.Timestamp, "hostname": m.Hostname,
		"app_name": m.AppName, "procid": m.ProcID, "msgid": m.MsgID, "message": m.Msg}}
	// rsyslog's JSON escapes "/" as "\/": the values, decoded, are checked too.
	var values []string
	for _, v := range got.fields {
		values = append(values, v)
	}
	got.raw = m.Line + "\n" + strings.Join(values, "\n") + "\n" + m.Msg
	return got, nil
}

// auditLines reads the audit log's records as the OS's log names their
// fields: every value as text, the timings as timings_us_PHASE, the empty
// ones left out.
func auditLines(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		rec := map[string]string{}
		for k, v := range m {
			switch v := v.(type) {
			case map[string]any:
				for p, us := range v {
					rec[k+"_"+p] = strconv.FormatFloat(us.(float64), 'f', -1, 64)
				}
			case string:
				if v != "" {
					rec[k] = v
				}
			case float64:
				if v != 0 || k == "exit_status" {
					rec[k] = strconv.FormatFloat(v, 'f', -1, 64)
				}
			case bool:
				rec[k] = strconv.FormatBool(v)
			}
		}
		out = append(out, rec)
	}
	return out
}
