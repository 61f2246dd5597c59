//go:build linux

package peers_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/peers"
)

// jwtShaped matches a compact JWS whose header and payload are JSON
// objects: what a session token looks like anywhere it should not be.
var jwtShaped = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)

// TestPortalSamples runs docs/portal.md's portals (examples/portal: Go
// with package sessiontoken, Node.js with its standard library, with an
// Ed25519 and a P-256 key) end to end: a user's click mints a ticket and a
// trustlaunch:// link, trustlaunch open fetches the descriptor with the
// ticket, its token opens the tunnel through Squid and the shipped
// trustlaunch-tokencheck to a host that speaks first, and the emulator
// profile prints the host's first line. The ticket works once; the token's
// jti, which the portal logs, is the one Squid's access.log records for
// the user; no token is in any log or output.
func TestPortalSamples(t *testing.T) {
	t.Parallel()
	bin := peers.BuildTrustlaunch(t)
	node := peers.RequireBinary(t, "node")
	goPortal := peers.BuildPortalSample(t)
	mjs, err := filepath.Abs(filepath.Join("..", "..", "examples", "portal", "portal.mjs"))
	if err != nil {
		t.Fatal(err)
	}

	samples := []struct {
		name    string
		command []string
		key     crypto.Signer
	}{
		{"go-EdDSA", []string{goPortal}, newEd25519(t)},
		{"node-EdDSA", []string{node, mjs}, newEd25519(t)},
		{"node-ES256", []string{node, mjs}, newP256(t)},
	}
	const audience = "proxy.sample.test:8443"
	first := peers.NewTokenIssuerWithKey(t, samples[0].key, audience)
	var more []*peers.TokenIssuer
	for _, s := range samples[1:] {
		more = append(more, peers.NewTokenIssuerWithKey(t, s.key, audience))
	}
	sq := peers.StartSquid(t, peers.SquidOptions{Tokens: first, AlsoTrust: more, AccessLogFormat: "%Ss/%>Hs %un %ea"})
	banner := "220 mainframe ready for the sample portal"
	host := peers.StartBanner(t, []byte(banner+"\r\n"))

	jtis := map[string]string{}
	var outputs []string
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			dir := t.TempDir()
			keyFile := filepath.Join(dir, "portal.key")
			der, err := x509.MarshalPKCS8PrivateKey(s.key)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
				t.Fatal(err)
			}
			portal := peers.StartSamplePortal(t, peers.SamplePortalOptions{
				Command: s.command,
				Env: []string{
					"PORTAL_SIGNING_KEY=" + keyFile,
					"PORTAL_ISSUER=" + peers.PortalIssuer,
					"PROXY_ADDRESS=" + sq.Addr,
					"PROXY_AUDIENCE=" + audience,
					"PROXY_CA=" + sq.Cert.CA.CertFile,
					"DESTINATION=" + host.Addr,
					"PROFILE=first-line",
				},
			})
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: portal.Cert.CA.ClientTLS("127.0.0.1")}}

			// Without a signed-in user there is no link.
			resp, err := client.Get(portal.Origin + "/launch")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("/launch without a user: %s", resp.Status)
			}
			link := launchLink(t, client, portal.Origin)

			home := t.TempDir()
			writeUserConfig(t, home, portal.Origin, "[profile.first-line]\ncommand = [\"bash\", \"-c\", \"exec 3<>/dev/tcp/{host}/{port} && head -n 1 <&3\"]\n")
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "open", "--admin-whitelist", "/nonexistent-trustlaunch-test/whitelist.txt", "--", link)
			cmd.Env = append(os.Environ(),
				"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
				"XDG_STATE_HOME="+filepath.Join(home, "state"),
				"SSL_CERT_FILE="+portal.Cert.CA.CertFile,
			)
			cmd.Stdin = strings.NewReader("")
			cmd.WaitDelay = 5 * time.Second
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("trustlaunch open: %v\n%s\nportal:\n%s", err, out, portal.Log())
			}
			if !strings.Contains(string(out), banner) {
				t.Fatalf("the emulator did not print the host's first line:\n%s", out)
			}

			// The ticket was used: the link is dead now.
			u, err := url.Parse(link)
			if err != nil {
				t.Fatal(err)
			}
			resp, err = client.Get(u.Query().Get("url"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("the descriptor URL a second time: %s, want 404", resp.Status)
			}

			m := regexp.MustCompile(`descriptor for alice: token jti ([A-Za-z0-9_-]{22})`).FindStringSubmatch(portal.Log())
			if m == nil {
				t.Fatalf("the portal did not log the token's jti:\n%s", portal.Log())
			}
			jtis[s.name] = m[1]
			audit, _ := os.ReadFile(filepath.Join(home, "state", "trustlaunch", "audit.log"))
			outputs = append(outputs, string(out), string(audit), portal.Log())
		})
	}

	sq.Stop()
	access := sq.AccessLog()
	for name, jti := range jtis {
		if !strings.Contains(access, "TCP_TUNNEL/200 alice jti="+jti) {
			t.Errorf("%s: access.log lacks the tunnel of the portal's token (jti %s):\n%s", name, jti, access)
		}
	}
	for _, text := range append(outputs, access, sq.CacheLog(), sq.Log()) {
		if m := jwtShaped.FindString(text); m != "" {
			t.Errorf("a token reached an output or a log: %.40s...", m)
		}
	}
}

// launchLink is the user's click on "Launch session": the portal's page
// holds the trustlaunch:// link.
func launchLink(t *testing.T, client *http.Client, origin string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, origin+"/launch", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Remote-User", "alice")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/launch: %s %v", resp.Status, err)
	}
	m := regexp.MustCompile(`href="(trustlaunch://launch\?url=[^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no launch link in the page:\n%s", page)
	}
	return string(m[1])
}

func newEd25519(t testing.TB) crypto.Signer {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newP256(t testing.TB) crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
