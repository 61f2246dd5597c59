//go:build unix

package main

import (
	"bytes"
	"crypto/ed25519"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/internal/squidacl"
	"github.com/trustlaunch/trustlaunch/sessiontoken"
)

func TestAuthHandler(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	set, err := sessiontoken.NewKeySet(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	v, err := sessiontoken.NewVerifier(sessiontoken.VerifierConfig{Keys: set, Issuers: []string{"https://portal.example.com"}, Audience: "ws.example.com:443", Replay: sessiontoken.NewMemoryReplay(0)})
	if err != nil {
		t.Fatal(err)
	}
	iss, _ := sessiontoken.NewIssuer(sessiontoken.IssuerConfig{Key: key, Issuer: "https://portal.example.com"})
	token := func(dst string) string {
		tok, _, err := iss.Issue(sessiontoken.Grant{Audience: "ws.example.com:443", Destination: dst, Subject: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	var log bytes.Buffer
	h := newAuthHandler(squidacl.NewChecker(v, &log, name))
	do := func(headers map[string]string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/check", nil)
		for k, v := range headers {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	uri := func(tok string) string { return "/sessions/mainframe?token=" + url.QueryEscape(tok) }
	tok, other, replayed := token("mainframe.example.com:23"), token("payroll.example.com:23"), token("mainframe.example.com:23")
	std := func(m map[string]string) map[string]string {
		out := map[string]string{headerSource: "192.0.2.7", headerDestination: "Mainframe.example.com:23"}
		for k, v := range m {
			if v == "" {
				delete(out, k)
				continue
			}
			out[k] = v
		}
		return out
	}
	for _, tt := range []struct {
		name    string
		headers map[string]string
		code    int
		log     string
	}{
		{"token in the original URI", std(map[string]string{headerOriginalURI: uri(tok)}), 200, ""},
		{"the same client again", std(map[string]string{headerOriginalURI: uri(tok)}), 200, ""},
		{"token in X-Forwarded-Uri", std(map[string]string{headerForwardedURI: uri(token("mainframe.example.com:23"))}), 200, ""},
		{"token in Authorization", std(map[string]string{"Authorization": "Bearer " + token("mainframe.example.com:23")}), 200, ""},
		{"the same token twice", std(map[string]string{headerOriginalURI: uri(replayed), "Authorization": "Bearer " + replayed}), 200, ""},
		{"no token", std(map[string]string{headerOriginalURI: "/sessions/mainframe"}), 401, "refused (missing)"},
		{"another client", std(map[string]string{headerOriginalURI: uri(tok), headerSource: "192.0.2.8"}), 401, "refused (replayed)"},
		{"a token for another host", std(map[string]string{headerOriginalURI: uri(other)}), 401, "refused (destination)"},
		{"two tokens", std(map[string]string{headerOriginalURI: uri(token("mainframe.example.com:23")), "Authorization": "Bearer " + other}), 401, "refused (malformed): the request carries more than one token"},
		{"not Bearer", std(map[string]string{"Authorization": "Basic YTpi"}), 401, "refused (malformed)"},
		{"no source", std(map[string]string{headerOriginalURI: uri(tok), headerSource: ""}), 403, "error: the front proxy sent no X-Real-IP or no X-Trustlaunch-Destination"},
		{"no destination", std(map[string]string{headerOriginalURI: uri(tok), headerDestination: ""}), 403, "error: the front proxy sent no"},
		{"a destination without a port", std(map[string]string{headerOriginalURI: uri(tok), headerDestination: "mainframe"}), 403, "is not host:port"},
	} {
		log.Reset()
		w := do(tt.headers)
		if w.Code != tt.code || !strings.Contains(log.String(), tt.log) {
			t.Errorf("%s: %d, log %q; want %d and %q", tt.name, w.Code, log.String(), tt.code, tt.log)
		}
		if tt.code == 200 && w.Header().Get(headerUser) != "alice" {
			t.Errorf("%s: %s = %q", tt.name, headerUser, w.Header().Get(headerUser))
		}
		for _, secret := range []string{tok, other, replayed} {
			if strings.Contains(log.String()+w.Body.String(), secret) {
				t.Errorf("%s: a token is in the log or the answer", tt.name)
			}
		}
	}
}
