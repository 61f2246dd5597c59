package connector

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/internal/redact"
	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// FuzzConnectResponse feeds untrusted bytes to the CONNECT answer parser,
// with a random token echoed in a random spelling.
//
// The fuzzer gives the answer, the token's bytes, a spelling and a cut.
// The token is made of visible ASCII (as validToken requires), at least 16
// characters; the echo is a run of at least 16 of its characters (the
// whole token, or a cut of it) in one of the spellings below, and replaces
// every "{T}" in the answer, so the answer embeds it in noise anywhere: the
// reason phrase, a header, the body, a line that is not HTTP.
//
// Invariants: no panic; every failure is a *StepError of a proxy step whose
// text is one line without terminal controls; a success is a 2xx answer and
// leaves every byte behind the header readable, in order; and no spelling
// of any 16-character run of the token survives in the message built from
// the answer (StepError.Err; Addr and Hint are local text), whether it came
// from the echo or from the noise, as it is or as safetext escapes it.
func FuzzConnectResponse(f *testing.F) {
	jwt := []byte("eyJhbGciOiJIUzI1NiJ9." + strings.Repeat("Zm9vYmFy", 30) + `.sig\x+/=`)
	for _, seed := range []string{
		"HTTP/1.1 200 Connection established\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.0 200 OK\r\n\r\nSSH-2.0-OpenSSH\r\n",
		"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Bearer\r\n\r\n",
		"HTTP/1.1 403 Forbidden\r\n\r\n",
		"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 418 \x1b[2J\u202eTeapot\r\n\r\n",
		"HTTP/1.1 407 invalid token " + strings.Repeat("x", 90) + "{T}\r\n\r\n",
		"HTTP/1.1 407 {T}\r\n\r\n",
		"HTTP/1.1 407 bad\\{T}\\\r\n\r\n",
		"HTTP/1.1 403 %{T}%\r\nX-Token: {T}\r\n\r\n",
		"HTTP/1.1 407 Denied\r\n{T}\r\n\r\n",
		"HTTP/1.1 407 Denied\r\nContent-Length: 500\r\n\r\n<p>{T}</p>",
		"HTTP/9.9 {T}\r\n\r\n",
		"{T}\r\n\r\n",
		"SSH-2.0-{T}\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"SSH-2.0-not-http\r\n",
		"HTTP/1.1 200",
		"",
	} {
		for sp := range uint8(numSpellings) {
			f.Add([]byte(seed), jwt, sp, uint16(0))
		}
		f.Add([]byte(seed), []byte("short"), uint8(0), uint16(7))
		f.Add([]byte(seed), jwt, uint8(numSpellings-1), uint16(0x1234))
	}
	f.Fuzz(func(t *testing.T, answer, tokBytes []byte, spelling uint8, cut uint16) {
		tok := fuzzTokenFrom(tokBytes)
		rng := rand.New(rand.NewPCG(uint64(spelling), uint64(cut)))
		run := tok
		if cut != 0 {
			a := int(cut) % (len(tok) - redact.MinRun + 1)
			n := redact.MinRun + int(cut>>8)%(len(tok)-a-redact.MinRun+1)
			run = tok[a : a+n]
		}
		sp := spellings[int(spelling)%numSpellings]
		pieces := make([]string, len(run))
		for i := range run {
			pieces[i] = sp(run[i], rng)
		}
		data := bytes.ReplaceAll(answer, []byte("{T}"), []byte(strings.Join(pieces, "")))

		lim := &headerLimit{r: bytes.NewReader(data), n: maxResponseHeader, limited: true}
		br := bufio.NewReaderSize(lim, 4096)
		secrets := &redact.Set{}
		NewToken(tok).AddTo(secrets)
		err := readConnectResponse(br, lim, "proxy.example.com:8443", "host:23", secrets)
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
			msg := strings.ToLower(se.Err.Error())
			leaks := func(s string) bool {
				s = strings.ToLower(s)
				return strings.Contains(msg, s) || strings.Contains(msg, strings.ToLower(safetext.Sanitize(s)))
			}
			// The echo as it was sent, with its random choices.
			for i := 0; i+redact.MinRun <= len(pieces); i++ {
				if w := strings.Join(pieces[i:i+redact.MinRun], ""); leaks(w) {
					t.Fatalf("error %q carries run %d of the echo %q (token %q)", se.Err, i, w, tok)
				}
			}
			// Every run of the token, in every spelling with fixed choices.
			for k, sp := range spellings {
				spelled := make([]string, len(tok))
				for j := range tok {
					spelled[j] = sp(tok[j], nil)
				}
				for i := 0; i+redact.MinRun <= len(tok); i++ {
					if w := strings.Join(spelled[i:i+redact.MinRun], ""); leaks(w) {
						t.Fatalf("error %q carries run %d of the token in spelling %d: %q (token %q)", se.Err, i, k, w, tok)
					}
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

// fuzzTokenFrom makes a token from fuzz bytes: visible ASCII (other bytes
// are mapped into it), 16 to 512 characters.
func fuzzTokenFrom(b []byte) string {
	const filler = "Zm9vYmFyYmF6cXV4"
	if len(b) > 512 {
		b = b[:512]
	}
	out := make([]byte, len(b), max(len(b), redact.MinRun))
	for i, c := range b {
		if c <= ' ' || c >= 0x7f {
			c = 0x21 + c%94
		}
		out[i] = c
	}
	for i := 0; len(out) < redact.MinRun; i++ {
		out = append(out, filler[i])
	}
	return string(out)
}

// spellings are the ways a proxy may echo a token, one character at a
// time; rng, when not nil, makes the choices that vary along an echo (the
// case of one hex escape, which characters are escaped).
var spellings = []func(c byte, rng *rand.Rand) string{
	func(c byte, _ *rand.Rand) string { return string(c) },                                                // as sent
	func(c byte, _ *rand.Rand) string { return strings.ToUpper(string(c)) },                               // upper case
	func(c byte, _ *rand.Rand) string { return strings.ToLower(string(c)) },                               // lower case
	func(c byte, _ *rand.Rand) string { return fmt.Sprintf("%%%02X", c) },                                 // every byte escaped
	func(c byte, _ *rand.Rand) string { return fmt.Sprintf("%%%02x", c) },                                 // every byte escaped, lower-case hex
	func(c byte, _ *rand.Rand) string { return url.QueryEscape(string(c)) },                               // form-encoded
	func(c byte, _ *rand.Rand) string { return strings.ToLower(url.QueryEscape(string(c))) },              // form-encoded, lower-case hex
	func(c byte, _ *rand.Rand) string { return strings.ReplaceAll(string(c), "+", " ") },                  // form-decoded
	func(c byte, _ *rand.Rand) string { q := strconv.Quote(string(c)); return q[1 : len(q)-1] },           // Go-quoted
	func(c byte, _ *rand.Rand) string { j, _ := json.Marshal(string(c)); return string(j[1 : len(j)-1]) }, // JSON
	func(c byte, _ *rand.Rand) string { return fmt.Sprintf(`\u%04x`, c) },                                 // JSON, every character escaped
	func(c byte, _ *rand.Rand) string { return fmt.Sprintf("%%25%02X", c) },                               // escaped twice
	func(c byte, _ *rand.Rand) string { // base64url alphabet
		return strings.NewReplacer("+", "-", "/", "_").Replace(string(c))
	},
	func(c byte, rng *rand.Rand) string { // some bytes escaped, hex case chosen per escape
		if rng == nil || rng.IntN(2) == 0 {
			return string(c)
		}
		if rng.IntN(2) == 0 {
			return fmt.Sprintf("%%%02x", c)
		}
		return fmt.Sprintf("%%%02X", c)
	},
}

// numSpellings counts spellings and the mix of them that init adds.
const numSpellings = 15

func init() {
	// A mix of all the others, chosen per character (added here: the
	// function refers to spellings).
	spellings = append(spellings, func(c byte, rng *rand.Rand) string {
		if rng == nil {
			return string(c)
		}
		return spellings[rng.IntN(numSpellings-1)](c, rng)
	})
	if len(spellings) != numSpellings {
		panic("numSpellings is not the number of spellings")
	}
}
