//go:build linux

package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/peers"
	"github.com/trustlaunch/trustlaunch/launcher"
)

// firefoxPolicyFile is where Debian's firefox-esr reads enterprise
// policies. Firefox on Linux looks first in the system configuration
// directory, SysConfD + "/policies/policies.json" (EnterprisePoliciesParent,
// MOZ_SYSTEM_POLICIES), which on Debian's ESR 153 is /etc/firefox, not
// /etc/firefox-esr (tried: a policy there is ignored); only without that
// file does it read distribution/policies.json of the installation
// (/usr/lib/firefox-esr/distribution, a link into /usr/share, which
// package upgrades own). The test proves the location: without the policy
// nothing launches and the page's certificate is not trusted.
const firefoxPolicyFile = "/etc/firefox/policies/policies.json"

// firefoxMarker is the member of the policy file that marks it as this
// test's, with the pid of the test process (Firefox reads only the
// "policies" member). A machine's own policy file is moved aside to
// firefoxPolicyFile + firefoxBackupSuffix and put back afterwards.
const (
	firefoxMarker       = "trustlaunch_browsertest_pid"
	firefoxBackupSuffix = ".trustlaunch-browsertest-backup"
)

// world is the user's side of a browser test: a fresh home with the XDG
// directories that register, xdg-open and trustlaunch read, the recording
// stand-ins, the test CA and its certificate for 127.0.0.1 and 127.0.0.2, the built
// trustlaunch, and (after start) Xvfb, the environment and the
// registration.
type world struct {
	bin, root, home string
	xdg             map[string]string
	auditPath       string
	fake            *fakeBin
	ca              *peers.CA
	leaf            *peers.ServerCert
	env             []string
}

// newWorld checks what every browser test needs and builds the world.
func newWorld(t *testing.T) *world {
	t.Helper()
	requireRoot(t)
	peers.RequireBinary(t, "Xvfb")
	peers.RequireBinary(t, "xdg-open")
	peers.RequireBinary(t, "xdg-mime")
	removeStaleFiles(t)
	if fileExists(adminList) {
		t.Fatalf("%s exists: the browser test needs a machine without a trustlaunch admin list", adminList)
	}
	w := &world{bin: peers.BuildTrustlaunch(t), root: t.TempDir()}
	adoptOrphans(t)
	w.home = filepath.Join(w.root, "home")
	w.xdg = map[string]string{
		"XDG_DATA_HOME":   filepath.Join(w.home, ".local", "share"),
		"XDG_CONFIG_HOME": filepath.Join(w.home, ".config"),
		"XDG_STATE_HOME":  filepath.Join(w.home, ".local", "state"),
		"XDG_CACHE_HOME":  filepath.Join(w.home, ".cache"),
		"XDG_RUNTIME_DIR": filepath.Join(w.root, "run"),
	}
	for _, d := range w.xdg {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	w.auditPath = filepath.Join(w.xdg["XDG_STATE_HOME"], "trustlaunch", "audit.log")
	w.fake = newFakeBin(t, filepath.Join(w.root, "fakebin"))
	w.ca = peers.NewCA(t)
	w.leaf = w.ca.Issue(t, "127.0.0.1", "127.0.0.2") // the detection test's second host
	return w
}

// writeUserList writes the user whitelist with entries.
func (w *world) writeUserList(t *testing.T, entries ...string) {
	t.Helper()
	p := filepath.Join(w.xdg["XDG_CONFIG_HOME"], "trustlaunch", "whitelist.txt")
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(strings.Join(entries, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// start runs Xvfb, builds the browser's environment (which trustlaunch
// inherits) and registers trustlaunch as the user does.
func (w *world) start(t *testing.T, ctx context.Context) {
	t.Helper()
	display := startXvfb(t, ctx, w.root)
	w.env = []string{
		"HOME=" + w.home,
		"PATH=" + w.fake.dir + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"DISPLAY=" + display,
		"LANG=C.UTF-8",
		"TERMINAL=" + w.fake.terminal,
		"SSL_CERT_FILE=" + w.ca.CertFile, // Go's roots: trustlaunch trusts the test CA
	}
	for k, v := range w.xdg {
		w.env = append(w.env, k+"="+v)
	}
	register(t, ctx, w.bin, w.env)
}

// firefoxPolicies is the enterprise policy the admin guide gives for
// Firefox (docs/admin.md), for the portal origin, plus what a fresh test
// profile needs: the test CA in Firefox's own store, no first-run pages.
func firefoxPolicies(caFile string, portals ...string) map[string]any {
	return map[string]any{
		"AutoLaunchProtocolsFromOrigins": []map[string]any{
			{"protocol": "trustlaunch", "allowed_origins": portals},
		},
		"Handlers": map[string]any{
			"schemes": map[string]any{
				"trustlaunch": map[string]any{"action": "useSystemDefault", "ask": false},
			},
		},
		"Certificates":            map[string]any{"Install": []string{caFile}},
		"DontCheckDefaultBrowser": true,
		"DisableAppUpdate":        true,
		"DisableTelemetry":        true,
		"OverrideFirstRunPage":    "",
		"OverridePostUpdatePage":  "",
		"NoDefaultBookmarks":      true,
	}
}

// installFirefoxPolicy writes policies as firefoxPolicyFile, moving a
// machine's own file aside, and restores everything when the test ends. A
// file this test left in a killed run (its marker names a dead pid) is
// removed first, and the backup it made put back.
func installFirefoxPolicy(t *testing.T, policies map[string]any) {
	t.Helper()
	removeStaleFirefoxPolicy(t)
	backup := firefoxPolicyFile + firefoxBackupSuffix
	if fileExists(backup) {
		t.Fatalf("%s exists while no test run owns %s: put it back by hand", backup, firefoxPolicyFile)
	}
	mkdirAllOwned(t, filepath.Dir(firefoxPolicyFile))
	if fileExists(firefoxPolicyFile) {
		if err := os.Rename(firefoxPolicyFile, backup); err != nil {
			t.Fatal(err)
		}
		t.Logf("moved the machine's %s aside to %s", firefoxPolicyFile, backup)
	}
	t.Cleanup(func() {
		if fileExists(backup) {
			os.Remove(firefoxPolicyFile)
			if err := os.Rename(backup, firefoxPolicyFile); err != nil {
				t.Errorf("restore %s: %v", firefoxPolicyFile, err)
			}
		}
	})
	data, err := json.MarshalIndent(map[string]any{firefoxMarker: os.Getpid(), "policies": policies}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	writeNewFile(t, firefoxPolicyFile, data)
}

// removeStaleFirefoxPolicy removes a policy file of a killed run and puts
// its backup back.
func removeStaleFirefoxPolicy(t *testing.T) {
	t.Helper()
	data, err := os.ReadFile(firefoxPolicyFile)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	var mark map[string]json.RawMessage
	if json.Unmarshal(data, &mark) != nil || mark[firefoxMarker] == nil || testRunning(string(mark[firefoxMarker])) {
		return // the machine's own, or a running test's
	}
	if err := os.Remove(firefoxPolicyFile); err != nil {
		t.Fatal(err)
	}
	if backup := firefoxPolicyFile + firefoxBackupSuffix; fileExists(backup) {
		if err := os.Rename(backup, firefoxPolicyFile); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("removed %s, left by a killed run (pid %s)", firefoxPolicyFile, mark[firefoxMarker])
}

// startFirefox starts Debian's firefox-esr on a fresh profile, under
// Xvfb, opening pageURL. There is no driver: the page acts by itself, and
// the test reads the outcome from the audit log and the page's reports to
// its server.
func startFirefox(t *testing.T, w *world, name, pageURL string) *proc {
	t.Helper()
	bin := peers.RequireBinary(t, "firefox-esr")
	profile := filepath.Join(w.root, "firefox-profile-"+name)
	if err := os.Mkdir(profile, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--no-remote", "--new-instance", "--profile", profile, pageURL)
	cmd.Env = append(w.env, "MOZ_CRASHREPORTER_DISABLE=1", "MOZ_DISABLE_AUTO_SAFE_MODE=1")
	cmd.Dir = w.root
	return startProc(t, "firefox-"+name, w.root, cmd)
}

// TestFirefoxLaunchesTrustlaunch is the handler path in Firefox ESR, with
// the enterprise policy of the admin guide: AutoLaunchProtocolsFromOrigins
// for the portal (without it nothing launches) and Handlers with
// useSystemDefault, which runs the desktop entry's "open -- URL". Each case
// runs a fresh Firefox on a fresh profile, whose page clicks its own link
// on load: a launch from a user-listed portal (descriptor, CONNECT proxy
// with the token, the raw profile relaying the host's banner), then the
// detection round trip (the page shows "installed").
func TestFirefoxLaunchesTrustlaunch(t *testing.T) {
	w := newWorld(t)
	peers.RequireBinary(t, "firefox-esr")
	ctx, cancel := context.WithTimeout(t.Context(), 3*browserTimeout) // two cold starts and the rest
	defer cancel()

	host := peers.StartBanner(t, []byte(banner))
	proxy := startProxy(t)
	portal := startOrigin(t, w.leaf)
	store := newDetectStore()
	detectPortal := startDetectServer(t, "127.0.0.1", w.leaf, store, "")

	c := launchCase{name: "firefox-user-listed", server: portal, wantDecision: "launched", wantStep: "launched", wantWhitelist: "user-listed"}
	c.ticket, c.token, c.path = randHex(t), "tok-"+randHex(t), "/descriptor/firefox"
	c.descriptorURL = portal.origin + c.path + "?ticket=" + c.ticket
	portal.serveDescriptor(c.path, c.ticket, map[string]any{
		"version": 1,
		"session": "firefox browser test",
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
	portal.mu.Lock()
	portal.page = []byte("<!doctype html><html><head><meta charset=utf-8><title>" + pageTitle + "</title></head><body>\n" +
		fmt.Sprintf("<a id=%q href=\"%s\">Launch session</a>\n", c.name, html.EscapeString(c.link())) +
		"<script>window.addEventListener('load', () => document.getElementById(" + strconv.Quote(c.name) + ").click());</script>\n</body></html>\n")
	portal.mu.Unlock()
	dc := detectCase{name: "firefox-installed", target: detectPortal, wantText: "installed", wantPost: true, wantDec: "detected", wantStep: "detect-post"}
	detectPortal.page.Store(detectPage([]detectCase{dc}, true))

	w.writeUserList(t, hostPort(t, portal.origin), hostPort(t, detectPortal.origin))
	w.start(t, ctx)
	installFirefoxPolicy(t, firefoxPolicies(w.ca.CertFile, portal.origin, detectPortal.origin))

	if out, err := exec.CommandContext(ctx, "firefox-esr", "--version").Output(); err == nil {
		t.Logf("%s", strings.TrimSpace(string(out)))
		checkFirefoxVersion(t, string(out))
	}

	// 1. The launch.
	started := time.Now()
	ff := startFirefox(t, w, "launch", portal.origin+"/")
	br := &chromium{proc: ff} // waitAudit watches the browser process
	rec := waitAudit(t, ctx, br, nil, w.auditPath, 0, portal.origin+c.path)
	t.Logf("%s: audit record %v after Firefox started: %s", c.name, time.Since(started).Round(time.Millisecond), rec.raw)
	if rec.Decision != "launched" || rec.Step != "launched" || rec.Origin != portal.origin {
		t.Errorf("%s: audit record %s, want launched from %s", c.name, rec.raw, portal.origin)
	}
	checkLaunched(t, ctx, c, rec, host, proxy, br)
	ff.stop()

	// 2. The detection round trip.
	started = time.Now()
	ff = startFirefox(t, w, "detect", detectPortal.origin+"/")
	br = &chromium{proc: ff}
	rec = waitAudit(t, ctx, br, nil, w.auditPath, 1, detectPortal.origin+launcher.DetectPath)
	st := store.waitShown(t, ctx, dc.name, ff.exited)
	_, posted, _ := store.report(st.ID)
	t.Logf("%s: the page showed %q %d ms after it opened the link (page's clock); the POST arrived %v after Firefox started",
		dc.name, st.Text, st.MS, posted.Sub(started).Round(time.Millisecond))
	checkDetect(t, dc, st, rec, 0)
	ff.stop()

	out := handlerOutput(br)
	if strings.Contains(out, c.ticket) || strings.Contains(out, c.token) || strings.Contains(out, st.ID) {
		t.Errorf("trustlaunch's output through Firefox holds the ticket, the token or the detection id")
	}
	if n := w.fake.terminalRuns(); n != 0 {
		t.Errorf("trustlaunch opened a terminal window %d times; nothing here prompts", n)
	}
}

// checkFirefoxVersion fails on a Firefox older than the policies the test
// relies on (AutoLaunchProtocolsFromOrigins: Firefox 90).
func checkFirefoxVersion(t *testing.T, out string) {
	t.Helper()
	m := regexp.MustCompile(`Firefox (\d+)\.`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("unexpected firefox-esr --version output %q", out)
	}
	if major, _ := strconv.Atoi(m[1]); major < 90 {
		t.Fatalf("Firefox %s is too old: AutoLaunchProtocolsFromOrigins needs 90 or later", m[1])
	}
}
