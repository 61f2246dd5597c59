package connector

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/trustlaunch/trustlaunch/connector/proxytest"
	"github.com/trustlaunch/trustlaunch/internal/redact"
	"github.com/trustlaunch/trustlaunch/internal/redact/redacttest"
)

// verbs is every way a test prints a value.
var verbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T", "%10.3v", "%-20s", "% x", "%#q"}

func TestTokenFormatting(t *testing.T) {
	tok := NewToken(testToken)
	type holder struct {
		Public  Token
		private Token
		Ptr     *Token
	}
	values := map[string]any{
		"token":     tok,
		"pointer":   &tok,
		"holder":    holder{Public: tok, private: tok, Ptr: &tok},
		"config":    Config{Token: tok},
		"connector": &Connector{cfg: Config{Token: tok}},
		"slice":     []Token{tok},
		"map":       map[string]Token{"t": tok},
	}
	for name, v := range values {
		for _, verb := range verbs {
			if s := fmt.Sprintf(verb, v); strings.Contains(s, testToken) {
				t.Errorf("%s under %s: %s", name, verb, s)
			}
		}
	}
	if s := fmt.Sprint(tok); s != "[redacted]" {
		t.Errorf("fmt.Sprint(token) = %q", s)
	}
	if tok.String() != "[redacted]" || tok.GoString() != "[redacted]" {
		t.Error("String or GoString shows more than [redacted]")
	}
	j, err := json.Marshal(holder{Public: tok, Ptr: &tok})
	if err != nil || strings.Contains(string(j), testToken) || !strings.Contains(string(j), `"[redacted]"`) {
		t.Errorf("json: %s, %v", j, err)
	}
	txt, _ := tok.MarshalText()
	if string(txt) != "[redacted]" {
		t.Errorf("MarshalText = %q", txt)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "token", tok, "cfg", Config{Token: tok})
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "token", tok)
	if strings.Contains(buf.String(), testToken) {
		t.Errorf("slog: %s", buf.String())
	}
	var decoded struct{ Token Token }
	if err := json.Unmarshal([]byte(`{"Token":"`+testToken+`"}`), &decoded); err != nil || decoded.Token.reveal() != testToken {
		t.Errorf("UnmarshalText: %v", err)
	}
	if !NewToken("").IsZero() || (Token{}).IsZero() != true || tok.IsZero() {
		t.Error("IsZero")
	}
}

// TestTokenNeverInOutput runs failing and working tunnels, formats every
// error under every verb and collects every log line, and searches all of
// it for the token.
func TestTokenNeverInOutput(t *testing.T) {
	var out []string
	collect := func(err error) {
		if err == nil {
			return
		}
		for _, verb := range verbs {
			out = append(out, fmt.Sprintf(verb, err))
		}
		for e := err; e != nil; e = errors.Unwrap(e) {
			out = append(out, e.Error(), fmt.Sprintf("%#v", e))
		}
		var se *StepError
		if errors.As(err, &se) {
			out = append(out, se.Hint())
		}
	}
	reject := func(p *proxytest.Proxy) { p.CheckToken = func(s string) bool { return s != testToken } }
	dest := newDestination(t, echo)
	logs := newLogSink()
	for _, tr := range transports {
		// Refused token, through Dial and through Serve's log.
		p := newProxy(t, tr, dest.addr, reject)
		cfg := config(p, tr, dest.addr)
		cfg.Logf = logs.Logf
		c := mustNew(t, cfg)
		_, err := c.Dial(t.Context())
		if stepOf(err) != StepProxyAuth {
			t.Fatalf("%s: Dial: %v, want proxy-auth", tr, err)
		}
		collect(err)
		addr := serve(t, c)
		app, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		logs.waitLog(t, ctx, "proxy authentication")
		cancel()
		app.Close()

		// Wrong CA, 403, and a good tunnel that the proxy kills.
		cfg.RootCAs = proxytest.NewCA("x").Pool()
		_, err = mustNew(t, cfg).Dial(t.Context())
		collect(err)
		p2 := newProxy(t, tr, dest.addr, func(p *proxytest.Proxy) { p.Status = 403 })
		refused, err := mustNew(t, config(p2, tr, dest.addr)).Dial(t.Context())
		if refused != nil {
			// proxytest's Status is the CONNECT proxy's answer; the
			// WebSocket double upgrades, and the tunnel must be closed.
			if tr == TransportConnect {
				t.Fatalf("connect: Dial accepted a 403 answer")
			}
			refused.Close()
		}
		collect(err)
		p3 := newProxy(t, tr, dest.addr, nil)
		tun, err := mustNew(t, config(p3, tr, dest.addr)).Dial(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		p3.CloseClientConnections()
		_ = tun.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = tun.Read(make([]byte, 10))
		collect(err)
		tun.Close()
	}
	// Validation errors of New.
	for _, bad := range []Config{
		{ProxyAddr: "p:1", Transport: "connect", Destination: "d:2", Token: NewToken(testToken + "\r\nX: y")},
		{ProxyAddr: "p:1", Transport: "bogus", Destination: "d:2", Token: NewToken(testToken)},
		{ProxyAddr: "p:1", Transport: "connect", Destination: "d:2", Token: NewToken(testToken), Pins: []string{testToken}},
	} {
		_, err := New(bad)
		if err == nil {
			t.Errorf("New(%+v) accepted", bad)
		}
		collect(err)
	}
	all := strings.Join(out, "\n") + "\n" + logs.all()
	if len(out) < 50 || logs.all() == "" {
		t.Fatalf("collected too little to prove anything: %d strings, logs %q", len(out), logs.all())
	}
	if strings.Contains(all, testToken) {
		t.Errorf("the token appears in output:\n%s", all)
	}
}

// spellToken is a token with the characters that encodings change: "+",
// "/" and "=" of base64, "." of a JWT, "%" and a backslash and a quote.
const spellToken = `eyJhbGciOiJFUzI1NiJ9.ab+cd/EF=gh%41ij\kl"mnOPqrSTuv+wx/yz0123456789`

// tokenRunIn finds in s a run of 16 characters of a spelling of tok
// (redacttest.Leak: any case, escaped, base64 at any alignment).
func tokenRunIn(s, tok string) (string, bool) { return redacttest.Leak(s, tok) }

// scriptedProxy is a TLS server on loopback that reads one HTTP request
// per connection, records its header, and answers with fixed bytes, for
// answers that no real proxy and no proxytest knob produces.
type scriptedProxy struct {
	addr    string
	ca      *proxytest.CA
	headers chan http.Header
}

func newScriptedProxy(t *testing.T, answer string) *scriptedProxy {
	t.Helper()
	ca := proxytest.NewCA("scripted proxy CA")
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{ca.Issue(proxytest.Names...)}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	p := &scriptedProxy{addr: ln.Addr().String(), ca: ca, headers: make(chan http.Header, 10)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			if req, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
				select {
				case p.headers <- req.Header:
				default:
				}
				_, _ = io.WriteString(c, answer)
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return p
}

func (p *scriptedProxy) config(tr Transport) Config {
	return Config{ProxyAddr: p.addr, Transport: tr, RootCAs: p.ca.Pool(), Destination: "mainframe.example.com:23", Token: NewToken(spellToken)}
}

// TestRefusalShowsStatusOnly: from a proxy's refusal the error keeps the
// status code and its standard phrase, never the proxy's reason phrase, a
// header or the body; where it must show the proxy's text (an answer that
// is not HTTP), no spelling of the token survives, its base64 at any
// alignment included.
func TestRefusalShowsStatusOnly(t *testing.T) {
	lowerEsc := strings.ToLower(url.QueryEscape(spellToken))
	longReason := "Denied " + lowerEsc[:40] + " " + strings.Repeat("padding ", 10) + "TAILMARK"
	b64 := func(k int) string { return base64.StdEncoding.EncodeToString([]byte("{t:"[:k] + spellToken + `"}`)) }
	cases := []struct {
		name   string
		answer string
		want   Step
		inText string
	}{
		{"407 with echoes in reason, header and body",
			"HTTP/1.1 407 REASONMARK " + longReason + "\r\nX-Echo: HEADERMARK " + lowerEsc + "\r\nContent-Length: 90\r\n\r\nBODYMARK " + strings.ReplaceAll(spellToken, "+", " ") + strings.Repeat(".", 90),
			StepProxyAuth, "(407 Proxy Authentication Required)"},
		{"403 quoting a cut token", "HTTP/1.1 403 REASONMARK " + strings.ToUpper(spellToken[3:25]) + "\r\nContent-Length: 0\r\n\r\n", StepProxyPolicy, "(403 Forbidden)"},
		{"403 quoting the token's base64", "HTTP/1.1 403 REASONMARK " + b64(0) + "\r\nContent-Length: 0\r\n\r\n", StepProxyPolicy, "(403 Forbidden)"},
		{"malformed header line quoting the token", "HTTP/1.1 407 Denied\r\nHEADERMARK " + spellToken[:30] + "\r\n\r\n", StepProxyPolicy, ""},
		{"not HTTP, quoting a cut token", "SSH-2.0-" + spellToken[10:40] + "\r\n\r\n", StepProxyPolicy, "not HTTP"},
		{"not HTTP, quoting the token's base64 at alignment 1", "SSH-2.0-" + b64(1)[:40] + "\r\n\r\n", StepProxyPolicy, `(first line "SSH-2.0-e2[redacted]")`},
		{"not HTTP, quoting the token's base64url at alignment 2, in lower case", "X " + strings.ToLower(base64.RawURLEncoding.EncodeToString([]byte("{t" + spellToken)))[:44] + "\r\n\r\n", StepProxyPolicy, `(first line "X e3r[redacted]")`},
		{"101 with a bad Upgrade header", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: HEADERMARK-" + lowerEsc + "\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n", StepProxyPolicy, "101 Switching Protocols"},
	}
	for _, tr := range transports {
		for _, tc := range cases {
			t.Run(string(tr)+"/"+tc.name, func(t *testing.T) {
				p := newScriptedProxy(t, tc.answer)
				_, err := mustNew(t, p.config(tr)).Dial(t.Context())
				var se *StepError
				if !errors.As(err, &se) {
					t.Fatalf("Dial: %v, want a *StepError", err)
				}
				if se.Step != tc.want {
					t.Errorf("step %s, want %s: %v", se.Step, tc.want, err)
				}
				msg := se.Err.Error()
				if !strings.Contains(msg, tc.inText) {
					t.Errorf("error %q: want %q in it", msg, tc.inText)
				}
				for _, mark := range []string{"HEADERMARK", "BODYMARK", "TAILMARK", "REASONMARK", "padding"} {
					if strings.Contains(msg, mark) {
						t.Errorf("error %q shows %s: more than the status code and a short reason", msg, mark)
					}
				}
				if run, ok := tokenRunIn(msg, spellToken); ok {
					t.Errorf("error %q carries the token run %q", msg, run)
				}
				if n := utf8.RuneCountInString(msg); n > 160 {
					t.Errorf("error is %d runes long, want a short reason: %q", n, msg)
				}
				for e := error(err); e != nil; e = errors.Unwrap(e) {
					if run, ok := tokenRunIn(e.Error(), spellToken); ok {
						t.Errorf("the chain's %T carries the token run %q", e, run)
					}
				}
			})
		}
	}
}

// TestWebSocketCloseReason: the reason of the proxy's close frame reaches
// the relay error and so the log; it is cut short, sanitized, and holds no
// spelling of the token.
func TestWebSocketCloseReason(t *testing.T) {
	ca := proxytest.NewCA("close reason CA")
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{ca.Issue(proxytest.Names...)}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	reason := "bad \x1b[2J " + strings.ToLower(url.QueryEscape(spellToken))[:70] + " " + strings.Repeat("pad ", 7) + "TAILMARK"
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"binary"}})
		if err != nil {
			return
		}
		_ = c.Close(websocket.StatusPolicyViolation, reason)
	}), ErrorLog: log.New(io.Discard, "", 0)}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done })

	cfg := Config{ProxyAddr: ln.Addr().String(), Transport: TransportWebSocket, RootCAs: ca.Pool(), Destination: "mainframe.example.com:23", Token: NewToken(spellToken)}
	tun, err := mustNew(t, cfg).Dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tun.Close()
	_ = tun.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = tun.Read(make([]byte, 10))
	if stepOf(err) != StepRelay {
		t.Fatalf("Read: %v, want a relay error", err)
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation {
		t.Errorf("Read: %v; want a websocket.CloseError with the status in the chain", err)
	}
	for e := error(err); e != nil; e = errors.Unwrap(e) {
		msg := e.Error()
		if run, ok := tokenRunIn(msg, spellToken); ok {
			t.Errorf("%T %q carries the token run %q", e, msg, run)
		}
		if strings.Contains(msg, "\x1b") || strings.Contains(msg, "TAILMARK") {
			t.Errorf("%T %q: the reason is not sanitized and cut short", e, msg)
		}
	}
	if !strings.Contains(err.Error(), "1008") && !strings.Contains(err.Error(), "PolicyViolation") {
		t.Errorf("Read: %v; want the close status named", err)
	}
}

// TestUserAgent: both transports name trustlaunch and its version in
// User-Agent, from Config.UserAgent, and "trustlaunch" without one.
func TestUserAgent(t *testing.T) {
	if got := UserAgent("1.2.3"); got != "trustlaunch/1.2.3" {
		t.Errorf("UserAgent(1.2.3) = %q", got)
	}
	if got := UserAgent(""); got != "trustlaunch" {
		t.Errorf("UserAgent(\"\") = %q", got)
	}
	for _, tr := range transports {
		for _, ua := range []string{"trustlaunch/1.2.3", ""} {
			p := newScriptedProxy(t, "HTTP/1.1 407 Denied\r\nContent-Length: 0\r\n\r\n")
			cfg := p.config(tr)
			cfg.UserAgent = ua
			if _, err := mustNew(t, cfg).Dial(t.Context()); stepOf(err) != StepProxyAuth {
				t.Fatalf("%s: Dial: %v, want the 407", tr, err)
			}
			want := ua
			if want == "" {
				want = "trustlaunch"
			}
			select {
			case h := <-p.headers:
				if got := h.Values("User-Agent"); len(got) != 1 || got[0] != want {
					t.Errorf("%s with UserAgent %q: the proxy saw User-Agent %q, want %q", tr, ua, got, want)
				}
			case <-t.Context().Done():
				t.Fatal("no request")
			}
		}
	}
}

// TestEndToEndTLSErrorScrubbed: with end-to-end TLS the proxy, which holds
// the token, can answer the inner handshake itself; the names of its
// certificate, quoted in the error, lose every spelling of the token.
func TestEndToEndTLSErrorScrubbed(t *testing.T) {
	forged := proxytest.NewCA("CA " + strings.ToUpper(spellToken[:40]))
	tlsDest := newDestination(t, func(c net.Conn) {
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{forged.Issue(strings.ReplaceAll(spellToken[10:50], "+", " "), "127.0.0.1")}})
		_ = tc.Handshake()
	})
	p := newProxy(t, TransportConnect, tlsDest.addr, nil)
	cfg := config(p, TransportConnect, tlsDest.addr)
	cfg.Token = NewToken(spellToken)
	cfg.EndToEndTLS, cfg.DestRootCAs = true, proxytest.NewCA("the destination's real CA").Pool()
	_, err := mustNew(t, cfg).Dial(t.Context())
	if stepOf(err) != StepTLS || !strings.Contains(err.Error(), "unknown authority") {
		t.Fatalf("Dial: %v; want a tls error naming the unknown authority", err)
	}
	for e := error(err); e != nil; e = errors.Unwrap(e) {
		if run, ok := tokenRunIn(e.Error(), spellToken); ok {
			t.Errorf("%T %q carries the token run %q", e, e.Error(), run)
		}
	}
}

// TestConfigSecrets: Config.Secrets is the run's one registry. New adds
// the token and the outbound proxy's credentials to it, so that the
// caller's messages are scrubbed of them too, and the connector scrubs
// what a proxy sends of every secret in it, such as a launch's ticket.
func TestConfigSecrets(t *testing.T) {
	const ticket = "tk_7f3a9c2e41b8d605e9f1a2b3c4d5"
	secrets := &redact.Set{}
	secrets.AddQuery("https://portal.example.com/d/1?ticket=" + ticket)
	p := newScriptedProxy(t, "SSH-2.0-"+strings.ToUpper(ticket)+"\r\n\r\n")
	cfg := p.config(TransportConnect)
	cfg.Secrets = secrets
	ob, err := NewOutboundProxy(SourceFlag, "http://"+outboundUserinfo+"@127.0.0.1:1", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Outbound = ob // NO_PROXY names the scripted proxy: only its credentials count here
	_, err = mustNew(t, cfg).Dial(t.Context())
	if err == nil || !strings.Contains(err.Error(), `(first line "SSH-2.0-[redacted]")`) {
		t.Fatalf("Dial: %v; want the ticket scrubbed from the first line", err)
	}
	for _, secret := range []string{spellToken, outboundPass, outboundBasic} {
		if got := secrets.Scrub("x " + secret + " y"); got != "x [redacted] y" {
			t.Errorf("after New, the caller's registry scrubs %q to %q", secret, got)
		}
	}
}

// TestCheckToken: the token rule, at its edges. The error never holds the
// token.
func TestCheckToken(t *testing.T) {
	for _, tc := range []struct {
		name, token, want string // want "" for accepted
	}{
		{"empty", "", "missing"},
		{"one byte", "x", ""},
		{"at the limit", strings.Repeat("A", MaxTokenBytes), ""},
		{"over the limit", strings.Repeat("A", MaxTokenBytes+1), "16385 bytes long, more than 16384 (16 KiB)"},
		{"space", "SECRET SECRET", "visible ASCII at byte 6"},
		{"CRLF", "SECRET\r\nX-Evil: 1", "visible ASCII at byte 6"},
		{"DEL", "SECRET\x7f", "visible ASCII at byte 6"},
		{"non-ASCII", "SECRETé", "visible ASCII at byte 6"},
		{"every visible character", "!\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~", ""},
	} {
		err := CheckToken(tc.token)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v; want an error with %q", tc.name, err, tc.want)
		case err != nil && strings.Contains(err.Error(), "SECRET"):
			t.Errorf("%s: the error shows the token: %v", tc.name, err)
		}
	}
}
