// Package connector opens the tunnel from a local emulator to a destination
// host through the security proxy named in a launch descriptor: a TLS 1.2/1.3
// connection to the proxy, the session token, a standard tunnelling
// protocol, and a byte relay (docs/design.md "Connector").
//
// # Use
//
// Build a [Connector] once per trust configuration with [New], then either
// [Connector.Dial] for one tunnel as a [net.Conn], [Connector.Serve] to relay
// every connection accepted on a local listener from [Listen], or
// [Connector.ServeStdio] for ssh ProxyCommand style use.
//
//	c, err := connector.New(connector.Config{
//		ProxyAddr:   "proxy.example.com:8443",
//		Transport:   connector.TransportConnect,
//		Destination: "mainframe.example.com:23",
//		Token:       connector.NewToken(tok),
//	})
//	ln, err := connector.Listen("", false) // 127.0.0.1:0
//	err = c.Serve(ctx, ln)
//
// # Steps and errors
//
// A tunnel is built in steps: [StepDNS], [StepTCP], [StepTLS] (the proxy, or
// the destination with end-to-end TLS), the proxy's answer ([StepProxyAuth],
// [StepProxyPolicy], [StepUpstream]) and [StepRelay]. Every failure is a
// [*StepError] naming its step, the address and, where a fix is known, a
// Hint. Callers test the step with [errors.As]; nothing classifies errors by
// their text.
//
// # TLS
//
// The proxy's certificate is always verified against the system roots or
// Config.RootCAs (which then replace the system roots), for
// Config.ServerName, and then against Config.Pins (SHA-256 of the
// SubjectPublicKeyInfo, checked in tls.Config.VerifyConnection so that
// resumed sessions are checked too). The token is written to the connection
// only after the handshake, and so every check, has succeeded. Versions are
// limited to TLS 1.2 and 1.3.
//
// Key exchange: Go 1.26 sends key shares for its first preferred group and
// that group's classical fallback only, by default X25519MLKEM768 and
// X25519, so a proxy that supports only P-256 (a common hardened or FIPS
// setting) answers with a HelloRetryRequest, one extra round trip on every
// tunnel. The connector offers SecP256r1MLKEM768, X25519, P-256, P-384 and
// P-521 (in FIPS mode the non-approved X25519 drops out), so its key shares
// are SecP256r1MLKEM768 and P-256: a post-quantum hybrid with peers that
// support it (Go 1.26 and later, OpenSSL 3.5 when configured) and no
// HelloRetryRequest with P-256-only proxies. The price is that a peer which
// supports X25519MLKEM768 but not SecP256r1MLKEM768 negotiates classical
// P-256 instead of a hybrid. TestCurvesNoHelloRetry and
// BenchmarkHandshakeP256Only measure both.
//
// One ClientSessionCache belongs to each Connector, that is to one trust
// configuration (roots, pins, server name): a session established under one
// set of roots is never resumed under another.
//
// # Transports
//
// [TransportConnect] sends "CONNECT host:port HTTP/1.1" with
// "Proxy-Authorization: Bearer <token>" (Squid https_port, Envoy, Pomerium,
// Apache) and parses the answer with net/http, keeping any bytes that
// arrived behind the header. Half-close is propagated with a TLS close_notify
// (tls.Conn.CloseWrite).
//
// [TransportWebSocket] dials wss://proxy/path?token=<token> with the single
// subprotocol "binary" and carries the stream in binary messages, as
// websockify's token plugins expect.
//
// WebSocket has no half-close, and websockify 0.10 reads the client's
// frames into a queue in memory, passes one buffer of it to the destination
// per pass of its loop, answers a ping in the pass that reads it, and drops
// the queue when it reads a close frame. So after the local side's EOF the
// connector sends no close frame at once: it keeps relaying the peer's data
// and closes when the peer closes, or when all of these hold: the proxy
// answered a ping sent behind the last data (so it has read every frame),
// its TCP stack acknowledged every byte (Linux SIOCOUTQ), the tunnel
// carried no data for Config.WebSocketQuiet, and twice the ping's round
// trip has passed since its pong (a busy proxy, slow to read, is as slow to
// pass its queue on). Config.WebSocketLinger bounds the wait; a proxy that
// answers no ping is closed then.
//
// What that cannot promise: nothing a client can observe shows websockify's
// queue. A destination that takes its data more slowly than that wait
// allows (it stalls, or its host is busier than the proxy's) still loses
// what websockify holds when the close frame arrives. Only a destination
// that closes the session itself, or a proxy that flushes its queue on a
// close frame, guarantees that the bytes sent before the local EOF are
// delivered.
//
// # Local end
//
// [Listen] listens on 127.0.0.1 unless told otherwise, and never on a
// wildcard address. On Linux, [Connector.Serve] accepts only connections
// whose client socket belongs to the current user: it asks the kernel for
// the socket's owner with a sock_diag (NETLINK_INET_DIAG) exact lookup of
// the connection's address pair. That is one indexed kernel lookup per
// connection, with no text to parse, unlike scanning /proc/net/tcp, whose
// size grows with every socket on the machine. On Windows it finds the
// process owning the client socket in the TCP table (GetExtendedTcpTable)
// and compares the user SID of that process's token with its own. On
// macOS it reads the uid that created the client socket (so_uid) from the
// kernel's PCB list (sysctl net.inet.tcp.pcblist_n) and, with
// Config.AdmitProcess, finds the holder through libproc (internal/xnu):
// private structures, checked record by record, refused when they do not
// parse; [PeerSelfCheck] proves the check on the machine at hand. Where
// the owner cannot be checked (the BSDs, or a remote peer on a
// non-loopback listener) Serve refuses the connection unless
// Config.AllowUncheckedPeers is set.
//
// # Secrets
//
// [Token] prints as "[redacted]" under every fmt verb and marshaller; the
// token never appears in an error, a log line (Config.Logf) or a URL shown
// to anyone. Text from the network is passed through internal/safetext.
package connector
