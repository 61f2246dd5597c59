package launcher

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/audit"
	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/internal/testnet"
	"github.com/trustlaunch/trustlaunch/internal/testtmp"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// detectID is the portal's one-time id in the detect URL: it identifies the
// page that asked, so no error or log may show it.
const detectID = "DETECT-ID-SECRET-91b2"

// origin is an HTTPS test portal with the fetch options that reach it.
type origin struct {
	srv  *httptest.Server
	opts descriptor.FetchOptions
	hits atomic.Int32
}

// newOrigin starts an HTTPS server running h on loopback, with options that
// trust its certificate and no admin CA bundle.
func newOrigin(t *testing.T, h http.HandlerFunc) *origin {
	t.Helper()
	o := &origin{}
	o.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.hits.Add(1)
		h(w, r)
	}))
	// Refused handshakes are what some tests want; keep them out of the output.
	o.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	o.srv.StartTLS()
	t.Cleanup(o.srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(o.srv.Certificate())
	org, err := whitelist.ParseOrigin(o.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	o.opts = descriptor.FetchOptions{URL: o.srv.URL + "/", Origin: org, RootCAs: pool, ExtraCAFile: "/nonexistent-trustlaunch-test/ca.pem", Timeout: 10 * time.Second, UserAgent: "trustlaunch/test"}
	return o
}

// portalLog records what a test portal received.
type portalLog struct {
	mu     sync.Mutex
	method string
	uri    string
	ctype  string
	body   []byte
}

func (p *portalLog) record(r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	p.mu.Lock()
	defer p.mu.Unlock()
	p.method, p.uri, p.ctype, p.body = r.Method, r.URL.RequestURI(), r.Header.Get("Content-Type"), body
}

// detectSetup is a portal, a user list that names it (or not), a state file
// and an audit log, and the options that detect against them.
type detectSetup struct {
	portal *origin
	log    portalLog
	opts   DetectOptions
	audit  string
	now    atomic.Int64 // unix nanoseconds of the fake clock
}

func newDetect(t *testing.T, listed bool, h http.HandlerFunc) *detectSetup {
	t.Helper()
	s := &detectSetup{}
	if h == nil {
		h = func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }
	}
	s.portal = newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		s.log.record(r)
		h(w, r)
	})
	dir := testtmp.Dir(t)
	detectURL := s.portal.srv.URL + DetectPath + "?id=" + detectID
	user := whitelist.Source{Path: filepath.Join(dir, "whitelist.txt")}
	if listed {
		l, _, err := whitelist.Parse(user.Path, []byte(strings.TrimPrefix(s.portal.srv.URL, "https://")+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		user.List = l
	}
	s.audit = filepath.Join(dir, "audit.log")
	auditLog, err := audit.New(audit.Options{Path: s.audit})
	if err != nil {
		t.Fatal(err)
	}
	s.now.Store(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	fo := s.portal.opts
	fo.URL, fo.Origin = "", whitelist.Origin{} // Detect sets them from its decision
	s.opts = DetectOptions{
		URL:       detectURL,
		User:      user,
		Fetch:     fo,
		Version:   "1.4.2",
		StatePath: filepath.Join(dir, "state", "detect.json"),
		Audit:     auditLog,
		Now:       func() time.Time { return time.Unix(0, s.now.Load()) },
	}
	return s
}

// lastAudit returns the last audit record.
func (s *detectSetup) lastAudit(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(s.audit)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rec); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), detectID) {
		t.Errorf("the audit log holds the portal's one-time id: %s", data)
	}
	return rec
}

func checkNoID(t *testing.T, msg string) {
	t.Helper()
	if strings.Contains(msg, detectID) {
		t.Errorf("message shows the detect URL's query: %q", msg)
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("message is more than one line: %q", msg)
	}
}

// TestDetectListedPosts: an origin in the user list gets exactly one POST
// at exactly the detect URL, with the four fields as JSON.
func TestDetectListedPosts(t *testing.T) {
	s := newDetect(t, true, nil)
	res := Detect(t.Context(), s.opts)
	if res.Err != nil || !res.Sent || res.Step != StepDetectPost {
		t.Fatalf("Detect = %+v, want sent at %s", res, StepDetectPost)
	}
	if n := s.portal.hits.Load(); n != 1 {
		t.Fatalf("the portal got %d requests, want 1", n)
	}
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	if s.log.method != http.MethodPost || s.log.uri != DetectPath+"?id="+detectID {
		t.Errorf("portal got %s %s, want POST %s?id=%s", s.log.method, s.log.uri, DetectPath, detectID)
	}
	if s.log.ctype != "application/json" {
		t.Errorf("Content-Type %q, want application/json", s.log.ctype)
	}
	var got map[string]string
	dec := json.NewDecoder(strings.NewReader(string(s.log.body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("body %s: %v", s.log.body, err)
	}
	want := map[string]string{"version": "1.4.2", "os": runtime.GOOS, "arch": runtime.GOARCH, "decision": "user-listed"}
	if len(got) != len(want) {
		t.Errorf("body %s, want exactly %v", s.log.body, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("body %s: %s = %q, want %q", s.log.body, k, got[k], v)
		}
	}
	rec := s.lastAudit(t)
	if rec["decision"] != "detected" || rec["step"] != StepDetectPost || rec["whitelist"] != "user-listed" || rec["origin"] != s.portal.opts.Origin.String() {
		t.Errorf("audit record %v, want detected at %s, user-listed, origin %s", rec, StepDetectPost, s.portal.opts.Origin)
	}
}

// TestDetectAdminListed: the admin list admits too, and says so.
func TestDetectAdminListed(t *testing.T) {
	s := newDetect(t, false, nil)
	l, _, err := whitelist.Parse("admin", []byte("AllowAdminListOnly\n"+strings.TrimPrefix(s.portal.srv.URL, "https://")+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	s.opts.Admin = whitelist.Source{Path: "admin", List: l}
	res := Detect(t.Context(), s.opts)
	if res.Err != nil || !res.Sent {
		t.Fatalf("Detect = %+v, want sent", res)
	}
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	if !strings.Contains(string(s.log.body), `"decision":"admin-listed"`) {
		t.Errorf("body %s, want decision admin-listed", s.log.body)
	}
}

// TestDetectUnlistedSendsNothing: an origin in neither list, or refused by
// the admin list, learns nothing: no connection at all, not even TLS.
func TestDetectUnlistedSendsNothing(t *testing.T) {
	for _, tc := range []struct {
		name     string
		admin    string // admin list text; "" none
		wantStep whitelist.Step
	}{
		{"prompt mode, not listed", "", whitelist.StepWouldPrompt},
		{"admin only, not listed", "AllowAdminListOnly\nother.example\n", whitelist.StepAdminOnlyRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newDetect(t, false, nil)
			if tc.admin != "" {
				l, _, err := whitelist.Parse("admin", []byte(tc.admin))
				if err != nil {
					t.Fatal(err)
				}
				s.opts.Admin = whitelist.Source{Path: "admin", List: l}
			}
			var conns atomic.Int32
			s.portal.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
				if st == http.StateNew {
					conns.Add(1)
				}
			}
			res := Detect(t.Context(), s.opts)
			if res.Sent || res.Err != nil || !res.Refused() || res.Step != string(tc.wantStep) {
				t.Fatalf("Detect = %+v, want refused at %s, nothing sent", res, tc.wantStep)
			}
			if n := conns.Load(); n != 0 {
				t.Errorf("the unlisted portal saw %d connections; it must learn nothing", n)
			}
			if _, err := os.Stat(s.opts.StatePath); err == nil {
				t.Errorf("a refused detect wrote the state file")
			}
			checkNoID(t, res.Message())
			rec := s.lastAudit(t)
			if rec["decision"] != "refused-whitelist" || rec["step"] != string(tc.wantStep) {
				t.Errorf("audit record %v, want refused at %s", rec, tc.wantStep)
			}
		})
	}
}

// TestDetectNotHTTPS: an http detect URL is refused by the decision's first
// step, and nothing is sent, even when its host is listed.
func TestDetectNotHTTPS(t *testing.T) {
	s := newDetect(t, true, nil)
	s.opts.URL = "http" + strings.TrimPrefix(s.opts.URL, "https")
	res := Detect(t.Context(), s.opts)
	if res.Sent || !res.Refused() || res.Step != string(whitelist.StepNotHTTPS) {
		t.Fatalf("Detect = %+v, want refused at not-https", res)
	}
	if n := s.portal.hits.Load(); n != 0 {
		t.Errorf("the portal got %d requests", n)
	}
	if msg := res.Message(); !strings.Contains(msg, "https") {
		t.Errorf("message %q does not say why", msg)
	}
	checkNoID(t, res.Message())
}

// TestDetectRedirectElsewhere: a portal that redirects the POST off its
// origin gets an error naming the step and the target, and the other
// server gets nothing. A redirect within the origin is followed.
func TestDetectRedirectElsewhere(t *testing.T) {
	other := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	s := newDetect(t, true, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.srv.URL+"/steal?id="+detectID, http.StatusTemporaryRedirect)
	})
	// The other server is trusted by the same roots and even listed: only
	// the origin rule stops the POST.
	s.opts.Fetch.RootCAs.AddCert(other.srv.Certificate())
	res := Detect(t.Context(), s.opts)
	if res.Err == nil || res.Sent || res.Step != StepDetectPost {
		t.Fatalf("Detect = %+v, want an error at %s", res, StepDetectPost)
	}
	msg := res.Err.Error()
	if !strings.Contains(msg, StepDetectPost) && !strings.Contains(msg, "detect") || !strings.Contains(msg, "leaves the trusted origin") {
		t.Errorf("error %q does not name the step and the reason", msg)
	}
	checkNoID(t, res.Err.Error())
	if n := other.hits.Load(); n != 0 {
		t.Errorf("the redirect target got %d requests", n)
	}
	if rec := s.lastAudit(t); rec["decision"] != "failed" || rec["step"] != StepDetectPost {
		t.Errorf("audit record %v, want failed at %s", rec, StepDetectPost)
	}
}

func TestDetectRedirectSameOrigin(t *testing.T) {
	var posts atomic.Int32
	s := newDetect(t, true, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/final" {
			http.Redirect(w, r, "/final?id="+detectID, http.StatusPermanentRedirect)
			return
		}
		if r.Method == http.MethodPost {
			posts.Add(1)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	res := Detect(t.Context(), s.opts)
	if res.Err != nil || !res.Sent {
		t.Fatalf("Detect = %+v, want sent", res)
	}
	if n := posts.Load(); n != 1 {
		t.Errorf("the redirect target got %d POSTs, want 1", n)
	}
}

// TestDetectPortalError: a portal that answers the POST with an error
// status is one line naming the step and the status.
func TestDetectPortalError(t *testing.T) {
	s := newDetect(t, true, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such detection\x1b[31m id "+detectID, http.StatusNotFound)
	})
	res := Detect(t.Context(), s.opts)
	if res.Err == nil || res.Step != StepDetectPost {
		t.Fatalf("Detect = %+v, want an error at %s", res, StepDetectPost)
	}
	msg := res.Err.Error()
	if !strings.Contains(msg, "404") || !strings.HasPrefix(msg, "detect: ") {
		t.Errorf("error %q, want a line starting with the step and naming the status", msg)
	}
	if strings.Contains(msg, "\x1b") {
		t.Errorf("error passes the portal's escape sequence on: %q", msg)
	}
	checkNoID(t, res.Err.Error())
}

// TestDetectRateLimit: at most one POST per origin per DetectInterval,
// counted from the attempt, across processes (the state file), and a
// failed POST counts too.
func TestDetectRateLimit(t *testing.T) {
	s := newDetect(t, true, nil)
	if res := Detect(t.Context(), s.opts); !res.Sent {
		t.Fatalf("first Detect = %+v, want sent", res)
	}
	s.now.Add(int64(DetectInterval - time.Second))
	res := Detect(t.Context(), s.opts)
	if res.Sent || res.Err != nil || res.Step != StepDetectRateLimit || !res.Refused() {
		t.Fatalf("second Detect within %v = %+v, want refused at %s", DetectInterval, res, StepDetectRateLimit)
	}
	if n := s.portal.hits.Load(); n != 1 {
		t.Fatalf("the portal got %d requests, want 1", n)
	}
	if rec := s.lastAudit(t); rec["decision"] != "rate-limited" {
		t.Errorf("audit record %v, want rate-limited", rec)
	}
	s.now.Add(int64(time.Second))
	if res := Detect(t.Context(), s.opts); !res.Sent {
		t.Fatalf("Detect after %v = %+v, want sent", DetectInterval, res)
	}
	fi, err := os.Stat(s.opts.StatePath)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(s.opts.StatePath)
	if strings.Contains(string(data), detectID) || strings.Contains(string(data), "trustlaunch/detect") {
		t.Errorf("the state file holds more than origins and times: %s", data)
	}
}

// TestDetectRateLimitConcurrent: several detects at once for one origin
// send one POST; the lock makes the check and the record one step.
func TestDetectRateLimitConcurrent(t *testing.T) {
	s := newDetect(t, true, nil)
	var wg sync.WaitGroup
	var sent atomic.Int32
	for range 8 {
		wg.Go(func() {
			if res := Detect(t.Context(), s.opts); res.Sent {
				sent.Add(1)
			}
		})
	}
	wg.Wait()
	if n := sent.Load(); n != 1 {
		t.Errorf("%d of 8 concurrent detects sent a POST, want 1", n)
	}
	if n := s.portal.hits.Load(); n != 1 {
		t.Errorf("the portal got %d requests, want 1", n)
	}
}

// TestDetectStateFileGarbage: a state file that does not parse is replaced;
// detection is not disabled for good by a torn or foreign file.
func TestDetectStateFileGarbage(t *testing.T) {
	s := newDetect(t, true, nil)
	if err := os.MkdirAll(filepath.Dir(s.opts.StatePath), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.opts.StatePath, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if res := Detect(t.Context(), s.opts); !res.Sent {
		t.Fatalf("Detect = %+v, want sent", res)
	}
	var st map[string]any
	data, _ := os.ReadFile(s.opts.StatePath)
	if err := json.Unmarshal(data, &st); err != nil {
		t.Errorf("state file after Detect: %v: %s", err, data)
	}
}

// TestDetectThroughOutboundProxy: the detection POST takes the outbound
// proxy of FetchOptions.Outbound, the one setting of the fetch and the
// tunnel. The portal's name resolves only at the outbound proxy.
func TestDetectThroughOutboundProxy(t *testing.T) {
	s := newDetect(t, false, nil)
	_, port, _ := net.SplitHostPort(s.portal.srv.Listener.Addr().String())
	s.opts.URL = "https://example.com:" + port + DetectPath + "?id=" + detectID
	l, _, err := whitelist.Parse("user", []byte("example.com:"+port+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	s.opts.User = whitelist.Source{Path: "user", List: l}
	s.opts.Fetch.Resolver = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no DNS in this test")
	}}
	fw := testnet.NewConnectForwarder(t, map[string]string{"example.com": "127.0.0.1"})
	ob, err := connector.NewOutboundProxy(connector.SourceFlag, "http://"+fw.Addr, "")
	if err != nil {
		t.Fatal(err)
	}
	s.opts.Fetch.Outbound = ob
	if res := Detect(t.Context(), s.opts); !res.Sent {
		t.Fatalf("Detect through the outbound proxy = %+v", res)
	}
	if len(fw.Targets()) != 1 || fw.Targets()[0] != "example.com:"+port {
		t.Errorf("the outbound proxy got CONNECT %q, want example.com:%s", fw.Targets(), port)
	}
}

// TestDetectPathFixed: a detect URL of a listed origin whose path is not
// DetectPath, as written, gets nothing sent: a page cannot aim the POST at
// another endpoint of a trusted server. The origin sees no connection.
func TestDetectPathFixed(t *testing.T) {
	for _, path := range []string{
		"/admin/delete?id=1",
		"/trustlaunch/detect?id=" + detectID,
		"/.well-known/trustlaunch/detect/?id=" + detectID,
		"/.well-known/%74rustlaunch/detect?id=" + detectID,
		"/.well-known/trustlaunch%2Fdetect?id=" + detectID,
		"/.well-known/trustlaunch/detect/../../../admin/delete?id=1",
		"/.WELL-KNOWN/trustlaunch/detect?id=" + detectID,
		"",
	} {
		t.Run(path, func(t *testing.T) {
			s := newDetect(t, true, nil)
			s.opts.URL = s.portal.srv.URL + path
			var conns atomic.Int32
			s.portal.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
				if st == http.StateNew {
					conns.Add(1)
				}
			}
			res := Detect(t.Context(), s.opts)
			if res.Sent || res.Err != nil || !res.Refused() || res.Step != StepDetectPath {
				t.Fatalf("Detect(%s) = %+v, want refused at %s", path, res, StepDetectPath)
			}
			if n := conns.Load(); n != 0 {
				t.Errorf("the portal saw %d connections", n)
			}
			if msg := res.Message(); !strings.Contains(msg, DetectPath) {
				t.Errorf("message %q does not name the path", msg)
			}
			checkNoID(t, res.Message())
			if _, err := os.Stat(s.opts.StatePath); err == nil {
				t.Errorf("a refused detect took the rate limit")
			}
			if rec := s.lastAudit(t); rec["decision"] != "refused-whitelist" || rec["step"] != StepDetectPath {
				t.Errorf("audit record %v, want refused at %s", rec, StepDetectPath)
			}
		})
	}
}

// TestDetectRateLimitPerHost: the rate limit counts per host, whatever the
// port: with a whitelist entry of the bare host (any port), a second
// origin of the same host within DetectInterval gets nothing, not even a
// connection; after the interval it gets its POST.
func TestDetectRateLimitPerHost(t *testing.T) {
	s := newDetect(t, false, nil)
	l, _, err := whitelist.Parse("user", []byte("127.0.0.1\n"))
	if err != nil {
		t.Fatal(err)
	}
	s.opts.User = whitelist.Source{Path: "user", List: l}
	other := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	s.opts.Fetch.RootCAs.AddCert(other.srv.Certificate())
	if res := Detect(t.Context(), s.opts); !res.Sent {
		t.Fatalf("first Detect = %+v, want sent", res)
	}
	second := s.opts
	second.URL = other.srv.URL + DetectPath + "?id=" + detectID
	s.now.Add(int64(DetectInterval - time.Second))
	res := Detect(t.Context(), second)
	if res.Sent || res.Err != nil || res.Step != StepDetectRateLimit {
		t.Fatalf("Detect of another port of the host within %v = %+v, want refused at %s", DetectInterval, res, StepDetectRateLimit)
	}
	if n := other.hits.Load(); n != 0 {
		t.Errorf("the other port got %d requests", n)
	}
	if msg := res.Message(); !strings.Contains(msg, "went to 127.0.0.1, on this or another port") {
		t.Errorf("message %q does not name the host", msg)
	}
	s.now.Add(int64(time.Second))
	if res := Detect(t.Context(), second); !res.Sent {
		t.Fatalf("Detect of the other port after %v = %+v, want sent", DetectInterval, res)
	}
}
