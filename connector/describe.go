package connector

import (
	"context"
	"crypto/tls"

	"github.com/trustlaunch/trustlaunch/internal/redact"
)

// Handshake checks that a TLS server can be reached as Dial reaches the
// proxy: through the outbound proxy when cfg.Outbound names one for
// cfg.ProxyAddr, else directly, then the TLS handshake with every check
// of Dial's (chain, name, versions, pins). It then closes the connection.
// Nothing is written inside the TLS session: no request, no token (cfg's
// Token, Destination, Transport and end-to-end settings are ignored), so a
// machine can be checked without a ticket and without a proxy log line
// that carries one. `trustlaunch doctor` runs it against the portal and
// the proxies of the admin policy. Every error is a *StepError.
func Handshake(ctx context.Context, cfg Config) (tls.ConnectionState, error) {
	cfg.Token, cfg.Destination, cfg.EndToEndTLS, cfg.DestRootCAs, cfg.DestPins = Token{}, "", false, nil, nil
	c := &Connector{cfg: cfg, secrets: cfg.Secrets}
	if c.secrets == nil {
		c.secrets = &redact.Set{}
	}
	cfg.Outbound.AddTo(c.secrets)
	var err error
	if c.proxyHost, c.proxyPort, err = splitHostPort("address", cfg.ProxyAddr); err != nil {
		return tls.ConnectionState{}, err
	}
	if err := checkDurations(cfg); err != nil {
		return tls.ConnectionState{}, err
	}
	if err := c.buildTLS(); err != nil {
		return tls.ConnectionState{}, err
	}
	c.cfg.fillDefaults()
	raw, _, err := c.dialProxy(ctx)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer raw.Close()
	hctx, cancel := context.WithTimeout(ctx, c.cfg.HandshakeTimeout)
	defer cancel()
	tc := tls.Client(raw, c.tlsConf)
	if err := tc.HandshakeContext(hctx); err != nil {
		return tls.ConnectionState{}, c.timeoutOr(ctx, hctx, StepTLS, c.cfg.ProxyAddr, err, func() *StepError {
			return tlsError(c.cfg.ProxyAddr, err, false)
		})
	}
	state := tc.ConnectionState()
	// close_notify, then the socket: the server sees an orderly end of a
	// session that carried nothing. Its error changes nothing: the
	// handshake, which is what was asked, succeeded.
	tc.Close()
	return state, nil
}
