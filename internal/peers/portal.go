//go:build linux

package peers

import (
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// SamplePortalOptions configures StartSamplePortal.
type SamplePortalOptions struct {
	// Command runs the portal: node with examples/portal/portal.mjs, or
	// the built examples/portal.
	Command []string
	// Env is its configuration (PORTAL_SIGNING_KEY, PROXY_ADDRESS, ...);
	// StartSamplePortal adds PORTAL_LISTEN, PORTAL_TLS_CERT and
	// PORTAL_TLS_KEY.
	Env []string
	// StartTimeout bounds start-up (default DefaultStartTimeout).
	StartTimeout time.Duration
}

// SamplePortal is a running portal sample of docs/portal.md, serving
// HTTPS on 127.0.0.1 with a certificate from a CA of its own.
type SamplePortal struct {
	Origin string // "https://127.0.0.1:PORT", as the portal reported it
	Cert   *ServerCert
	*Process
}

var portalListening = regexp.MustCompile(`^portal listening on (https://127\.0\.0\.1:\d+)$`)

// StartSamplePortal starts a portal sample on 127.0.0.1:0 and returns
// once it reports its origin ("portal listening on https://...").
func StartSamplePortal(t testing.TB, opts SamplePortalOptions) *SamplePortal {
	t.Helper()
	if opts.StartTimeout == 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	p := &SamplePortal{Cert: NewCA(t).Issue(t, "127.0.0.1")}
	dir := t.TempDir()
	cmd := exec.Command(opts.Command[0], opts.Command[1:]...)
	cmd.Dir = dir
	cmd.Env = append(append(cmd.Environ(), opts.Env...),
		"PORTAL_LISTEN=127.0.0.1:0", "PORTAL_TLS_CERT="+p.Cert.CertFile, "PORTAL_TLS_KEY="+p.Cert.KeyFile)
	proc, err := startProcess(t, "portal", dir, cmd)
	if err != nil {
		t.Fatalf("portal: %v", err)
	}
	line, err := proc.waitLine(t.Context(), opts.StartTimeout, func(l string) bool {
		return portalListening.MatchString(strings.TrimRight(l, "\r\n"))
	})
	proc.doneWatching()
	if err != nil {
		t.Fatalf("portal did not start: %v\n%s", err, redactTokens(tail(proc.Log())))
	}
	p.Origin = portalListening.FindStringSubmatch(strings.TrimRight(line, "\r\n"))[1]
	p.Process = proc
	return p
}

// BuildPortalSample builds examples/portal, the Go portal sample, and
// returns the binary's path.
func BuildPortalSample(t testing.TB) string {
	t.Helper()
	return build(t, path.Join(modulePath, "examples/portal"), filepath.Join(t.TempDir(), "portal"))
}
