package descriptor

import (
	"cmp"
	"fmt"
	"strings"

	"golang.org/x/mod/semver"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
)

// VersionError is a descriptor whose min_version is newer than this
// trustlaunch, or a build with no version that cannot say.
type VersionError struct {
	Need string // min_version, as the descriptor gave it (checked: a release version)
	Have string // this trustlaunch's version, sanitized
}

func (e *VersionError) Error() string {
	if _, ok := parseSemver(e.Have); !ok {
		return fmt.Sprintf("descriptor: min_version: this descriptor needs trustlaunch %s or later, and this trustlaunch is a build without a release version (%s), so it cannot tell", e.Need, e.Have)
	}
	return fmt.Sprintf("descriptor: min_version: this descriptor needs trustlaunch %s or later; this is %s", e.Need, e.Have)
}

// Hint tells the user what to do.
func (e *VersionError) Hint() string {
	return "upgrade trustlaunch to " + strings.TrimPrefix(e.Need, "v") + " or later (your administrator or the portal's download page has it), then start the session again"
}

// checkMinVersionField checks the shape of min_version: a release
// version, MAJOR.MINOR.PATCH with an optional "v" and no pre-release or
// build suffix, since it names a version the portal knows was released.
func checkMinVersionField(v string) error {
	if _, ok := parseSemver(v); !ok || strings.ContainsAny(v, "-+") {
		return fieldErr("min_version", "%s is not a release version MAJOR.MINOR.PATCH (such as \"1.4.0\")", safetext.QuoteExcerpt(v, 40))
	}
	return nil
}

// checkMinVersion refuses a descriptor whose min_version is newer than
// client, this trustlaunch's version, compared by semantic versioning
// (semver.org 2.0.0, section 11: numbers compared as numbers, a
// pre-release older than its release, build metadata ignored), so a
// goreleaser snapshot "1.4.2-SNAPSHOT-…" and a Go pseudo-version
// "v1.4.2-0.2025…" come before 1.4.2. A build without a release version
// ("devel", from a source tree without -ldflags) is refused whenever
// min_version is set: nothing says how old its source is, and the portal
// asked for a version it knows (fail closed). No min_version: no check.
func checkMinVersion(d *Descriptor, client string) error {
	if d.MinVersion == "" {
		return nil
	}
	need, ok := parseSemver(d.MinVersion)
	if !ok {
		return fieldErr("min_version", "%s is not a release version", safetext.QuoteExcerpt(d.MinVersion, 40)) // not reached: validate checked it
	}
	have, ok := parseSemver(client)
	if !ok || semver.Compare(have, need) < 0 {
		return &VersionError{Need: d.MinVersion, Have: safetext.Excerpt(cmp.Or(client, "unknown"), 60)}
	}
	return nil
}

// parseSemver returns s in the spelling golang.org/x/mod/semver compares
// ("v" and the rest), or false when s is not a version this trustlaunch
// compares: [v]MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] as semver.org 2.0.0
// writes it (no leading zeros, no empty identifiers), each number at most
// 9 digits, at most 64 bytes after the "v". The package requires the "v"
// and also takes "v1" and "v1.2" for v1.0.0 and v1.2.0; those shorthands
// are refused here: a version with fewer than three numbers is a mistake
// to report, not one to complete.
func parseSemver(s string) (string, bool) {
	s = strings.TrimPrefix(s, "v")
	if s == "" || len(s) > 64 {
		return "", false
	}
	v := "v" + s
	if !semver.IsValid(v) || semver.Canonical(v) != strings.TrimSuffix(v, semver.Build(v)) {
		return "", false // not a version, or a shorthand: Canonical adds the missing numbers
	}
	core, _, _ := strings.Cut(s, "-")
	core, _, _ = strings.Cut(core, "+")
	for n := range strings.SplitSeq(core, ".") {
		if len(n) > 9 {
			return "", false
		}
	}
	return v, true
}
