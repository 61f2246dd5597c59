package descriptor

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/mod/semver"
)

// minimalWith is the minimal descriptor with extra JSON members added.
func minimalWith(extra string) []byte {
	return []byte(`{"version":1,"session":"s","profile":"raw","proxy":{"address":"127.0.0.1:3128","transport":"connect"},` +
		`"destination":{"host":"10.0.0.5","port":992},"token":"TOKEN-SECRET-MIN"` + extra + `}`)
}

// TestDescriptorMinVersionField: min_version is part of descriptor v1
// (docs/design.md "The descriptor"), a release version MAJOR.MINOR.PATCH;
// anything else is an error naming the field.
func TestDescriptorMinVersionField(t *testing.T) {
	for _, tc := range []struct{ in, want, errHas string }{
		{`"1.4.0"`, "1.4.0", ""},
		{`"v2.0.10"`, "v2.0.10", ""},
		{`"1.4"`, "", "min_version"},
		{`"v1.4"`, "", "min_version"}, // x/mod/semver's shorthand for v1.4.0: refused
		{`"v1"`, "", "min_version"},
		{`"1.4.0+build.7"`, "", "min_version"},
		{`"1.4.1234567890"`, "", "min_version"},
		{`"01.4.0"`, "", "min_version"},
		{`"1.4.0-rc.1"`, "", "min_version"},
		{`"latest"`, "", "min_version"},
		{`""`, "", "min_version"},
		{`140`, "", "min_version"},
	} {
		d, err := Decode(minimalWith(`,"min_version":` + tc.in))
		if tc.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("min_version %s: %v, want an error naming %s", tc.in, err, tc.errHas)
			}
			continue
		}
		if err != nil || d.MinVersion != tc.want {
			t.Errorf("min_version %s: %+v, %v; want %q", tc.in, d, err, tc.want)
		}
	}
}

// TestCheckMinVersion compares by semantic version (semver.org 2.0.0,
// section 11), a pre-release older than its release, and refuses a build
// with no version (fail closed: its age is unknown).
func TestCheckMinVersion(t *testing.T) {
	for _, tc := range []struct {
		client, min string
		ok          bool
	}{
		{"1.4.2", "", true},
		{"devel", "", true},
		{"1.4.2", "1.4.2", true},
		{"v1.4.2", "1.4.2", true},
		{"1.4.2", "v1.4.1", true},
		{"1.10.0", "1.9.9", true}, // numbers, not strings
		{"2.0.0", "1.99.99", true},
		{"1.4.2+build.7", "1.4.2", true}, // build metadata does not count
		{"1.4.1", "1.4.2", false},
		{"1.9.9", "1.10.0", false},
		{"1.4.2-rc.1", "1.4.2", false}, // a pre-release comes before its release
		{"1.4.3-rc.1", "1.4.2", true},
		{"v0.0.0-20250301120000-abcdef123456", "0.1.0", false},  // a Go pseudo-version before any tag
		{"v1.4.3-0.20250301120000-abcdef123456", "1.4.2", true}, // a pseudo-version after v1.4.2
		{"1.4.2-SNAPSHOT-abcdef", "1.4.2", false},               // goreleaser --snapshot
		{"devel", "0.0.1", false},
		{"", "0.0.1", false},
		{"1.4", "1.4.0", false},  // not a version: refused, not guessed
		{"v1.4", "1.4.0", false}, // x/mod/semver's shorthand for v1.4.0: refused all the same
		{"v2", "1.4.0", false},
		{"V1.4.2", "1.4.0", false},
		{"1.4.2-01", "1.4.0", false},                 // a numeric pre-release identifier with a leading zero
		{"1.4.2-rc..1", "1.4.0", false},              // an empty identifier
		{"99999999999999999999.0.0", "1.0.0", false}, // over 9 digits
		{"v" + strings.Repeat("1", 9) + ".0.0", "1.0.0", true},
	} {
		d := &Descriptor{MinVersion: tc.min}
		err := checkMinVersion(d, tc.client)
		if (err == nil) != tc.ok {
			t.Errorf("client %q, min_version %q: %v; want ok=%v", tc.client, tc.min, err, tc.ok)
			continue
		}
		var ve *VersionError
		if err != nil && (!errors.As(err, &ve) || !strings.Contains(ve.Hint(), "upgrade") || !strings.Contains(err.Error(), "min_version")) {
			t.Errorf("client %q, min_version %q: %v (hint %q); want a *VersionError naming min_version with an upgrade hint", tc.client, tc.min, err, ve.Hint())
		}
	}
}

// TestFetchMinVersionRefused: a descriptor for a newer trustlaunch stops the
// launch at the validate step, with the upgrade hint, before anything else
// uses it.
func TestFetchMinVersionRefused(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(minimalWith(`,"min_version":"9.0.0"`))
	})
	o.opts.ClientVersion = "1.4.2"
	d, err := Fetch(t.Context(), o.opts)
	var fe *FetchError
	if d != nil || !errors.As(err, &fe) || fe.Step != StepValidate {
		t.Fatalf("Fetch = %v, %v; want a FetchError at %s", d, err, StepValidate)
	}
	if msg := err.Error(); !strings.Contains(msg, "9.0.0") || !strings.Contains(msg, "1.4.2") || strings.Contains(msg, ticket) || strings.Contains(msg, "TOKEN-SECRET") {
		t.Errorf("error %q: want both versions, no ticket or token", msg)
	}
	if h := fe.Hint(); !strings.Contains(h, "upgrade trustlaunch to 9.0.0 or later") {
		t.Errorf("hint %q, want the upgrade hint", h)
	}
	o.opts.ClientVersion = "9.0.0"
	if _, err := Fetch(t.Context(), o.opts); err != nil {
		t.Errorf("Fetch with trustlaunch 9.0.0: %v", err)
	}
}

// FuzzParseSemver: min_version comes from the network. An accepted version
// compares equal to itself, its order is antisymmetric, a "v" prefix
// changes nothing, and it is one that golang.org/x/mod/semver reads in
// full: three numbers, never the shorthands the package also takes.
func FuzzParseSemver(f *testing.F) {
	for _, s := range []string{"1.4.2", "v1.4.2-rc.1+b.7", "1.4.2-0.20250301-abc", "01.2.3", "1.2.3-", "1.2.3-01", "v1", "v1.2", "1.2+b"} {
		f.Add(s, "1.4.2")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		va, okA := parseSemver(a)
		if !okA {
			return
		}
		if !semver.IsValid(va) || strings.Count(strings.SplitN(strings.SplitN(va, "+", 2)[0], "-", 2)[0], ".") != 2 {
			t.Fatalf("%q accepted as %q, which is not a full MAJOR.MINOR.PATCH version", a, va)
		}
		if semver.Compare(va, va) != 0 {
			t.Fatalf("%q does not equal itself", a)
		}
		if !strings.HasPrefix(a, "v") {
			if vv, ok := parseSemver("v" + a); !ok || semver.Compare(va, vv) != 0 {
				t.Fatalf("v%s differs from %s", a, a)
			}
		}
		vb, okB := parseSemver(b)
		if okB && semver.Compare(va, vb) != -semver.Compare(vb, va) {
			t.Fatalf("order of %q and %q is not antisymmetric", a, b)
		}
	})
}
