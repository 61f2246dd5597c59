package proxyauth

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestParseChallenges(t *testing.T) {
	tok := base64.StdEncoding.EncodeToString([]byte("server token"))
	for _, tc := range []struct {
		name  string
		lines []string
		want  Challenges
	}{
		{"none", nil, Challenges{}},
		{"negotiate alone", []string{"Negotiate"}, Challenges{Negotiate: true}},
		{"lower case", []string{"negotiate"}, Challenges{Negotiate: true}},
		{"negotiate with token", []string{"Negotiate " + tok}, Challenges{Negotiate: true, NegotiateToken: []byte("server token")}},
		{"bad token", []string{"Negotiate !!!"}, Challenges{Negotiate: true, Bad: true}},
		{"one line per scheme", []string{`Basic realm="corp"`, "Negotiate", "NTLM"}, Challenges{Negotiate: true, Basic: true, NTLM: true}},
		{"comma-separated", []string{`Basic realm="a, Negotiate b", Negotiate`}, Challenges{Negotiate: true, Basic: true}},
		{"quoted scheme name is a realm", []string{`Basic realm="x, Negotiate"`}, Challenges{Basic: true}},
		{"auth-params", []string{`Basic realm="corp", charset="UTF-8"`}, Challenges{Basic: true}},
		{"NTLM only", []string{"NTLM"}, Challenges{NTLM: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, l := range tc.lines {
				h.Add("Proxy-Authenticate", l)
			}
			got := ParseChallenges(h)
			if got.Negotiate != tc.want.Negotiate || got.Basic != tc.want.Basic || got.NTLM != tc.want.NTLM || got.Bad != tc.want.Bad || !bytes.Equal(got.NegotiateToken, tc.want.NegotiateToken) {
				t.Errorf("ParseChallenges(%q) = %+v, want %+v", tc.lines, got, tc.want)
			}
		})
	}
}

// FuzzParseChallenges: any header line parses without panic, and a
// token is reported only with Negotiate offered and never with Bad.
func FuzzParseChallenges(f *testing.F) {
	for _, s := range []string{"Negotiate", "Negotiate YWJj", `Basic realm="a,b", Negotiate`, `Basic realm="\"", NTLM`, ",,,", `"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		h := http.Header{"Proxy-Authenticate": {line}}
		c := ParseChallenges(h)
		if c.NegotiateToken != nil && (!c.Negotiate || len(c.NegotiateToken) == 0) {
			t.Fatalf("%q: token without Negotiate: %+v", line, c)
		}
	})
}

func TestNewNegotiateRefusesNonHostNames(t *testing.T) {
	for _, host := range []string{"", "proxy.corp:3128", "HTTP/proxy", "a@b", "a b"} {
		_, err := NewNegotiate(host, Config{Getenv: func(string) string { return "" }})
		var pe *Error
		if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "is not a host name") {
			t.Errorf("NewNegotiate(%q) = %v, want a host name error", host, err)
		}
	}
}

// TestIsNTLM: an NTLM message is found bare and inside a SPNEGO token
// (what Windows' Negotiate sends when it falls back); a Kerberos token is
// not taken for one.
func TestIsNTLM(t *testing.T) {
	negotiateMsg := append([]byte("NTLMSSP\x00\x01\x00\x00\x00"), 0x07, 0x82, 0x08, 0xa2)
	spnego := append([]byte{0x60, 0x28, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02, 0xa0, 0x1e}, negotiateMsg...)
	kerberos := []byte{0x60, 0x82, 0x02, 0x10, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01, 0x00, 0x6e}
	for name, tc := range map[string]struct {
		tok  []byte
		want bool
	}{
		"bare NTLM": {negotiateMsg, true}, "NTLM in SPNEGO": {spnego, true},
		"Kerberos": {kerberos, false}, "NTLMSSP without its NUL": {[]byte("NTLMSSP"), false},
	} {
		if got := isNTLM(tc.tok); got != tc.want {
			t.Errorf("%s: isNTLM = %v, want %v", name, got, tc.want)
		}
	}
}
