//go:build linux

package browsertest

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io/fs"
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
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/connector/proxytest"
	"github.com/trustlaunch/trustlaunch/internal/peers"
)

// browserTimeout bounds everything after the build: Xvfb, Chromium, the
// policy check and the three clicks take a few seconds on a normal machine.
const browserTimeout = 60 * time.Second

// auditWait bounds the wait for one click's audit record.
const auditWait = 20 * time.Second

// banner is what the host behind the proxy sends; a launch that relayed it
// records its length as bytes_down.
const banner = "trustlaunch browser test host\r\n"

// TestChromiumLaunchesTrustlaunch is the path a user's click takes, with
// nothing simulated between the page and trustlaunch's decision:
//
//	HTTPS portal page (test CA) → Chromium under Xvfb (policy
//	AutoLaunchProtocolsFromOrigins for the portal) → xdg-open →
//	trustlaunch.desktop written by "trustlaunch register" →
//	trustlaunch open -- URL → audit log
//
// Three clicks: the portal's own descriptor with the origin in the user
// whitelist (launched end to end: descriptor, CONNECT proxy with the token,
// the raw profile relaying the host's banner); the same with an
// AllowAdminListOnly admin list that lists the portal (launched); and a
// descriptor on a second server that only the user list names (refused,
// step admin-only-refused, and that server never asked for anything).
func TestChromiumLaunchesTrustlaunch(t *testing.T) {
	requireRoot(t)
	peers.RequireBinary(t, "chromium")
	peers.RequireBinary(t, "Xvfb")
	peers.RequireBinary(t, "xdg-open")
	peers.RequireBinary(t, "xdg-mime")
	removeStaleFiles(t)
	switch _, err := os.Lstat(adminList); {
	case err == nil:
		t.Fatalf("%s exists: the browser test needs a machine without a trustlaunch admin list, since the browser "+
			"runs trustlaunch open with that fixed path and the test must install its own; it leaves a real one alone", adminList)
	case !errors.Is(err, fs.ErrNotExist):
		t.Fatalf("check %s: %v", adminList, err)
	}
	bin := peers.BuildTrustlaunch(t)
	adoptOrphans(t)

	ctx, cancel := context.WithTimeout(t.Context(), browserTimeout)
	defer cancel()
	start := time.Now()

	// The user's world: a fresh home with the XDG directories that
	// register, xdg-open and trustlaunch all read, handed to Chromium, whose
	// children (xdg-open, then trustlaunch) inherit it.
	root := t.TempDir()
	home := filepath.Join(root, "home")
	xdg := map[string]string{
		"XDG_DATA_HOME":   filepath.Join(home, ".local", "share"),
		"XDG_CONFIG_HOME": filepath.Join(home, ".config"),
		"XDG_STATE_HOME":  filepath.Join(home, ".local", "state"),
		"XDG_CACHE_HOME":  filepath.Join(home, ".cache"),
		"XDG_RUNTIME_DIR": filepath.Join(root, "run"),
	}
	for _, d := range xdg {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	auditPath := filepath.Join(xdg["XDG_STATE_HOME"], "trustlaunch", "audit.log")

	// Stand-ins that record: notify-send (how trustlaunch tells a user who
	// has no terminal that a launch was refused) and $TERMINAL (how it
	// would open a prompt window). No click here may prompt, so the
	// terminal must never run; it exits 1 if it does.
	fake := newFakeBin(t, filepath.Join(root, "fakebin"))

	// The origins. The portal serves the page and the descriptors; "other"
	// is a second HTTPS server that only the user list names.
	ca := peers.NewCA(t)
	leaf := ca.Issue(t, "127.0.0.1")
	host := peers.StartBanner(t, []byte(banner))
	proxy := startProxy(t)
	portal := startOrigin(t, leaf)
	other := startOrigin(t, leaf)

	cases := []launchCase{
		{name: "user-listed", server: portal, wantDecision: "launched", wantStep: "launched", wantWhitelist: "user-listed"},
		{name: "admin-listed", server: portal, adminList: true, wantDecision: "launched", wantStep: "launched", wantWhitelist: "admin-listed"},
		{name: "admin-only-refused", server: other, adminList: true, wantDecision: "refused-whitelist", wantStep: "admin-only-refused"},
	}
	for i := range cases {
		c := &cases[i]
		c.ticket = randHex(t)
		c.token = "tok-" + randHex(t)
		c.path = "/descriptor/" + c.name
		c.descriptorURL = c.server.origin + c.path + "?ticket=" + c.ticket
		c.server.serveDescriptor(c.path, c.ticket, map[string]any{
			"version": 1,
			"session": "browser test (" + c.name + ")",
			"profile": "raw",
			"proxy": map[string]any{
				"address":     proxy.Addr,
				"transport":   "connect",
				"server_name": "127.0.0.1",
				"ca_pem":      string(proxy.CA.CertPEM()),
			},
			"destination": map[string]any{"host": "127.0.0.1", "port": port(t, host.Addr)},
			"token":       c.token,
		})
		proxy.allow(c.token)
	}
	portal.servePage(cases)

	// The user whitelist admits both servers: the admin-only case must be
	// refused although the user said yes to that server.
	userList := filepath.Join(xdg["XDG_CONFIG_HOME"], "trustlaunch", "whitelist.txt")
	if err := os.MkdirAll(filepath.Dir(userList), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(userList, []byte(hostPort(t, portal.origin)+"\n"+hostPort(t, other.origin)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	xvfb := startXvfb(t, ctx, root)
	env := []string{
		"HOME=" + home,
		"PATH=" + fake.dir + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"DISPLAY=" + xvfb,
		"LANG=C.UTF-8",
		// Never a real terminal window: the recorder comes first.
		"TERMINAL=" + fake.terminal,
		// Go's root pool on Linux honours SSL_CERT_FILE, so trustlaunch
		// trusts the test CA the way it trusts a public one. Chromium
		// ignores the variable (it has its own verifier) and passes it on
		// to the handler with the rest of its environment.
		"SSL_CERT_FILE=" + ca.CertFile,
	}
	for k, v := range xdg {
		env = append(env, k+"="+v)
	}

	// trustlaunch register, user scope, exactly as a user runs it.
	register(t, ctx, bin, env)

	// Chromium's managed policy: auto-launch trustlaunch:// from the portal
	// page without the "Open trustlaunch?" dialog, which nothing here
	// would answer.
	policyFile := writeManagedPolicy(t, map[string]any{
		"AutoLaunchProtocolsFromOrigins": []map[string]any{
			{"protocol": "trustlaunch", "allowed_origins": []string{portal.origin}},
		},
	})
	t.Logf("managed policy: %s", policyFile)

	if v, err := chromiumVersion(ctx, env); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("%s", v)
	}
	// The test CA: Chromium's standard switch for a test server trusts a
	// certificate by the SHA-256 of its public key (it takes effect only
	// together with --user-data-dir). The pin is "sha256/" + base64.
	spki := strings.TrimPrefix(leaf.Pin, "sha256/")
	br := startChromium(t, ctx, root, env, "--ignore-certificate-errors-spki-list="+spki)
	cdp, err := dialCDP(ctx, br.wsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer cdp.close()

	var version struct {
		Product   string `json:"product"`
		UserAgent string `json:"userAgent"`
	}
	if err := cdp.call(ctx, "", "Browser.getVersion", nil, &version); err != nil {
		t.Fatal(err)
	}
	t.Logf("DevTools: %s (%s)", version.Product, version.UserAgent)
	checkVersion(t, version.Product)

	tab, err := cdp.newPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkPolicy(t, ctx, tab, portal.origin)

	if err := tab.navigate(ctx, portal.origin+"/"); err != nil {
		t.Fatalf("portal page: %v (is the test CA trusted? --ignore-certificate-errors-spki-list=%s)", err, spki)
	}
	var pageState struct {
		Title  string `json:"title"`
		Secure bool   `json:"secure"`
		Href   string `json:"href"`
	}
	if err := tab.eval(ctx, `({title: document.title, secure: window.isSecureContext, href: location.href})`, &pageState); err != nil {
		t.Fatal(err)
	}
	if pageState.Title != pageTitle || !pageState.Secure {
		t.Fatalf("the portal page did not load as a secure page (a certificate interstitial?): %+v", pageState)
	}
	t.Logf("portal page loaded: %s (secure context) after %v", pageState.Href, time.Since(start).Round(time.Millisecond))

	seen := 0 // audit records consumed
	for _, c := range cases {
		if c.adminList && !fileExists(adminList) {
			// Admit the portal only: the other server is in the user list
			// and must still be refused.
			installAdminList(t, "AllowAdminListOnly", hostPort(t, portal.origin))
			t.Logf("installed %s (AllowAdminListOnly, %s)", adminList, hostPort(t, portal.origin))
		}
		clicked := time.Now()
		clickLink(t, ctx, tab, c.name)
		rec := waitAudit(t, ctx, br, cdp, auditPath, seen, c.server.origin+c.path)
		seen++
		t.Logf("%s: audit record after %v: %s", c.name, time.Since(clicked).Round(time.Millisecond), rec.raw)

		if want := cmp.Or(c.wantWhitelist, c.wantStep); rec.Whitelist != want {
			t.Errorf("%s: audit whitelist step %q, want %q", c.name, rec.Whitelist, want)
		}
		if rec.Decision != c.wantDecision || rec.Step != c.wantStep {
			t.Errorf("%s: audit decision %q at step %q, want %q at %q (error: %s)", c.name, rec.Decision, rec.Step, c.wantDecision, c.wantStep, rec.Error)
		}
		if rec.Origin != c.server.origin {
			t.Errorf("%s: audit origin %q, want %q", c.name, rec.Origin, c.server.origin)
		}
		for _, secret := range []string{c.ticket, c.token} {
			if strings.Contains(rec.raw, secret) {
				t.Errorf("%s: the audit record holds the ticket or the token", c.name)
			}
		}
		if c.wantDecision == "launched" {
			checkLaunched(t, ctx, c, rec, host, proxy, br)
		} else {
			checkRefused(t, ctx, c, rec, fake)
		}
	}
	if n := fake.terminalRuns(); n != 0 {
		t.Errorf("trustlaunch tried to open a terminal window %d times; no click here should prompt", n)
	}
	out := handlerOutput(br)
	t.Logf("trustlaunch's output through Chromium's stdout and stderr:\n%s", out)
	for _, c := range cases {
		if strings.Contains(out, c.ticket) || strings.Contains(out, c.token) {
			t.Errorf("%s: trustlaunch's output holds the ticket or the token", c.name)
		}
	}
	t.Logf("browser part took %v", time.Since(start).Round(time.Millisecond))
}

// launchCase is one click.
type launchCase struct {
	name          string
	server        *origin
	adminList     bool // install the AllowAdminListOnly admin list first
	wantDecision  string
	wantStep      string
	wantWhitelist string // the decision step trustlaunch prints for a launch

	ticket, token, path, descriptorURL string
}

// link is the trustlaunch:// URL of the case, as a portal writes it.
func (c *launchCase) link() string {
	return "trustlaunch://launch?url=" + url.QueryEscape(c.descriptorURL)
}

// checkLaunched asserts that a launch went the whole way: the server got
// the descriptor request with the ticket, the proxy the token, and the host's
// banner came back through the tunnel to the raw profile.
func checkLaunched(t *testing.T, ctx context.Context, c launchCase, rec auditRecord, host *peers.Destination, proxy *tokenProxy, br *chromium) {
	t.Helper()
	select {
	case <-c.server.hit(c.path):
		if ua := c.server.userAgent(c.path); !strings.HasPrefix(ua, "trustlaunch/") {
			t.Errorf("%s: the descriptor was fetched with User-Agent %q, want trustlaunch/...", c.name, ua)
		}
	default:
		t.Errorf("%s: the audit log says launched, but %s never served %s", c.name, c.server.origin, c.path)
	}
	if !proxy.saw(c.token) {
		t.Errorf("%s: the proxy never received the descriptor's token", c.name)
	}
	if rec.BytesDown != int64(len(banner)) {
		t.Errorf("%s: audit bytes_down = %d, want %d (the host's banner through the tunnel)", c.name, rec.BytesDown, len(banner))
	}
	if rec.ExitStatus == nil || *rec.ExitStatus != 0 {
		t.Errorf("%s: audit exit_status = %v, want 0", c.name, rec.ExitStatus)
	}
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if res, err := host.Next(hctx); err != nil {
		t.Errorf("%s: the host saw no connection: %v", c.name, err)
	} else if res.Err != nil || res.Sent != int64(len(banner)) {
		t.Errorf("%s: the host sent %d bytes of its %d-byte banner (error: %v)", c.name, res.Sent, len(banner), res.Err)
	}
	// The audit record does not say which list admitted the origin;
	// trustlaunch's status line does, on the stderr it inherited from
	// Chromium.
	want := fmt.Sprintf("trustlaunch: [ok] whitelist: %s (%s)", c.server.origin, c.wantWhitelist)
	if !strings.Contains(br.output(), want) {
		t.Errorf("%s: trustlaunch's output (through Chromium's stderr) lacks %q", c.name, want)
	}
}

// checkRefused asserts that a refused origin was never asked for its
// descriptor and that the user was told through notify-send.
func checkRefused(t *testing.T, ctx context.Context, c launchCase, rec auditRecord, fake *fakeBin) {
	t.Helper()
	if n := c.server.requests(); n != 0 {
		t.Errorf("%s: the refused server got %d requests; trustlaunch must not fetch anything from it", c.name, n)
	}
	wantMsg := "You are not allowed to launch software downloaded from " + strings.TrimPrefix(c.server.origin, "https://")
	if !strings.Contains(rec.Error, "You are not allowed to launch software") {
		t.Errorf("%s: audit error %q lacks the admin-only message", c.name, rec.Error)
	}
	// trustlaunch notifies after it wrote the audit record.
	args, env := fake.waitNotify(t, ctx, 10*time.Second)
	t.Logf("%s: notify-send %q", c.name, args)
	if !strings.Contains(strings.Join(args, " "), wantMsg) {
		t.Errorf("%s: notify-send got %q, want the message %q", c.name, args, wantMsg)
	}
	t.Logf("the handler's environment, as notify-send got it from trustlaunch:\n%s", redactEnv(env))
}

// clickLink clicks the case's link with a real mouse gesture.
func clickLink(t *testing.T, ctx context.Context, tab *page, id string) {
	t.Helper()
	var pt struct{ X, Y float64 }
	expr := fmt.Sprintf(`(() => {
		const a = document.getElementById(%q);
		a.scrollIntoView({block: "center"});
		const r = a.getBoundingClientRect();
		return {X: r.left + r.width / 2, Y: r.top + r.height / 2};
	})()`, id)
	if err := tab.eval(ctx, expr, &pt); err != nil {
		t.Fatalf("find link %s: %v", id, err)
	}
	if err := tab.click(ctx, pt.X, pt.Y); err != nil {
		t.Fatalf("click link %s: %v", id, err)
	}
}

// checkVersion fails on a Chromium older than the policy the test relies
// on (AutoLaunchProtocolsFromOrigins arrived in Chrome 85).
func checkVersion(t *testing.T, product string) {
	t.Helper()
	m := regexp.MustCompile(`^(?:Headless)?Chrome/(\d+)\.`).FindStringSubmatch(product)
	if m == nil {
		t.Fatalf("unexpected browser product %q", product)
	}
	if major, _ := strconv.Atoi(m[1]); major < 85 {
		t.Fatalf("Chromium %s is too old: AutoLaunchProtocolsFromOrigins needs 85 or later", m[1])
	}
}

// checkPolicy reads chrome://policy and fails unless
// AutoLaunchProtocolsFromOrigins is there, mandatory, from the platform
// (the managed directory), with no error, and names the portal's origin.
// Without it Chromium would show its own dialog and the clicks would time
// out with no clue why.
func checkPolicy(t *testing.T, ctx context.Context, tab *page, portal string) {
	t.Helper()
	if err := tab.navigate(ctx, "chrome://policy"); err != nil {
		t.Fatal(err)
	}
	var row policyRow
	if err := tab.eval(ctx, policyRowJS, &row); err != nil {
		t.Fatalf("chrome://policy: %v", err)
	}
	t.Logf("chrome://policy: %s", row)
	if !row.Found || strings.Contains(row.Text, "Not set") {
		t.Fatalf("chrome://policy does not show AutoLaunchProtocolsFromOrigins as set: Chromium did not read the policy file in %s "+
			"(Debian's chromium reads /etc/chromium/policies/managed/*.json), so it would ask before every launch and the clicks would time out\npage text: %s",
			chromiumManagedPolicyDir, row.Text)
	}
	// The row reads: name, value (JSON, keys sorted), source, scope,
	// level, status.
	text := strings.ToLower(row.Text)
	for _, want := range []string{"platform", "machine", "mandatory", " ok"} {
		if !strings.Contains(text, want) {
			t.Errorf("chrome://policy: the AutoLaunchProtocolsFromOrigins row lacks %q: %s", want, row.Text)
		}
	}
	for _, bad := range []string{"error", "warning", "ignored", "invalid", "deprecated"} {
		if strings.Contains(text, bad) {
			t.Errorf("chrome://policy: the AutoLaunchProtocolsFromOrigins row says %q: %s", bad, row.Text)
		}
	}
	var value []struct {
		Protocol       string   `json:"protocol"`
		AllowedOrigins []string `json:"allowed_origins"`
	}
	raw := regexp.MustCompile(`\[\{.*\}\]`).FindString(row.Text)
	if err := json.Unmarshal([]byte(raw), &value); err != nil {
		t.Fatalf("chrome://policy: cannot read the value of AutoLaunchProtocolsFromOrigins (%v): %s", err, row.Text)
	}
	if len(value) != 1 || value[0].Protocol != "trustlaunch" || len(value[0].AllowedOrigins) != 1 || value[0].AllowedOrigins[0] != portal {
		t.Errorf("chrome://policy: AutoLaunchProtocolsFromOrigins is %s, want trustlaunch from exactly %s", raw, portal)
	}
	if t.Failed() {
		t.FailNow()
	}
}

// policyRow is what policyRowJS returns.
type policyRow struct {
	Found bool   `json:"found"`
	Text  string `json:"text"`
}

func (r policyRow) String() string { return fmt.Sprintf("found=%v %q", r.Found, r.Text) }

// policyRowJS waits (up to 5 s, inside the page) for chrome://policy to
// show AutoLaunchProtocolsFromOrigins with a value and returns the text of
// its row. With any policy set, the page also lists unset policies ("Not
// set."), so a row alone proves nothing. The walk enters shadow roots in
// case the page's custom elements use them.
const policyRowJS = `new Promise(resolve => {
	const deadline = Date.now() + 5000;
	const name = "AutoLaunchProtocolsFromOrigins";
	const text = node => {
		let s = "";
		const walk = n => {
			if (n.nodeType === Node.TEXT_NODE) { s += n.textContent + " "; return; }
			if (n.shadowRoot) walk(n.shadowRoot);
			for (const c of n.childNodes) walk(c);
		};
		walk(node);
		return s.replace(/\s+/g, " ").trim();
	};
	const find = root => {
		for (const el of root.querySelectorAll("*")) {
			if (el.shadowRoot) {
				const r = find(el.shadowRoot);
				if (r) return r;
			}
			if (el.matches("policy-row, .policy-row, tr, .policy.row") && text(el).includes(name)) return el;
		}
		return null;
	};
	const check = () => {
		const row = find(document);
		const t = row ? text(row) : "";
		if (row && !t.includes("Not set")) { resolve({found: true, text: t}); return; }
		if (Date.now() > deadline) { resolve({found: !!row, text: row ? t : text(document.body).slice(0, 4000)}); return; }
		setTimeout(check, 100);
	};
	check();
})`

// auditRecord is one line of the audit log, decoded from the file's own
// JSON (the contract: decision, step, origin, descriptor_url, ...).
type auditRecord struct {
	Origin        string `json:"origin"`
	Decision      string `json:"decision"`
	Step          string `json:"step"`
	Whitelist     string `json:"whitelist"`
	DescriptorURL string `json:"descriptor_url"`
	Session       string `json:"session"`
	Proxy         string `json:"proxy"`
	BytesDown     int64  `json:"bytes_down"`
	ExitStatus    *int   `json:"exit_status"`
	Error         string `json:"error"`

	raw string
}

// waitAudit waits for record number seen+1 (0-based index seen) of the
// audit log and checks that it is for descriptorURL (without its query,
// which trustlaunch never writes). trustlaunch, started by Chromium, writes
// the file, so a short ticker bounded by auditWait and ctx watches it; the
// browser exiting ends the wait at once. Without cdp (Firefox, whose page
// clicks its link on load) the wait starts with the browser, so it also
// holds a cold start, which on a loaded 2-CPU machine took 19 s of
// auditWait's 20: browserTimeout bounds it instead.
func waitAudit(t *testing.T, ctx context.Context, br *chromium, cdp *cdp, path string, seen int, descriptorURL string) auditRecord {
	t.Helper()
	wait := auditWait
	if cdp == nil {
		wait = browserTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		if lines := readLines(t, path); len(lines) > seen {
			var rec auditRecord
			if err := json.Unmarshal([]byte(lines[seen]), &rec); err != nil {
				t.Fatalf("audit log line %d: %v: %s", seen+1, err, lines[seen])
			}
			rec.raw = lines[seen]
			if rec.DescriptorURL != descriptorURL {
				t.Fatalf("audit log line %d is for %q, want %q: %s", seen+1, rec.DescriptorURL, descriptorURL, rec.raw)
			}
			if len(lines) > seen+1 {
				t.Fatalf("one click wrote %d audit records:\n%s", len(lines)-seen, strings.Join(lines[seen:], "\n"))
			}
			return rec
		}
		select {
		case <-tick.C:
		case <-br.exited:
			t.Fatalf("chromium exited (%s) before trustlaunch wrote an audit record for %s", br.status(), descriptorURL)
		case <-ctx.Done():
			t.Fatalf("no audit record for %s after the click (%v): trustlaunch did not run, or did not finish. "+
				"Check the policy (chrome://policy above), the registration (xdg-mime query default x-scheme-handler/trustlaunch), "+
				"the page's log and trustlaunch's output below, and Chromium's output (at the end) for xdg-open errors.\n"+
				"page log:\n%s\ntrustlaunch and xdg-open lines of Chromium's output:\n%s",
				descriptorURL, ctx.Err(), strings.Join(cdp.pageLog(), "\n"), handlerOutput(br))
		}
	}
}

// readLines returns the complete (newline-terminated) lines of path; a
// missing file has none.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break // a record being written
		}
		lines = append(lines, string(data[:i]))
		data = data[i+1:]
	}
	return lines
}

// handlerOutput returns trustlaunch's and xdg-open's lines from Chromium's
// output: the handler inherits Chromium's stdout and stderr (the raw
// profile prints the host's banner on that stdout).
func handlerOutput(br *chromium) string {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(br.output()))
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "trustlaunch:") || line == strings.TrimSpace(banner) || strings.Contains(line, "xdg-open") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// register runs "trustlaunch register" in the user's environment and checks
// the result with "register --check" and xdg-mime.
func register(t *testing.T, ctx context.Context, bin string, env []string) {
	t.Helper()
	run := func(name string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env = env
		cmd.WaitDelay = time.Second
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(bin, "register"); err != nil {
		t.Fatalf("trustlaunch register: %v\n%s", err, out)
	}
	out, err := run(bin, "register", "--check")
	t.Logf("trustlaunch register --check:\n%s", out)
	if err != nil {
		t.Fatalf("trustlaunch register --check: %v", err)
	}
	got, err := run("xdg-mime", "query", "default", "x-scheme-handler/trustlaunch")
	if err != nil || strings.TrimSpace(got) != "trustlaunch.desktop" {
		t.Fatalf("xdg-mime query default x-scheme-handler/trustlaunch = %q (%v), want trustlaunch.desktop", got, err)
	}
}

// pageTitle is the portal page's title, checked to tell the page from a
// certificate interstitial.
const pageTitle = "trustlaunch browser test portal"

// origin is an HTTPS server on 127.0.0.1 with the test CA's certificate.
type origin struct {
	origin string // https://127.0.0.1:PORT

	mu       sync.Mutex
	page     []byte
	desc     map[string][]byte // path → descriptor JSON
	tickets  map[string]string // path → ticket
	hits     map[string]chan struct{}
	agents   map[string]string // path → User-Agent of the descriptor request
	nRequest int
}

func startOrigin(t *testing.T, cert *peers.ServerCert) *origin {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &origin{
		origin:  "https://" + ln.Addr().String(),
		desc:    map[string][]byte{},
		tickets: map[string]string{},
		hits:    map[string]chan struct{}{},
		agents:  map[string]string{},
	}
	srv := &http.Server{
		Handler:           o,
		ReadHeaderTimeout: 5 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert.TLS}, MinVersion: tls.VersionTLS12},
	}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return o
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.nRequest++
	switch {
	case r.URL.Path == "/" && o.page != nil:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(o.page)
	case r.URL.Path == "/favicon.ico":
		w.WriteHeader(http.StatusNoContent) // keeps the page's log quiet
	case o.desc[r.URL.Path] != nil:
		if r.Method != http.MethodGet || r.URL.Query().Get("ticket") != o.tickets[r.URL.Path] {
			http.Error(w, "no such ticket", http.StatusForbidden)
			return
		}
		select {
		case <-o.hits[r.URL.Path]:
		default:
			o.agents[r.URL.Path] = r.UserAgent()
			close(o.hits[r.URL.Path])
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(o.desc[r.URL.Path])
	default:
		http.NotFound(w, r)
	}
}

// serveDescriptor serves desc at path to a GET with ?ticket=ticket.
func (o *origin) serveDescriptor(path, ticket string, desc map[string]any) {
	data, err := json.Marshal(desc)
	if err != nil {
		panic(err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.desc[path], o.tickets[path], o.hits[path] = data, ticket, make(chan struct{})
}

// hit returns a channel closed once the descriptor at path was served.
func (o *origin) hit(path string) <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.hits[path]
}

// userAgent returns the User-Agent of the request that got the descriptor
// at path.
func (o *origin) userAgent(path string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.agents[path]
}

// requests counts every request the server got.
func (o *origin) requests() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.nRequest
}

// servePage serves the portal page with one large link per case, so a
// click at its centre cannot miss.
func (o *origin) servePage(cases []launchCase) {
	var b strings.Builder
	b.WriteString("<!doctype html><html><head><meta charset=utf-8><title>" + pageTitle + "</title>" +
		"<style>a{display:block;margin:24px;padding:24px;font-size:24px;border:1px solid}</style></head><body>\n")
	for _, c := range cases {
		fmt.Fprintf(&b, "<a id=%q href=\"%s\">Launch session (%s)</a>\n", c.name, html.EscapeString(c.link()), html.EscapeString(c.name))
	}
	b.WriteString("</body></html>\n")
	o.mu.Lock()
	o.page = []byte(b.String())
	o.mu.Unlock()
}

// tokenProxy is a CONNECT proxy that accepts only the tokens it was told.
type tokenProxy struct {
	*proxytest.Proxy
	mu     sync.Mutex
	tokens map[string]bool
}

func startProxy(t *testing.T) *tokenProxy {
	t.Helper()
	p := &tokenProxy{Proxy: proxytest.NewUnstartedConnectProxy(), tokens: map[string]bool{}}
	p.CheckToken = func(tok string) bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.tokens[tok]
	}
	p.Start()
	t.Cleanup(p.Close)
	return p
}

func (p *tokenProxy) allow(tok string) {
	p.mu.Lock()
	p.tokens[tok] = true
	p.mu.Unlock()
}

func (p *tokenProxy) saw(tok string) bool {
	for _, got := range p.Tokens() {
		if got == tok {
			return true
		}
	}
	return false
}

// fakeBin is a directory of recording stand-ins placed first on PATH.
type fakeBin struct {
	dir, terminal, notifyDir string
}

func newFakeBin(t *testing.T, dir string) *fakeBin {
	t.Helper()
	f := &fakeBin{dir: dir, terminal: filepath.Join(dir, "fake-terminal"), notifyDir: filepath.Join(dir, "notify")}
	for _, d := range []string{dir, f.notifyDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Each call writes its arguments (one per line) and environment to
	// temp files and renames them, so a reader never sees half a record.
	notify := fmt.Sprintf(`#!/bin/sh
d=%s
printf '%%s\n' "$@" > "$d/.args.$$"
env | sort > "$d/env.$$"
mv "$d/.args.$$" "$d/args.$$"
`, shellQuote(f.notifyDir))
	// One line per run: the arguments, space-separated.
	terminal := fmt.Sprintf("#!/bin/sh\necho \"$*\" >> %s\nexit 1\n", shellQuote(filepath.Join(dir, "terminal-runs")))
	for name, script := range map[string]string{"notify-send": notify, "fake-terminal": terminal} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// waitNotify waits for the first notify-send call and returns its
// arguments and environment. notify-send is run by trustlaunch, another
// process, so a ticker bounded by timeout watches the directory.
func (f *fakeBin) waitNotify(t *testing.T, ctx context.Context, timeout time.Duration) (args []string, env string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		matches, _ := filepath.Glob(filepath.Join(f.notifyDir, "args.*"))
		if len(matches) > 0 {
			a, err := os.ReadFile(matches[0])
			if err != nil {
				t.Fatal(err)
			}
			e, _ := os.ReadFile(filepath.Join(f.notifyDir, "env."+strings.TrimPrefix(filepath.Ext(matches[0]), ".")))
			return strings.Split(strings.TrimSuffix(string(a), "\n"), "\n"), string(e)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("trustlaunch refused the launch but never ran notify-send, so a user without a terminal would not learn why (%v)", ctx.Err())
		}
	}
}

// terminalRuns counts the times the $TERMINAL stand-in ran.
func (f *fakeBin) terminalRuns() int {
	data, err := os.ReadFile(filepath.Join(f.dir, "terminal-runs"))
	if err != nil {
		return 0
	}
	return strings.Count(string(data), "\n")
}

// redactEnv hides the values of variables that look like credentials
// (Debian's chromium wrapper exports its Google API keys, and the handler
// inherits them).
func redactEnv(env string) string {
	var b strings.Builder
	for line := range strings.Lines(env) {
		name, _, _ := strings.Cut(line, "=")
		if u := strings.ToUpper(name); strings.Contains(u, "KEY") || strings.Contains(u, "SECRET") || strings.Contains(u, "TOKEN") || strings.Contains(u, "CLIENT_ID") {
			line = name + "=[redacted]\n"
		}
		b.WriteString(line)
	}
	return b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func randHex(t *testing.T) string {
	t.Helper()
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// hostPort returns the HOST:PORT of an https origin, as a whitelist entry.
func hostPort(t *testing.T, origin string) string {
	t.Helper()
	u, err := url.Parse(origin)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func port(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
