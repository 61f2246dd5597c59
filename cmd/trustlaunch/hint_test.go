package main

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/trustlaunch/trustlaunch/connector"
	"github.com/trustlaunch/trustlaunch/descriptor"
	"github.com/trustlaunch/trustlaunch/launcher"
	"github.com/trustlaunch/trustlaunch/platform"
	"github.com/trustlaunch/trustlaunch/policy"
)

// TestHintOfWrapped: the hint of every error type that carries one is
// found however deep a caller wrapped it with %w, and beside other errors
// in an errors.Join; where errors with hints wrap each other, the
// outermost speaks.
func TestHintOfWrapped(t *testing.T) {
	dnsFailed := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "portal.example.com", IsNotFound: true}}
	unsafeFile := &platform.UnsafeFileError{Path: "/etc/trustlaunch/whitelist.txt", Reason: "writable by others", Fix: "sudo chmod go-w /etc/trustlaunch/whitelist.txt"}
	tests := []struct {
		name string
		err  error
		want string // "": the error's own Hint
	}{
		{"connector.StepError", (*connector.OutboundProxy)(nil).DialFailed(dnsFailed), ""},
		{"descriptor.StatusError", &descriptor.StatusError{Code: 404}, ""},
		{"descriptor.VersionError", &descriptor.VersionError{Need: "2.0.0", Have: "1.0.0"}, ""},
		{"descriptor.FetchError", &descriptor.FetchError{Step: descriptor.StepFetch, URL: "https://portal.example.com/d", Err: dnsFailed}, "the portal's name does not resolve: check the network connection (or VPN) and that the link is right"},
		{"policy.Error", &policy.Error{Path: "/etc/trustlaunch/policy.toml", Field: "destination", Value: "host.example.com:23"}, ""},
		{"policy.FileError", &policy.FileError{Path: "/etc/trustlaunch/policy.toml", Problems: []policy.Problem{{Line: 3, Msg: "unknown key"}}}, ""},
		{"policy.GPError", &policy.GPError{Value: policy.GPServers, Msg: "not a REG_SZ"}, ""},
		{"platform.UnsafeFileError", unsafeFile, unsafeFile.Fix},
		{"platform.RegisterError", &platform.RegisterError{Err: errors.New("xdg-mime failed"), Fix: "install xdg-utils"}, "install xdg-utils"},
		{"launcher.MissingCommandError", &launcher.MissingCommandError{Profile: "c3270", Command: "c3270", Fix: "install the c3270 package", Err: errors.New("not found")}, "install the c3270 package"},
		{"launcher.DetectError", &launcher.DetectError{URL: "https://portal.example.com/.well-known/trustlaunch/detect", Err: &descriptor.StatusError{Code: 500}}, "the portal did not take trustlaunch's detection answer; tell the portal's administrator"},
		// The outer error's advice, not the inner's.
		{"RegisterError around UnsafeFileError", &platform.RegisterError{Err: fmt.Errorf("system-wide handler: %w", unsafeFile), Fix: "install trustlaunch in /usr/bin"}, "install trustlaunch in /usr/bin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == "" {
				want = tt.err.(hinter).Hint()
			}
			if want == "" {
				t.Fatalf("%T carries no hint to find", tt.err)
			}
			for _, wrapped := range []error{
				tt.err,
				fmt.Errorf("launch: %w", fmt.Errorf("step: %w", tt.err)),
				errors.Join(errors.New("no hint here"), fmt.Errorf("step: %w", tt.err)),
			} {
				if got := hintOf(wrapped); got != want {
					t.Errorf("hintOf(%q) = %q, want %q", wrapped, got, want)
				}
			}
		})
	}
	if got := hintOf(fmt.Errorf("launch: %w", errors.New("no hint"))); got != "" {
		t.Errorf("hintOf of an error without a hint = %q, want none", got)
	}
}
