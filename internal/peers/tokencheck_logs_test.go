//go:build linux

package peers_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/peers"
)

// TestTokenCheckLogSettings is why docs/proxy.md names Squid's logging
// settings to leave alone: each of these puts the Proxy-Authorization
// header, the token with it, in a log, and the page must warn of each.
// With the defaults (every other test of the token check) no log holds a
// token.
func TestTokenCheckLogSettings(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs/proxy.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, documented string // documented: what docs/proxy.md must name
		opts             peers.SquidOptions
		log              string
	}{
		{"log_mime_hdrs on", "`log_mime_hdrs off`", peers.SquidOptions{ExtraConfig: []string{"log_mime_hdrs on"}}, "access.log"},
		{"a logformat with %>h", "`%>h`", peers.SquidOptions{AccessLogFormat: "%Ss %>h"}, "access.log"},
		{"debug_options 82,2", "`debug_options` at `ALL,1`", peers.SquidOptions{ExtraConfig: []string{"debug_options ALL,1 82,2"}}, "cache.log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(string(doc), tc.documented) {
				t.Errorf("docs/proxy.md does not name %s, which puts tokens in %s", tc.documented, tc.log)
			}
			sq := peers.StartSquid(t, tc.opts)
			echo := peers.StartEcho(t)
			token := sq.Token(t, echo.Addr)
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			conn, err := bare(sq, token).Dial(ctx, echo.Addr)
			if err != nil {
				t.Fatal(err)
			}
			conn.Close()
			sq.Stop() // flushes the logs
			text := map[string]string{"access.log": sq.AccessLog(), "cache.log": sq.CacheLog()}[tc.log]
			if !strings.Contains(text, token) {
				t.Errorf("with %s, %s holds no token: Squid no longer logs it there, and docs/proxy.md's warning can go", tc.name, tc.log)
			}
		})
	}
}
