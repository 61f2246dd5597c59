package connector

import (
	"net"
	"testing"

	"github.com/trustlaunch/trustlaunch/connector/proxytest"
)

// TestHandshake: the handshake alone, with Dial's checks, and nothing
// sent inside it: the proxy sees no request and no token.
func TestHandshake(t *testing.T) {
	p := proxytest.NewConnectProxy()
	t.Cleanup(p.Close)
	other := proxytest.NewCA("someone else")

	cfg := Config{ProxyAddr: p.Addr, RootCAs: p.RootCAs(), Token: NewToken(testToken), Destination: "h:23"}
	state, err := Handshake(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Handshake: %v", err)
	}
	if len(state.PeerCertificates) == 0 || !state.HandshakeComplete {
		t.Errorf("state %+v", state)
	}

	bad := cfg
	bad.RootCAs = other.Pool()
	if _, err := Handshake(t.Context(), bad); stepOf(err) != StepTLS {
		t.Errorf("untrusted certificate: %v, want a %s StepError", err, StepTLS)
	}
	pinned := cfg
	pinned.Pins = []string{"sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}
	if _, err := Handshake(t.Context(), pinned); stepOf(err) != StepTLS {
		t.Errorf("pin mismatch: %v, want a %s StepError", err, StepTLS)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	refused := cfg
	refused.ProxyAddr = closed
	if _, err := Handshake(t.Context(), refused); stepOf(err) != StepTCP {
		t.Errorf("closed port: %v, want a %s StepError", err, StepTCP)
	}

	p.Close() // waits for the proxy's connections to end
	if toks, targets := p.Tokens(), p.Targets(); len(toks) != 0 || len(targets) != 0 {
		t.Errorf("the proxy received tokens %q and requests for %q", toks, targets)
	}
}
