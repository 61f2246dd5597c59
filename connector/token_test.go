package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/connector/proxytest"
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
			out = append(out, se.Hint)
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
		_, err = mustNew(t, config(p2, tr, dest.addr)).Dial(t.Context())
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
