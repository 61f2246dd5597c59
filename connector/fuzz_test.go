package connector

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzConnectResponse feeds untrusted bytes to the CONNECT answer parser.
// Invariants: no panic; every failure is a *StepError of a proxy step whose
// text is one line without terminal controls; a success is a 2xx answer and
// leaves every byte behind the header readable, in order.
// fuzzToken is long, like a JWT, so that a message cut to an excerpt could
// hold part of it.
var fuzzToken = "eyJhbGciOiJIUzI1NiJ9." + strings.Repeat("Zm9vYmFy", 30) + `.sig\x`

func FuzzConnectResponse(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 Connection established\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.0 200 OK\r\n\r\nSSH-2.0-OpenSSH\r\n",
		"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Bearer\r\n\r\n",
		"HTTP/1.1 403 Forbidden\r\n\r\n",
		"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 418 \x1b[2J\u202eTeapot\r\n\r\n",
		"HTTP/1.1 407 invalid token " + strings.Repeat("x", 90) + fuzzToken + "\r\n\r\n",
		"HTTP/9.9 " + fuzzToken + "\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"SSH-2.0-not-http\r\n",
		"HTTP/1.1 200",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := &headerLimit{r: bytes.NewReader(data), n: maxResponseHeader, limited: true}
		br := bufio.NewReaderSize(lim, 4096)
		err := readConnectResponse(br, lim, "proxy.example.com:8443", "host:23", NewToken(fuzzToken))
		if err != nil {
			var se *StepError
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *StepError: %v", err, err)
			}
			switch se.Step {
			case StepProxyAuth, StepProxyPolicy, StepUpstream:
			default:
				t.Fatalf("step %q", se.Step)
			}
			if msg := err.Error(); strings.ContainsFunc(msg, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0x202e }) {
				t.Fatalf("error carries controls: %q", msg)
			}
			// When the answer quotes the token, no part of it long enough to
			// matter survives, wherever a message is cut (unless the answer
			// also holds that part apart from the token).
			prefix := []byte(fuzzToken[:12])
			if bytes.Contains(data, []byte(fuzzToken)) && !bytes.Contains(bytes.ReplaceAll(data, []byte(fuzzToken), nil), prefix) {
				if msg := err.Error(); strings.Contains(msg, string(prefix)) {
					t.Fatalf("error carries the token: %q", msg)
				}
			}
			return
		}
		// Success: the header ended at "\r\n\r\n" or "\n\n"; what follows is
		// the tunnel, untouched.
		lim.limited = false
		rest, rerr := io.ReadAll(br)
		if rerr != nil {
			t.Fatal(rerr)
		}
		if !bytes.HasSuffix(data, rest) {
			t.Fatalf("bytes behind the header changed: %q is not a suffix of the input", rest)
		}
		if len(rest) > 0 {
			head := data[:len(data)-len(rest)]
			if !bytes.HasSuffix(head, []byte("\n")) {
				t.Fatalf("the tunnel starts inside the header: head %q", head)
			}
		}
	})
}
