//go:build linux

package peers

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a test certificate authority (ECDSA P-256).
type CA struct {
	Cert     *x509.Certificate
	CertPEM  []byte
	CertFile string         // CertPEM written to a file, for --ca flags and peers
	Pool     *x509.CertPool // a pool holding only this CA

	key *ecdsa.PrivateKey
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

// NewCA returns a new CA whose files live in a t.TempDir(). It fails the test
// on error.
func NewCA(t testing.TB) *CA {
	t.Helper()
	key := mustKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{Organization: []string{"trustlaunch test"}, CommonName: "trustlaunch test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("create CA certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parse CA certificate: %v", err)
	}
	ca := &CA{Cert: cert, key: key, dir: t.TempDir(), Pool: x509.NewCertPool()}
	ca.Pool.AddCert(cert)
	ca.CertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	ca.CertFile = filepath.Join(ca.dir, "ca.pem")
	writeFile(t, ca.CertFile, ca.CertPEM, 0o644)
	return ca
}

// Issue returns a server certificate for names, each an IP address or a DNS
// name; with no names it covers 127.0.0.1, ::1 and localhost.
func (ca *CA) Issue(t testing.TB, names ...string) *ServerCert {
	t.Helper()
	if len(names) == 0 {
		names = []string{"127.0.0.1", "::1", "localhost"}
	}
	key := mustKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{Organization: []string{"trustlaunch test"}, CommonName: names[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatalf("create server certificate: %v", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parse server certificate: %v", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("marshal key: %v", err)
	}
	spki := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	sc := &ServerCert{
		CA:      ca,
		Leaf:    leaf,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		Pin:     "sha256/" + base64.StdEncoding.EncodeToString(spki[:]),
	}
	sc.TLS, err = tls.X509KeyPair(sc.CertPEM, sc.KeyPEM)
	if err != nil {
		t.Fatalf("load key pair: %v", err)
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

func mustKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	return key
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatalf("serial: %v", err)
	}
	return n
}

func writeFile(t testing.TB, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}
