package launcher

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/policy"
)

// TestMacOSGate: a launch on macOS goes on only with the administrator's
// opt-in and a self-check that passed; the self-check is not even run
// without the opt-in.
func TestMacOSGate(t *testing.T) {
	pass := func() error { return nil }
	fail := func() error {
		return errors.New("net.inet.tcp.pcblist_n: record at byte 24: xsocket_n length 112, want 76 or 104")
	}
	on := policy.Source{Path: "p", Policy: &policy.Policy{Path: "p", MacOSLaunch: true}}
	off := policy.Source{Path: "p", Policy: &policy.Policy{Path: "p"}}
	tests := []struct {
		name   string
		pol    policy.Source
		check  func() error
		want   string // "" for a launch that goes on
		checks int    // self-checks run
	}{
		{"no policy", policy.Source{Path: "p"}, pass, "no administrator has enabled it", 0},
		{"policy without the opt-in", off, pass, "no administrator has enabled it", 0},
		{"opt-in, self-check fails", on, fail, "self-check failed", 1},
		{"opt-in, self-check passes", on, pass, "", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			var logged []string
			logf := func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }
			err := macOSGate(tc.pol, func() error { n++; return tc.check() }, logf)
			if n != tc.checks {
				t.Errorf("self-check ran %d times, want %d", n, tc.checks)
			}
			if tc.want == "" {
				if err != nil {
					t.Fatalf("macOSGate = %v, want nil", err)
				}
				if len(logged) != 1 || !strings.Contains(logged[0], "self-check passed") || !strings.Contains(logged[0], "enabled by p") {
					t.Fatalf("logged %q, want one line saying the self-check passed and who enabled launching", logged)
				}
				return
			}
			if len(logged) != 0 {
				t.Errorf("a refused launch logged %q", logged)
			}
			var ge *MacOSGateError
			if !errors.As(err, &ge) || !strings.Contains(err.Error(), tc.want) || ge.Hint() == "" {
				t.Fatalf("macOSGate = %v, want a *MacOSGateError with %q and a hint", err, tc.want)
			}
		})
	}
}
