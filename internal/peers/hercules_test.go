//go:build linux

package peers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/internal/peers"
)

// TestTN3270ThroughProxies runs a real 3270 session, s3270 → connector.Serve
// → proxy → Hercules, through Squid and through websockify, and checks that
// Hercules's logo screen arrives. TN3270 starts with the host's telnet
// negotiation, so the tunnel must carry server-first bytes.
func TestTN3270ThroughProxies(t *testing.T) {
	t.Parallel()
	h := peers.StartHercules(t, peers.HerculesOptions{})
	sq := peers.StartSquid(t, peers.SquidOptions{})
	ws := peers.StartWebsockify(t, peers.WebsockifyOptions{})
	for _, tc := range []struct {
		name string
		c    *connector.Connector
	}{
		{"squid", squidConnector(t, sq, h.Addr)},
		{"websockify", websockifyConnector(t, ws, h.Addr)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := serve(t, tc.c)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			screen, err := peers.RunS3270(t, ctx, addr)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(screen, "Hercules") {
				t.Fatalf("screen does not show Hercules:\n%s", screen)
			}
		})
	}
}
