package main

import (
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/descriptor"
)

// TestHintForFetch: open prints the hint the fetch failure's cause calls
// for; the private CA only for a certificate of an unknown authority, not
// after a refused redirect or a DNS failure.
func TestHintForFetch(t *testing.T) {
	fetchErr := func(err error) error {
		return &descriptor.FetchError{Step: descriptor.StepFetch, URL: "https://portal.example.com/d", Err: err}
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"unknown authority", fetchErr(x509.UnknownAuthorityError{}), "private CA"},
		{"redirect refused", fetchErr(&descriptor.RedirectError{To: "https://elsewhere.example/d", Reason: "it leaves the trusted origin"}), "redirects only"},
		{"DNS", fetchErr(&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "portal.example.com", IsNotFound: true}}), "does not resolve"},
		{"connect", fetchErr(&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}), "could not connect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := hintOf(tt.err)
			if !strings.Contains(h, tt.want) {
				t.Errorf("hint %q, want %q", h, tt.want)
			}
			if tt.want != "private CA" && strings.Contains(h, "private CA") {
				t.Errorf("hint %q names a private CA", h)
			}
		})
	}
}
