package squidacl

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/jws"
	"github.com/trustlaunch/trustlaunch/sessiontoken"
)

var now = time.Unix(1_900_000_000, 0)

const (
	issuer   = "https://portal.example.com"
	audience = "proxy.example.com:8443"
)

type fixture struct {
	key     crypto.Signer
	issuer  *sessiontoken.Issuer
	checker *Checker
	log     *syncBuffer
}

// syncBuffer is a bytes.Buffer the checker's goroutines may write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

func newFixture(t testing.TB, capacity int) *fixture {
	t.Helper()
	f := &fixture{log: &syncBuffer{}}
	f.key, _ = jws.GenerateKey(jws.EdDSA)
	keys, err := sessiontoken.NewKeySet(f.key.Public())
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return now }
	if f.issuer, err = sessiontoken.NewIssuer(sessiontoken.IssuerConfig{Key: f.key, Issuer: issuer, Now: clock}); err != nil {
		t.Fatal(err)
	}
	v, err := sessiontoken.NewVerifier(sessiontoken.VerifierConfig{
		Keys: keys, Issuers: []string{issuer}, Audience: audience,
		Replay: sessiontoken.NewMemoryReplay(capacity), Now: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.checker = NewChecker(v, f.log, "tokencheck")
	return f
}

func (f *fixture) token(t testing.TB, dst string) string {
	t.Helper()
	tok, _, err := f.issuer.Issue(sessiontoken.Grant{Audience: audience, Destination: dst, Subject: "alice smith"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// bearer is the Proxy-Authorization field as Squid sends it: URL-escaped.
func bearer(tok string) string { return url.PathEscape("Bearer " + tok) }

// serve runs Serve over in with workers checking at once.
func (f *fixture) serve(t testing.TB, in string, workers int) string {
	t.Helper()
	var out bytes.Buffer
	err := Serve(t.Context(), strings.NewReader(in), &out, ServeConfig{Check: f.checker.Check, Broken: f.checker.Broken, Refuse: f.checker.Refuse, Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestParseRequest(t *testing.T) {
	for _, tt := range []struct {
		line string
		want Request
		err  string // "" parses
		ch   string // the channel a ProtocolError keeps
	}{
		{"0 Bearer%20abc 127.0.0.1 host.example 23 -", Request{Channel: "0", Authorization: "Bearer abc", Source: "127.0.0.1", DestHost: "host.example", DestPort: "23"}, "", ""},
		{"Bearer%20abc 127.0.0.1 host.example 23 -", Request{Authorization: "Bearer abc", Source: "127.0.0.1", DestHost: "host.example", DestPort: "23"}, "", ""},
		{"999 - ::1 2001:db8::1 992 -", Request{Channel: "999", Source: "::1", DestHost: "2001:db8::1", DestPort: "992"}, "", ""},
		{"123 ::1 h 1 -", Request{Authorization: "123", Source: "::1", DestHost: "h", DestPort: "1"}, "", ""}, // five fields: no channel
		{"7 Bearer%20abc 127.0.0.1 h 23", Request{}, "has 4 fields after the channel ID", "7"},
		{"Bearer%20abc 127.0.0.1 h 23 24", Request{}, "%DATA", ""},
		{"7 Bearer%20abc 127.0.0.1 h 23 - extra", Request{}, "has 7 fields", "7"},
		{"x7 Bearer%20abc 127.0.0.1 h 23 -", Request{}, "has 6 fields", ""},
		{"7 Bearer%20abc 127.0.0.1 h 23 arg", Request{}, "%DATA", "7"},
		{"7 Bearer%20abc  h 23 -", Request{}, "field 2 of the request is empty", "7"},
		{"7 Bearer%zzabc 127.0.0.1 h 23 -", Request{}, "not URL-escaped", "7"},
		{"", Request{}, "has 1 fields", ""},
		{"1234567890 - a b c -", Request{}, "has 6 fields", ""},
	} {
		got, err := ParseRequest(tt.line)
		if tt.err == "" {
			if err != nil || got != tt.want {
				t.Errorf("ParseRequest(%q) = %+v, %v; want %+v", tt.line, got, err, tt.want)
			}
			continue
		}
		var pe *ProtocolError
		if !errors.As(err, &pe) || !strings.Contains(pe.Msg, tt.err) || pe.Channel != tt.ch {
			t.Errorf("ParseRequest(%q): err = %#v, want %q on channel %q", tt.line, err, tt.err, tt.ch)
		}
		if err != nil && strings.Contains(err.Error(), "abc") {
			t.Errorf("ParseRequest(%q): the error quotes the line: %v", tt.line, err)
		}
	}
}

func TestAppendLine(t *testing.T) {
	got := string(Result{Code: OK, User: "alice smith", Log: "jti=x/y"}.AppendLine(nil, "12"))
	if got != "12 OK user=alice%20smith log=jti%3Dx%2Fy\n" {
		t.Errorf("OK line %q", got)
	}
	got = string(Result{Code: Denied, Message: "expired: \"a\"\nBH x=1"}.AppendLine(nil, ""))
	if got != "ERR message=expired%3A%20%22a%22%0ABH%20x%3D1\n" {
		t.Errorf("ERR line %q", got)
	}
	// Squid's decoding gives back the value.
	v, err := url.PathUnescape(strings.TrimPrefix(strings.TrimSpace(got), "ERR message="))
	if err != nil || v != "expired: \"a\"\nBH x=1" {
		t.Errorf("decoded %q, %v", v, err)
	}
}

// TestServe answers what Squid sends with concurrency= above 0: each
// answer on its request's channel, tokens checked end to end.
func TestServe(t *testing.T) {
	f := newFixture(t, 0)
	dst := "mainframe.example.com:23"
	good := f.token(t, dst)
	other := f.token(t, "mainframe.example.com:24")
	lines := []string{
		"0 " + bearer(good) + " 192.0.2.7 mainframe.example.com 23 -",
		"1 - 192.0.2.7 mainframe.example.com 23 -",
		"2 " + bearer(other) + " 192.0.2.7 mainframe.example.com 23 -",
		"3 " + url.PathEscape("Basic dXNlcjpwYXNz") + " 192.0.2.7 mainframe.example.com 23 -",
		"4 " + bearer(good) + " 192.0.2.7 MAINFRAME.example.com. 23 -", // the same client reconnects
		"5 " + bearer(good) + " 192.0.2.8 mainframe.example.com 23 -",  // another client
		"6 " + bearer(good) + " 192.0.2.7 mainframe.example.com 23",    // Squid's format changed
		"7 " + bearer(good) + " 192.0.2.7 0x7f.1 23 -",
		"8 " + url.PathEscape("bearer "+good) + " - mainframe.example.com 23 -", // no client address
	}
	// One worker, so that the first use of the token comes first.
	out := f.serve(t, strings.Join(lines, "\n")+"\n", 1)
	answers := map[string]string{}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		ch, rest, _ := strings.Cut(l, " ")
		answers[ch] = rest
	}
	want := map[string]string{
		"0": "OK user=alice%20smith log=jti%3D",
		"1": "ERR message=missing",
		"2": "ERR message=destination",
		"3": "ERR message=malformed",
		"4": "OK ",
		"5": "ERR message=replayed",
		"6": "BH message=the%20request%20has%204%20fields%20after%20the%20channel%20ID",
		"7": "ERR message=destination",
		"8": "BH message=",
	}
	for ch, w := range want {
		if !strings.HasPrefix(answers[ch], w) {
			t.Errorf("channel %s: %q, want %q...", ch, answers[ch], w)
		}
	}
	if len(answers) != len(lines) {
		t.Errorf("%d answers for %d requests: %q", len(answers), len(lines), out)
	}
	log := f.log.String()
	for _, w := range []string{"refused (missing)", "refused (destination)", "refused (replayed)", "(first used from 192.0.2.7)", `sub "alice smith"`, "error: sessiontoken: the request has no client address"} {
		if !strings.Contains(log, w) {
			t.Errorf("log lacks %q:\n%s", w, log)
		}
	}
	for _, secret := range []string{good, other, "dXNlcjpwYXNz"} {
		if strings.Contains(out, secret) || strings.Contains(log, secret) {
			t.Errorf("a credential reached the answers or the log")
		}
	}
}

// TestServeInOrder: without channel IDs (concurrency=0) the answers come
// in the order of the requests.
func TestServeInOrder(t *testing.T) {
	f := newFixture(t, 0)
	var in strings.Builder
	var want []string
	for i := range 50 {
		port := 23 + i%3
		tok := f.token(t, fmt.Sprintf("h.example:%d", port))
		if i%2 == 0 {
			fmt.Fprintf(&in, "%s 192.0.2.7 h.example 23 -\n", bearer(tok))
			want = append(want, map[bool]string{true: "OK", false: "ERR"}[port == 23])
		} else {
			in.WriteString("- 192.0.2.7 h.example 23 -\n")
			want = append(want, "ERR")
		}
	}
	out := f.serve(t, in.String(), 4)
	var got []string
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		code, _, _ := strings.Cut(l, " ")
		got = append(got, code)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("answers %v, want %v", got, want)
	}
}

// TestServeOversizedLine: a line longer than MaxLineBytes is answered on
// its channel without being read whole, and logged as a refusal, and the
// next line is served.
func TestServeOversizedLine(t *testing.T) {
	f := newFixture(t, 0)
	good := f.token(t, "h.example:23")
	huge := "Bearer%20" + strings.Repeat("A", MaxLineBytes)
	out := f.serve(t, "41 "+huge+" 192.0.2.7 h.example 23 -\n42 "+bearer(good)+" 192.0.2.7 h.example 23 -\n", 4)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	slices.Sort(lines)
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "41 ERR message=oversized") || !strings.HasPrefix(lines[1], "42 OK") {
		t.Fatalf("answers %q", out)
	}
	if strings.Contains(out, "AAAA") {
		t.Error("the answer echoes the line")
	}
	// Like every refusal, it is explained in the log, without the line.
	if log := f.log.String(); !strings.Contains(log, "tokencheck: refused (oversized): the request is longer than 64 KiB; src - dst -\n") || strings.Contains(log, "AAAA") {
		t.Errorf("log %q", log)
	}
}

// TestServeStopsOnWriteError: Squid gone, the helper ends.
func TestServeStopsOnWriteError(t *testing.T) {
	f := newFixture(t, 0)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Serve(t.Context(), pr, failWriter{}, ServeConfig{Check: f.checker.Check, Broken: f.checker.Broken, Refuse: f.checker.Refuse})
	}()
	go func() {
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(pw, "%d - 192.0.2.7 h 23 -\n", i); err != nil {
				return
			}
		}
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Serve returned nil after a failed write")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return 10 s after its writes failed")
	}
	pr.Close()
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

// TestServeConcurrent: 100 requests in flight at once on 100 channels,
// each answered once on its own channel.
func TestServeConcurrent(t *testing.T) {
	f := newFixture(t, 0)
	tok := f.token(t, "h.example:23")
	var in strings.Builder
	for i := range 100 {
		dst := "23"
		if i%10 == 0 {
			dst = "24"
		}
		fmt.Fprintf(&in, "%d %s 192.0.2.7 h.example %s -\n", i, bearer(tok), dst)
	}
	out := f.serve(t, in.String(), 4)
	seen := map[string]string{}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		ch, rest, _ := strings.Cut(l, " ")
		if _, dup := seen[ch]; dup {
			t.Fatalf("channel %s answered twice", ch)
		}
		seen[ch] = rest
	}
	for i := range 100 {
		want := "OK"
		if i%10 == 0 {
			want = "ERR"
		}
		if code, _, _ := strings.Cut(seen[fmt.Sprint(i)], " "); code != want {
			t.Errorf("channel %d: %q, want %s", i, seen[fmt.Sprint(i)], want)
		}
	}
}
