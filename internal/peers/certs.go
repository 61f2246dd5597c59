//go:build linux

package peers

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/trustlaunch/trustlaunch/connector/proxytest"
)

// CA is a test certificate authority (ECDSA P-256).
type CA struct {
	Cert     *x509.Certificate
	CertPEM  []byte
	CertFile string         // CertPEM written to a file, for --ca flags and peers
	Pool     *x509.CertPool // a pool holding only this CA

	ca  *proxytest.CA
	dir string
}

// ServerCert is a server certificate and key issued by a CA.
type ServerCert struct {
	CA       *CA
	Leaf     *x509.Certificate
	CertPEM  []byte
	KeyPEM   []byte // PKCS #8
	CertFile string
	KeyFile  string
	TLS      tls.Certificate
	// Pin is the leaf's SPKI pin in the form the descriptor and --pin use:
	// "sha256/" + base64 of SHA-256 over the DER SubjectPublicKeyInfo.
	Pin string
}

// NewCA returns a new CA whose files live in a t.TempDir(). The key
// material comes from connector/proxytest, so the in-process proxies and the
// real peers issue certificates the same way.
func NewCA(t testing.TB) *CA {
	t.Helper()
	pc := proxytest.NewCA("trustlaunch test CA")
	ca := &CA{Cert: pc.Cert, CertPEM: pc.CertPEM(), Pool: pc.Pool(), ca: pc, dir: t.TempDir()}
	ca.CertFile = filepath.Join(ca.dir, "ca.pem")
	writeFile(t, ca.CertFile, ca.CertPEM, 0o644)
	return ca
}

// Issue returns a server certificate for names, each an IP address or a DNS
// name; with no names it covers 127.0.0.1, ::1 and localhost. Its PEM file
// holds the chain, leaf then CA, as servers send it.
func (ca *CA) Issue(t testing.TB, names ...string) *ServerCert {
	t.Helper()
	if len(names) == 0 {
		names = []string{"127.0.0.1", "::1", "localhost"}
	}
	cert := ca.ca.Issue(names...)
	chainPEM, keyPEM := proxytest.PEM(cert)
	spki := sha256.Sum256(cert.Leaf.RawSubjectPublicKeyInfo)
	sc := &ServerCert{
		CA:      ca,
		Leaf:    cert.Leaf,
		CertPEM: chainPEM,
		KeyPEM:  keyPEM,
		TLS:     cert,
		Pin:     "sha256/" + base64.StdEncoding.EncodeToString(spki[:]),
	}
	dir := t.TempDir()
	sc.CertFile = filepath.Join(dir, "server.pem")
	sc.KeyFile = filepath.Join(dir, "server.key")
	writeFile(t, sc.CertFile, sc.CertPEM, 0o644)
	writeFile(t, sc.KeyFile, sc.KeyPEM, 0o600)
	return sc
}

// ClientTLS returns a client configuration that trusts only this CA.
func (ca *CA) ClientTLS(serverName string) *tls.Config {
	return &tls.Config{RootCAs: ca.Pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
}

// defaultServerCert returns cert, or a certificate from a new CA when cert is
// nil.
func defaultServerCert(t testing.TB, cert *ServerCert) *ServerCert {
	if cert != nil {
		return cert
	}
	return NewCA(t).Issue(t)
}

func writeFile(t testing.TB, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}
