//go:build linux

package peers_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/peers"
	"github.com/trustlaunch/trustlaunch/sessiontoken"
)

// TestNginxTokenCheck is the WebSocket transport's deployment of
// docs/proxy.md, run as documented: nginx with auth_request to
// `trustlaunch-tokencheck http` (its single-use records in Redis), in
// front of a websockify with a fixed target, Hercules. `trustlaunch open`
// goes through it to Hercules's screen; then every refusal of the Squid
// tests, each a 401 to the WebSocket upgrade; with Redis stopped, a 403.
// No token may reach nginx's access or error log, websockify's log, the
// endpoint's log or Redis's.
func TestNginxTokenCheck(t *testing.T) {
	t.Parallel()
	bin := peers.BuildTrustlaunch(t)
	h := peers.StartHercules(t, peers.HerculesOptions{})
	rd := peers.StartRedis(t, peers.RedisOptions{})
	portal := peers.NewTokenIssuer(t, "ws.test:443", "")
	check := peers.StartTokenCheckHTTP(t, peers.TokenCheckHTTPOptions{Tokens: portal,
		HelperArgs: []string{"--redis", rd.URL(), "--redis-password-file", rd.PasswordFile}})
	ws := peers.StartWebsockify(t, peers.WebsockifyOptions{Target: h.Addr})
	ng := peers.StartNginx(t, peers.NginxOptions{Upstream: ws.Addr, TokenCheck: check.Addr, Destination: h.Addr})
	var planted, wantLog []string
	plant := func(tok string) string { planted = append(planted, tok); return tok }

	// launch runs trustlaunch open with a descriptor naming nginx's
	// WebSocket location and token, and returns its output and error.
	launch := func(t *testing.T, token string) (string, error) {
		hostIP, hostPort, _ := net.SplitHostPort(h.Addr)
		port, _ := strconv.Atoi(hostPort)
		desc := map[string]any{
			"version": 1,
			"session": "Hercules console (nginx + websockify)",
			"profile": "s3270-script",
			"proxy": map[string]any{
				"address": ng.Addr, "transport": "websocket", "path": peers.SessionPath,
				"server_name": "127.0.0.1", "ca_pem": string(ng.Cert.CA.CertPEM),
			},
			"destination": map[string]any{"host": hostIP, "port": port},
			"token":       plant(token),
		}
		originCA := peers.NewCA(t)
		origin := startOrigin(t, originCA, desc)
		home := t.TempDir()
		writeConfig(t, home, origin)
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		link := "trustlaunch://launch?url=" + url.QueryEscape(origin+"/descriptor?ticket=tkt-9f8e7d")
		cmd := exec.CommandContext(ctx, bin, "open", "--admin-whitelist", "/nonexistent-trustlaunch-test/whitelist.txt", "--", link)
		cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(home, "config"), "XDG_STATE_HOME="+filepath.Join(home, "state"), "SSL_CERT_FILE="+originCA.CertFile)
		cmd.Stdin = strings.NewReader("")
		cmd.WaitDelay = 5 * time.Second
		out, err := cmd.CombinedOutput()
		if strings.Contains(string(out), token) {
			t.Error("the token is in trustlaunch's output")
		}
		return string(out), err
	}

	t.Run("trustlaunch open", func(t *testing.T) {
		out, err := launch(t, portal.Token(t, h.Addr))
		if err != nil {
			t.Fatalf("trustlaunch open: %v\n%s", err, out)
		}
		if screen := peers.ParseS3270Screen(out); !strings.Contains(screen, "Hercules") {
			t.Fatalf("the emulator's screen does not show Hercules:\n%s", out)
		}
	})

	t.Run("trustlaunch open with a token for another host", func(t *testing.T) {
		out, err := launch(t, portal.Token(t, "127.0.0.1:1"))
		if err == nil || !strings.Contains(out, "token rejected or expired (401 Unauthorized)") {
			t.Fatalf("trustlaunch open: %v, want a refusal naming the token:\n%s", err, out)
		}
		wantLog = append(wantLog, "refused (destination): the token is for \"127.0.0.1:1\"")
	})

	kid, err := sessiontoken.KeyID(portal.Key.Public())
	if err != nil {
		t.Fatal(err)
	}
	claims := func() map[string]any {
		now := time.Now().Unix()
		return map[string]any{"iss": peers.PortalIssuer, "sub": "mallory", "aud": portal.Audience, "dst": h.Addr, "iat": now, "exp": now + 120, "jti": sessiontoken.NewID()}
	}
	hdr := func(alg string) map[string]any {
		return map[string]any{"alg": alg, "kid": kid, "typ": sessiontoken.Type}
	}
	other := strings.Split(portal.Token(t, "127.0.0.1:1"), ".")
	raw, _ := base64.RawURLEncoding.DecodeString(other[1])
	tampered := other[0] + "." + b64url([]byte(strings.Replace(string(raw), "127.0.0.1:1", h.Addr, 1))) + "." + other[2]
	hsInput := b64url(fmt.Appendf(nil, `{"alg":"HS256","kid":%q,"typ":%q}`, kid, sessiontoken.Type)) + "." + b64url([]byte(`{}`))
	mac := hmac.New(sha256.New, portal.Key.Public().(ed25519.PublicKey))
	mac.Write([]byte(hsInput))

	for _, tt := range []struct {
		name, token string
		reason      sessiontoken.Reason
	}{
		{"no token", "", sessiontoken.Missing},
		{"expired", portal.TokenAt(t, h.Addr, time.Now().Add(-sessiontoken.DefaultLifetime-sessiontoken.ClockSkew-time.Second)), sessiontoken.Expired},
		{"not yet valid", portal.TokenAt(t, h.Addr, time.Now().Add(5*time.Minute)), sessiontoken.NotYetValid},
		{"wrong aud", peers.NewTokenIssuerWithKey(t, portal.Key, "another-proxy.example:443").Token(t, h.Addr), sessiontoken.WrongAud},
		{"a valid token for another host", portal.Token(t, "127.0.0.1:1"), sessiontoken.WrongDest},
		{"tampered", tampered, sessiontoken.Signature},
		{"alg none", signToken(t, portal.Key, hdr("none"), claims()), sessiontoken.Algorithm},
		{"alg HS256 keyed with the public key", hsInput + "." + b64url(mac.Sum(nil)), sessiontoken.Algorithm},
		{"unknown kid", peers.NewTokenIssuer(t, portal.Audience, "").Token(t, h.Addr), sessiontoken.UnknownKey},
		{"a signed descriptor's typ", signToken(t, portal.Key, map[string]any{"alg": "EdDSA", "kid": kid, "typ": "trustlaunch-descriptor+jws"}, claims()), sessiontoken.WrongType},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if code := upgrade(t, ng, plant(tt.token), ""); code != http.StatusUnauthorized {
				t.Errorf("%s: %d, want 401", tt.name, code)
			}
			wantLog = append(wantLog, "trustlaunch-tokencheck: refused ("+string(tt.reason)+")")
		})
	}

	t.Run("oversized", func(t *testing.T) {
		// Over nginx's large_client_header_buffers (8 KiB): nginx
		// answers 414 itself, before the check.
		c := claims()
		c["pad"] = strings.Repeat("x", sessiontoken.MaxBytes)
		if code := upgrade(t, ng, plant(signToken(t, portal.Key, hdr("EdDSA"), c)), ""); code != http.StatusRequestURITooLong {
			t.Errorf("%d, want 414", code)
		}
	})

	t.Run("replayed from another client", func(t *testing.T) {
		tok := plant(portal.Token(t, h.Addr))
		if code := upgrade(t, ng, tok, "127.0.0.1"); code != http.StatusSwitchingProtocols {
			t.Fatalf("first use: %d, want 101", code)
		}
		if code := upgrade(t, ng, tok, "127.0.0.2"); code != http.StatusUnauthorized {
			t.Errorf("from another client: %d, want 401", code)
		}
		if code := upgrade(t, ng, tok, "127.0.0.1"); code != http.StatusSwitchingProtocols {
			t.Errorf("the first client reconnecting: %d, want 101", code)
		}
		wantLog = append(wantLog, "refused (replayed)", "(first used from 127.0.0.1)")
	})

	t.Run("Redis stopped", func(t *testing.T) {
		rd.Stop()
		if code := upgrade(t, ng, plant(portal.Token(t, h.Addr)), ""); code != http.StatusForbidden {
			t.Errorf("a token that cannot be checked: %d, want 403", code)
		}
		wantLog = append(wantLog, "trustlaunch-tokencheck: error: the single-use store (Redis at "+rd.Addr+") cannot record the token")
	})

	ngLog, wsLog, checkLog := ng.FinalLog(), ws.FinalLog(), check.FinalLog()
	for _, want := range wantLog {
		if !strings.Contains(checkLog, want) {
			t.Errorf("the endpoint's log lacks %q", want)
		}
	}
	access, _ := os.ReadFile(filepath.Join(ng.Dir, "access.log"))
	if !strings.Contains(string(access), "\"GET "+peers.SessionPath+" HTTP/1.1\" 101") || !strings.Contains(string(access), "user=alice") {
		t.Errorf("nginx's access.log lacks the admitted upgrades with their user:\n%s", peers.RedactTokens(string(access)))
	}
	logs := map[string]string{"nginx's access.log": string(access), "nginx's error log": ngLog, "websockify's log": wsLog, "the endpoint's log": checkLog, "Redis's log": rd.FinalLog()}
	for _, tok := range planted {
		if tok == "" {
			continue
		}
		sig := tok[strings.LastIndexByte(tok, '.')+1:]
		for name, text := range logs {
			if strings.Contains(text, tok) || (len(sig) >= 32 && strings.Contains(text, sig)) {
				t.Errorf("a planted token is in %s", name)
			}
		}
	}
	for name, text := range logs {
		if strings.Contains(text, "token=") {
			t.Errorf("%s holds a token= query", name)
		}
	}
}

// upgrade asks nginx for a WebSocket upgrade of peers.SessionPath with
// token in the query, as trustlaunch's WebSocket transport does, from
// source ("" lets the system choose), and returns the status code.
func upgrade(t *testing.T, ng *peers.Nginx, token, source string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	nd := &net.Dialer{}
	if source != "" {
		nd.LocalAddr = &net.TCPAddr{IP: net.ParseIP(source)}
	}
	d := tls.Dialer{NetDialer: nd, Config: ng.Cert.CA.ClientTLS("127.0.0.1")}
	conn, err := d.DialContext(ctx, "tcp", ng.Addr)
	if err != nil {
		t.Fatalf("dial nginx: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	target := peers.SessionPath
	if token != "" {
		target += "?token=" + url.QueryEscape(token)
	}
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n\r\n", target, ng.Addr)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("nginx's answer: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
