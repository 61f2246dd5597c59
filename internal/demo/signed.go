package demo

import (
	"crypto"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/policy"
)

// Publisher is the publisher name of the demo's own policy: a launch of
// the demo shows "signed by trustlaunch demo".
const Publisher = "trustlaunch demo"

// serveSignedDescriptor answers with desc signed by key, as a portal that
// signs per launch would: iat now, exp two minutes later.
func serveSignedDescriptor(w http.ResponseWriter, desc map[string]any, key crypto.Signer) {
	body, err := json.Marshal(desc)
	if err == nil {
		body, err = descriptor.Sign(body, key, time.Now(), 2*time.Minute)
	}
	if err != nil {
		http.Error(w, "cannot sign the descriptor", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", descriptor.JWSContentType)
	w.Write(body)
}

// Policy writes, in dir, the demo's own admin policy: signatures
// required, Options.Signer's key pinned as Publisher for the
// demo's origin, and only the demo's proxy and host allowed. It returns
// the policy as a launch uses it. The file is the demo's, in its own
// temporary directory, so it is parsed without the admin ownership check
// (which a temporary directory never passes); the machine's policy does
// not apply to the demo's world on 127.0.0.1.
func (d *World) Policy(dir string) (policy.Source, error) {
	if d.opts.Signer == nil {
		return policy.Source{}, fmt.Errorf("the demo was started without a signing key")
	}
	pub, err := descriptor.MarshalPublicKeyPEM(d.opts.Signer.Public())
	if err != nil {
		return policy.Source{}, err
	}
	text := fmt.Sprintf("# The demo's own policy (trustlaunch demo).\nrequire_signed = true\n\n[[proxies]]\naddress = %q\n\n[[destinations]]\naddress = %q\n\n[[publishers]]\nname = %q\nkey = \"\"\"\n%s\"\"\"\norigins = [\"127.0.0.1\"]\n",
		d.proxy.Addr, d.hostLn.Addr().(*net.TCPAddr).String(), Publisher, pub)
	path := filepath.Join(dir, "policy.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return policy.Source{}, fmt.Errorf("demo policy: %w", err)
	}
	p, probs := policy.Parse(path, []byte(text))
	if len(probs) > 0 {
		return policy.Source{}, &policy.FileError{Path: path, Problems: probs}
	}
	return policy.Source{Path: path, Policy: p}, nil
}
