package redact

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/trustlaunch/trustlaunch/internal/redact/redacttest"
)

// The secrets a launch holds, each with the characters that encodings
// change: "+", "/" and "=" of base64, "." of a JWT, "%", a backslash and a
// quote.
const (
	token    = `eyJhbGciOiJFUzI1NiJ9.ab+cd/EF=gh%41ij\kl"mnOPqrSTuv+wx/yz0123456789`
	password = `Corp-Pr0xy/Pa55w0rd!Spring`
	user     = "alice"
	ticket   = "tk_7f3a9c2e41b8d605e9f1a2b3c4d5e6f7"
)

// secretsOfALaunch is the registry a launch fills.
func secretsOfALaunch() *Set {
	var s Set
	s.Add(token)
	s.Add(password)
	s.Add(user + ":" + password) // the Basic credential's clear text
	s.AddQuery("https://portal.example.com/d/1?ticket=" + ticket + "&lang=en")
	return &s
}

func lowerPct(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02x", s[i])
	}
	return b.String()
}

func jsonEscapeAll(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, `\u%04x`, s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// spellings are the forms a test plants, by name, for one secret.
func spellings(secret string) map[string]string {
	sp := map[string]string{
		"as is":                              secret,
		"upper case":                         strings.ToUpper(secret),
		"lower case":                         strings.ToLower(secret),
		"query escaped":                      url.QueryEscape(secret),
		"query escaped, lower-case hex":      strings.ToLower(url.QueryEscape(secret)),
		"every byte escaped, upper-case hex": strings.ToUpper(lowerPct(secret)),
		"every byte escaped, lower-case hex": lowerPct(secret),
		"escaped twice":                      url.QueryEscape(url.QueryEscape(secret)),
		"path escaped":                       url.PathEscape(secret),
		"form decoded":                       strings.ReplaceAll(secret, "+", " "),
		"form decoded and %41 decoded":       strings.ReplaceAll(strings.ReplaceAll(secret, "+", " "), "%41", "A"),
		"Go quoted":                          strconv.Quote(secret),
		"JSON":                               string(must(json.Marshal(secret))),
		"JSON, every byte \\u-escaped":       jsonEscapeAll(secret),
		"base64url alphabet":                 strings.NewReplacer("+", "-", "/", "_").Replace(secret),
		"base64 alone":                       base64.StdEncoding.EncodeToString([]byte(secret)),
		"base64 alone, lower case":           strings.ToLower(base64.StdEncoding.EncodeToString([]byte(secret))),
		"base64url alone, no padding":        base64.RawURLEncoding.EncodeToString([]byte(secret)),
		"base64, query escaped":              url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(secret))),
	}
	for k := range 3 {
		sp[fmt.Sprintf("base64 at alignment %d", k)] = redacttest.EncodedAt(base64.StdEncoding, secret, k)
		sp[fmt.Sprintf("base64 at alignment %d, upper case", k)] = strings.ToUpper(redacttest.EncodedAt(base64.StdEncoding, secret, k))
		sp[fmt.Sprintf("base64url at alignment %d", k)] = redacttest.EncodedAt(base64.RawURLEncoding, secret, k)
		sp[fmt.Sprintf("base64url at alignment %d, lower case", k)] = strings.ToLower(redacttest.EncodedAt(base64.RawURLEncoding, secret, k))
	}
	// Cuts down to MinRun characters: of the secret, then spelled; and of
	// its encodings at each alignment (past the characters that hold the
	// bytes around it).
	for _, at := range []struct {
		name  string
		start int
	}{{"first", 0}, {"middle", len(secret)/2 - MinRun/2}, {"last", -1}} {
		cut := cutRun(secret, at.start)
		sp["MinRun cut, "+at.name] = cut
		sp["MinRun cut, "+at.name+", upper case"] = strings.ToUpper(cut)
		sp["MinRun cut, "+at.name+", every byte escaped"] = lowerPct(cut)
		for k := range 3 {
			sp[fmt.Sprintf("MinRun cut, %s, base64 at alignment %d", at.name, k)] = redacttest.EncodedAt(base64.StdEncoding, cut, k)
			sp[fmt.Sprintf("MinRun cut, %s, base64url at alignment %d, lower case", at.name, k)] = strings.ToLower(redacttest.EncodedAt(base64.RawURLEncoding, cut, k))
			inner := redacttest.Inner(redacttest.EncodedAt(base64.StdEncoding, secret, k))
			if at.start < 0 {
				sp[fmt.Sprintf("base64 at alignment %d, its last MinRun", k)] = inner[len(inner)-MinRun:]
			} else {
				a := min(at.start, len(inner)-MinRun)
				sp[fmt.Sprintf("base64 at alignment %d, MinRun of it from the %s", k, at.name)] = inner[a : a+MinRun]
			}
		}
	}
	return sp
}

// cutRun returns MinRun characters of secret from start (-1: its last),
// not counting backslashes, which spellings drop.
func cutRun(secret string, start int) string {
	if start < 0 {
		end := len(secret)
		n := 0
		i := end
		for n < MinRun {
			i--
			if secret[i] != '\\' {
				n++
			}
		}
		return secret[i:end]
	}
	n, i := 0, start
	for ; n < MinRun; i++ {
		if secret[i] != '\\' {
			n++
		}
	}
	return secret[start:i]
}

// TestReferenceRun: redacttest's reference check looks for cuts of the
// length this package promises to catch.
func TestReferenceRun(t *testing.T) {
	if redacttest.Run != MinRun {
		t.Fatalf("redacttest.Run = %d, MinRun = %d", redacttest.Run, MinRun)
	}
}

// TestScrubPlantedSecrets plants each secret a launch holds (the session
// token, the outbound proxy's password and its Basic credential, the
// descriptor URL's ticket) in each spelling: case, percent-encoding,
// base64 and base64url at each of the three byte alignments, and cuts down
// to MinRun characters. Each is replaced; the text around is kept.
func TestScrubPlantedSecrets(t *testing.T) {
	s := secretsOfALaunch()
	secrets := map[string]string{"token": token, "password": password, "basic credential": user + ":" + password, "ticket": ticket}
	for sname, secret := range secrets {
		for form, text := range spellings(secret) {
			t.Run(sname+"/"+form, func(t *testing.T) {
				in := "407 refused <" + text + "> from 10.0.0.1"
				got := s.Scrub(in)
				if !strings.HasPrefix(got, "407 refused <") || !strings.HasSuffix(got, "> from 10.0.0.1") || !strings.Contains(got, Redacted) {
					t.Fatalf("Scrub(%q) = %q; want the text around the secret kept and the secret %s", in, got, Redacted)
				}
				for name, sec := range secrets {
					if run, ok := redacttest.Leak(got, sec); ok {
						t.Errorf("Scrub(%q) = %q keeps the run %q of the %s", in, got, run, name)
					}
				}
			})
		}
	}
}

// TestScrubBasicCredential: the Basic credential as a proxy would echo it,
// in any case, is removed by the password alone (its clear text need not
// be registered): the password's encoding at its alignment inside
// "user:password" is one of the forms.
func TestScrubBasicCredential(t *testing.T) {
	var s Set
	s.Add(password)
	cred := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	for _, text := range []string{cred, strings.ToLower(cred), strings.ToUpper(cred), url.QueryEscape(cred)} {
		got := s.Scrub("Proxy-Authorization: Basic " + text)
		if run, ok := redacttest.Leak(got, password); ok {
			t.Errorf("Scrub(Basic %s) = %q keeps %q", text, got, run)
		}
	}
}

// TestScrubShortRunsKept: a cut shorter than MinRun is not a secret (the
// stated minimum), so it stays, as does ordinary text.
func TestScrubShortRunsKept(t *testing.T) {
	s := secretsOfALaunch()
	for _, text := range []string{
		"id " + token[:MinRun-1] + " and " + token[30:30+MinRun-1],
		"ticket " + ticket[3:3+MinRun-1],
		"certificate signed by unknown authority (certificate \"proxy.example.com\")",
		"407 Proxy Authentication Required",
	} {
		if got := s.Scrub(text); got != text {
			t.Errorf("Scrub(%q) = %q; want it unchanged", text, got)
		}
	}
}

// TestScrubShortSecret: a secret shorter than MinRun is caught whole, in
// its spellings, and its short base64 fragments are not looked for.
func TestScrubShortSecret(t *testing.T) {
	var s Set
	s.Add("s3cr+t/x")
	if got := s.Scrub("a S3CR%2bT%2Fx b s3cr t/x c"); got != "a [redacted] b [redacted] c" {
		t.Errorf("short secret: %q", got)
	}
	var tiny Set
	tiny.Add("pw1")
	if got := tiny.Scrub("cHcx is not it, PW1 is"); got != "cHcx is not it, [redacted] is" {
		t.Errorf("tiny secret: %q", got)
	}
}

func TestAddQuery(t *testing.T) {
	var s Set
	s.AddQuery("https://portal.example.com/d/1?ticket=abc%2Bdef123&lang=en#frag=zz99zz99")
	for _, text := range []string{"abc+def123", "ABC%2BDEF123", "ticket=abc%2Bdef123&lang=en#frag=zz99zz99", "zz99zz99"} {
		if got := s.Scrub("x " + text + " y"); got != "x [redacted] y" {
			t.Errorf("Scrub(%q) = %q", text, got)
		}
	}
	if got := s.Scrub("lang en"); got != "lang en" {
		t.Errorf("a short value was taken for a secret: %q", got)
	}
	var none Set
	none.AddQuery("https://portal.example.com/d/1")
	if none.Len() != 0 {
		t.Errorf("a URL without a query added %d secrets", none.Len())
	}
}

// TestSetNeverShowsSecrets: no fmt verb prints what a Set holds.
func TestSetNeverShowsSecrets(t *testing.T) {
	s := secretsOfALaunch()
	_ = s.Scrub("build the index") // so that the windows exist too
	type holder struct {
		S *Set
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		for _, v := range []any{s, holder{s}, []*Set{s}} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(strings.ToLower(out), "alice") || strings.Contains(out, "eyJ") || strings.Contains(out, "tk_7f") {
				t.Errorf("%s of %T shows a secret: %s", verb, v, out)
			}
		}
	}
	if s.String() != "redact.Set(5 secrets)" {
		t.Errorf("String = %q", s.String())
	}
}

// TestNilSet: a nil Set scrubs nothing; adding to it panics rather than
// dropping the secret.
func TestNilSet(t *testing.T) {
	var s *Set
	if got := s.Scrub(token); got != token {
		t.Errorf("nil Scrub = %q", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("Add on a nil Set did not panic")
		}
	}()
	s.Add(token)
}

// TestScrubConcurrentAdd: secrets added while other goroutines scrub are
// caught by every Scrub that starts after the Add returned.
func TestScrubConcurrentAdd(t *testing.T) {
	var s Set
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			secret := fmt.Sprintf("secret-%02d-%s", i, ticket)
			s.Add(secret)
			if got := s.Scrub("x " + secret + " y"); got != "x [redacted] y" {
				t.Errorf("Scrub after Add = %q", got)
			}
		})
	}
	wg.Wait()
}

// FuzzScrub plants a cut of a random secret, in a random spelling, at a
// random place in random text: no run of MinRun characters of the secret
// or its encodings survives. Secrets are visible ASCII (a token must be,
// and the reference check compares in ASCII lower case) without
// backslashes (which views drop, so a cut with one holds fewer than MinRun
// characters).
func FuzzScrub(f *testing.F) {
	f.Add([]byte(token), "pre ", " post", uint8(0), uint16(0))
	f.Add([]byte(password), "Basic ", "", uint8(5), uint16(0x0102))
	f.Add([]byte(ticket), "", "", uint8(9), uint16(0x0301))
	f.Fuzz(func(t *testing.T, secret []byte, before, after string, spelling uint8, cut uint16) {
		if len(secret) < MinRun || len(secret) > 512 {
			return
		}
		for i, c := range secret {
			if c <= ' ' || c >= 0x7f || c == '\\' {
				secret[i] = 0x21 + c%93
				if secret[i] >= '\\' {
					secret[i]++
				}
			}
		}
		sec := string(secret)
		var s Set
		s.Add(sec)
		run := sec
		if cut != 0 {
			a := int(cut) % (len(sec) - MinRun + 1)
			n := MinRun + int(cut>>8)%(len(sec)-a-MinRun+1)
			run = sec[a : a+n]
		}
		var planted string
		switch spelling % 8 {
		case 0:
			planted = run
		case 1:
			planted = strings.ToUpper(run)
		case 2:
			planted = lowerPct(run)
		case 3:
			planted = url.QueryEscape(run)
		default:
			k := int(spelling%8) - 4 // 0..3: the fourth is base64url at alignment 0
			enc := base64.StdEncoding
			if k == 3 {
				k, enc = 0, base64.RawURLEncoding
			}
			full := redacttest.EncodedAt(enc, sec, k)
			// A cut of the encoding, of at least MinRun characters of
			// the secret's own (past the 4 of the bytes around it).
			inner := redacttest.Inner(full)
			if len(inner) < MinRun {
				return
			}
			a := int(cut) % (len(inner) - MinRun + 1)
			planted = inner[a:]
		}
		out := s.Scrub(before + planted + after)
		if run, ok := redacttest.Leak(out, sec); ok {
			t.Fatalf("Scrub of %q in spelling %d left %q: %q", sec, spelling%8, run, out)
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// BenchmarkScrub: one message of 200 bytes against a launch's secrets (a
// token of 1 KiB); the first call builds the index.
func BenchmarkScrub(b *testing.B) {
	var s Set
	s.Add("eyJhbGciOiJFUzI1NiJ9." + strings.Repeat("Zm9vYmFyYmF6", 80) + ".c2lnbmF0dXJl")
	s.Add(password)
	s.AddQuery("https://portal.example.com/d/1?ticket=" + ticket)
	msg := "proxy request at proxy.example.com:8443: unexpected answer from the proxy: 418 I'm a teapot; the proxy's answer is not HTTP (first line \"SSH-2.0-OpenSSH_9.2p1 Debian-2\")"
	_ = s.Scrub(msg)
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Scrub(msg)
	}
}

// BenchmarkFirstScrub: a new registry's first Scrub, which indexes the
// secrets: a launch pays it once, on its first message, for a token of
// 1 KiB (a JWT) or of 16 KiB (the largest a descriptor may carry).
func BenchmarkFirstScrub(b *testing.B) {
	for _, n := range []int{1 << 10, 16 << 10} {
		raw := make([]byte, n*3/4)
		rng := rand.New(rand.NewPCG(1, uint64(n)))
		for i := range raw {
			raw[i] = byte(rng.Uint32())
		}
		tok := base64.RawURLEncoding.EncodeToString(raw)
		b.Run(fmt.Sprintf("token %d KiB", n>>10), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var s Set
				s.Add(tok)
				s.Add(password)
				_ = s.Scrub("407 Proxy Authentication Required")
			}
		})
	}
}
