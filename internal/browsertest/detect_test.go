//go:build linux

package browsertest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/peers"
	"github.com/trustlaunch/trustlaunch/launcher"
)

// detectPageWait is how long the portal page polls its own server for a
// detection answer before it shows "not installed or blocked"; the page of
// docs/portal.md uses the same logic.
const detectPageWait = 8 * time.Second

// detectServer is an HTTPS origin that takes detection POSTs, serves the
// portal page and its status endpoint, and counts every connection, so a
// test can assert that an unlisted origin saw none at all.
type detectServer struct {
	origin     string
	minVersion string // the portal's own oldest supported trustlaunch; "" none
	store      *detectStore
	conns      atomic.Int32
	page       atomic.Value // []byte
	mux        *http.ServeMux
}

// detectStore is the portal's backend: reports by one-time id, shared by
// the test's servers (one portal backend behind several origins), and the
// states the pages showed.
type detectStore struct {
	mu      sync.Mutex
	reports map[string]detectReport // id → report
	posts   map[string]time.Time    // id → when the POST arrived
	shown   chan pageState
}

type detectReport struct {
	Version  string `json:"version"`
	OS       string `json:"os"`
	Arch     string `json:"arch"`
	Decision string `json:"decision"`

	origin string
	min    string
}

// pageState is what a page showed, as it reports it back to /page-state.
type pageState struct {
	Name  string `json:"name"`
	Text  string `json:"text"`
	ID    string `json:"id"`
	MS    int64  `json:"ms"`
	Clock time.Time
}

func newDetectStore() *detectStore {
	return &detectStore{reports: map[string]detectReport{}, posts: map[string]time.Time{}, shown: make(chan pageState, 16)}
}

// startDetectServer starts an HTTPS origin on ip (a loopback address that
// cert names) with cert. The detection POST goes to launcher.DetectPath.
func startDetectServer(t *testing.T, ip string, cert *peers.ServerCert, store *detectStore, minVersion string) *detectServer {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	s := &detectServer{origin: "https://" + ln.Addr().String(), minVersion: minVersion, store: store, mux: http.NewServeMux()}
	s.mux.HandleFunc("POST "+launcher.DetectPath, s.detect)
	s.mux.HandleFunc("GET /trustlaunch/detect-status", s.status)
	s.mux.HandleFunc("POST /page-state", s.pageState)
	s.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		page, _ := s.page.Load().([]byte)
		if page == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	srv := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 5 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert.TLS}, MinVersion: tls.VersionTLS12},
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.conns.Add(1)
			}
		},
	}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return s
}

// detect takes trustlaunch's POST: exactly the four fields, as JSON.
func (s *detectServer) detect(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	var rep detectReport
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil || id == "" || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad detection report", http.StatusBadRequest)
		return
	}
	rep.origin, rep.min = s.origin, s.minVersion
	s.store.mu.Lock()
	s.store.reports[id] = rep
	s.store.posts[id] = time.Now()
	s.store.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// status is what the page polls: pending, installed or update-needed, by
// comparing the reported version with the portal's minimum.
func (s *detectServer) status(w http.ResponseWriter, r *http.Request) {
	s.store.mu.Lock()
	rep, ok := s.store.reports[r.URL.Query().Get("id")]
	s.store.mu.Unlock()
	state := "pending"
	if ok {
		state = "installed"
		if olderThan(rep.Version, rep.min) {
			state = "update-needed"
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]string{"state": state})
}

func (s *detectServer) pageState(w http.ResponseWriter, r *http.Request) {
	var st pageState
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&st); err != nil {
		http.Error(w, "bad page state", http.StatusBadRequest)
		return
	}
	st.Clock = time.Now()
	select {
	case s.store.shown <- st:
	default:
	}
	w.WriteHeader(http.StatusNoContent)
}

// report returns the report for id and when it arrived.
func (d *detectStore) report(id string) (detectReport, time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	rep, ok := d.reports[id]
	return rep, d.posts[id], ok
}

// waitShown waits for the page named name to report what it showed.
func (d *detectStore) waitShown(t *testing.T, ctx context.Context, name string, exited <-chan struct{}) pageState {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, detectPageWait+10*time.Second)
	defer cancel()
	for {
		select {
		case st := <-d.shown:
			if st.Name == name {
				return st
			}
			t.Logf("page state of another case: %+v", st)
		case <-exited:
			t.Fatalf("the browser exited before the page %s showed a detection result", name)
		case <-ctx.Done():
			t.Fatalf("the page %s never showed a detection result (%v)", name, ctx.Err())
		}
	}
}

// olderThan reports whether version (trustlaunch's: "v1.2.3",
// "1.2.3-rc.1", a Go pseudo-version, "devel") is older than min, the
// portal's minimum, by its three numbers; with no minimum nothing is. A
// version that does not parse ("devel", a build from source) is older than
// any minimum: trustlaunch itself refuses such a build any descriptor with
// min_version (docs/descriptor.md). docs/portal.md gives the full
// semantic-version order; three numbers are enough for this test's
// minimums.
func olderThan(version, min string) bool {
	if min == "" {
		return false
	}
	v, okV := threeNumbers(version)
	m, okM := threeNumbers(min)
	if !okV || !okM {
		return true
	}
	for i := range v {
		if v[i] != m[i] {
			return v[i] < m[i]
		}
	}
	return false
}

func threeNumbers(s string) ([3]int, bool) {
	var n [3]int
	core, _, _ := strings.Cut(strings.TrimPrefix(s, "v"), "-")
	core, _, _ = strings.Cut(core, "+")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return n, false
	}
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil {
			return n, false
		}
		n[i] = x
	}
	return n, true
}

// detectPageJS is the portal page's side of the round trip (docs/portal.md):
// make a one-time id, open the detect link for it, poll the portal's own
// server for the answer, show "installed", "update needed" or "not
// installed or blocked". It also reports what it showed to /page-state,
// which only the test needs.
const detectPageJS = `
async function detect(name, detectOrigin) {
	const out = document.getElementById("status-" + name);
	const t0 = performance.now();
	const id = crypto.randomUUID();
	const detectURL = detectOrigin + "/.well-known/trustlaunch/detect?id=" + encodeURIComponent(id);
	const a = document.createElement("a");
	a.href = "trustlaunch://detect?url=" + encodeURIComponent(detectURL);
	document.body.appendChild(a);
	a.click();
	a.remove();
	out.textContent = "checking...";
	let state = "pending";
	const deadline = Date.now() + WAIT_MS;
	while (Date.now() < deadline) {
		await new Promise(r => setTimeout(r, 200));
		try {
			const r = await fetch("/trustlaunch/detect-status?id=" + encodeURIComponent(id), {cache: "no-store"});
			state = (await r.json()).state;
		} catch (e) {
			continue;
		}
		if (state !== "pending") break;
	}
	const text = {"installed": "installed", "update-needed": "update needed"}[state] || "not installed or blocked";
	out.textContent = text;
	const ms = Math.round(performance.now() - t0);
	await fetch("/page-state", {method: "POST", body: JSON.stringify({name: name, text: text, id: id, ms: ms})});
}
`

// detectCase is one detection from the page.
type detectCase struct {
	name     string
	target   *detectServer // the server named in the detect URL
	wantText string        // what the page shows
	wantPost bool          // the target gets the POST
	wantDec  string        // the audit record's decision
	wantStep string        // and step
}

// detectPage is the portal page with one button per case, or, with auto,
// one that starts the first case on load (Firefox, which no test driver
// here can click).
func detectPage(cases []detectCase, auto bool) []byte {
	var b strings.Builder
	b.WriteString("<!doctype html><html><head><meta charset=utf-8><title>" + pageTitle + "</title>" +
		"<style>button{display:block;margin:24px;padding:24px;font-size:24px}</style></head><body>\n")
	for _, c := range cases {
		fmt.Fprintf(&b, "<button id=%q onclick='detect(%q, %q)'>Check trustlaunch (%s)</button><p id=%q></p>\n",
			c.name, c.name, c.target.origin, html.EscapeString(c.name), "status-"+c.name)
	}
	b.WriteString("<script>\nconst WAIT_MS = " + strconv.FormatInt(detectPageWait.Milliseconds(), 10) + ";\n" + detectPageJS)
	if auto && len(cases) > 0 {
		fmt.Fprintf(&b, "window.addEventListener('load', () => detect(%q, %q));\n", cases[0].name, cases[0].target.origin)
	}
	b.WriteString("</script></body></html>\n")
	return []byte(b.String())
}

// checkDetect asserts one case's outcome: what the page showed, the POST
// (or that the target saw no connection at all), and the audit record.
func checkDetect(t *testing.T, c detectCase, st pageState, rec auditRecord, before int32) {
	t.Helper()
	if st.Text != c.wantText {
		t.Errorf("%s: the page shows %q, want %q", c.name, st.Text, c.wantText)
	}
	rep, _, posted := c.target.store.report(st.ID)
	switch {
	case c.wantPost && !posted:
		t.Errorf("%s: %s never got the detection POST for id %s", c.name, c.target.origin, st.ID)
	case c.wantPost && (rep.OS != "linux" || rep.Arch == "" || rep.Version == "" || rep.origin != c.target.origin):
		t.Errorf("%s: report %+v", c.name, rep)
	case !c.wantPost && posted:
		t.Errorf("%s: %s got a detection POST; an unlisted origin must learn nothing", c.name, c.target.origin)
	case !c.wantPost:
		if n := c.target.conns.Load() - before; n != 0 {
			t.Errorf("%s: the unlisted origin %s saw %d connections, want none", c.name, c.target.origin, n)
		}
	}
	if rec.Decision != c.wantDec || rec.Step != c.wantStep || rec.Origin != c.target.origin {
		t.Errorf("%s: audit record %s, want decision %q at step %q for %s", c.name, rec.raw, c.wantDec, c.wantStep, c.target.origin)
	}
	if strings.Contains(rec.raw, st.ID) {
		t.Errorf("%s: the audit record holds the portal's one-time id", c.name)
	}
}

// TestChromiumDetectRoundTrip is the portal's installation check, end to
// end: the page of docs/portal.md in Chromium under Xvfb makes an id,
// opens trustlaunch://detect?url=<its server>/.well-known/trustlaunch/detect?id=..,
// Chromium hands the link to xdg-open and the registered trustlaunch,
// which POSTs its version to a listed origin, and the page, polling its
// own server, shows the result. Three buttons: the portal itself (user
// listed: "installed"); a second listed origin, on another host (the rate
// limit is per host), whose minimum version no trustlaunch meets ("update
// needed"); and an origin in no list, which
// must see no connection at all while the page gives up ("not installed
// or blocked"). The round trip's time is logged.
func TestChromiumDetectRoundTrip(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(t.Context(), browserTimeout+3*detectPageWait)
	defer cancel()

	store := newDetectStore()
	portal := startDetectServer(t, "127.0.0.1", w.leaf, store, "")
	newer := startDetectServer(t, "127.0.0.2", w.leaf, store, "999.0.0")
	unlisted := startDetectServer(t, "127.0.0.1", w.leaf, store, "")
	cases := []detectCase{
		{name: "installed", target: portal, wantText: "installed", wantPost: true, wantDec: "detected", wantStep: "detect-post"},
		{name: "update-needed", target: newer, wantText: "update needed", wantPost: true, wantDec: "detected", wantStep: "detect-post"},
		{name: "unlisted", target: unlisted, wantText: "not installed or blocked", wantDec: "refused-whitelist", wantStep: "would-prompt"},
	}
	portal.page.Store(detectPage(cases, false))
	w.writeUserList(t, hostPort(t, portal.origin), hostPort(t, newer.origin))
	w.start(t, ctx)
	writeManagedPolicy(t, map[string]any{
		"AutoLaunchProtocolsFromOrigins": []map[string]any{
			{"protocol": "trustlaunch", "allowed_origins": []string{portal.origin}},
		},
	})

	spki := strings.TrimPrefix(w.leaf.Pin, "sha256/")
	br := startChromium(t, ctx, w.root, w.env, "--ignore-certificate-errors-spki-list="+spki)
	cdp, err := dialCDP(ctx, br.wsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer cdp.close()
	tab, err := cdp.newPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkPolicy(t, ctx, tab, portal.origin)
	if err := tab.navigate(ctx, portal.origin+"/"); err != nil {
		t.Fatalf("portal page: %v", err)
	}

	for i, c := range cases {
		before := c.target.conns.Load()
		clicked := time.Now()
		clickLink(t, ctx, tab, c.name)
		rec := waitAudit(t, ctx, br, cdp, w.auditPath, i, c.target.origin+launcher.DetectPath)
		st := store.waitShown(t, ctx, c.name, br.exited)
		_, posted, ok := store.report(st.ID)
		if c.wantPost && ok {
			t.Logf("%s: round trip %v from the click to the page showing %q (page's own clock: %d ms); the POST arrived %v after the click",
				c.name, st.Clock.Sub(clicked).Round(time.Millisecond), st.Text, st.MS, posted.Sub(clicked).Round(time.Millisecond))
		} else {
			t.Logf("%s: the page showed %q (after its %v wait when no answer came); audit: %s", c.name, st.Text, detectPageWait, rec.raw)
		}
		checkDetect(t, c, st, rec, before)
	}
	if n := w.fake.terminalRuns(); n != 0 {
		t.Errorf("trustlaunch opened a terminal window %d times; a detection never prompts", n)
	}
	if _, err := os.Stat(filepath.Join(w.xdg["XDG_STATE_HOME"], "trustlaunch", "detect.json")); err != nil {
		t.Errorf("no rate-limit state after two detections: %v", err)
	}
}
