package macpkg

import (
	"bytes"
	"debug/macho"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Names inside the bundle. The executable is the one binary: Launch
// Services starts it with no arguments to deliver links as Apple Events,
// and the command line (a symlink in /usr/local/bin) runs it with
// arguments (cmd/trustlaunch, app mode).
const (
	AppName       = "trustlaunch.app"
	ExecutableRel = "Contents/MacOS/trustlaunch"
	InfoPlistRel  = "Contents/Info.plist"
)

// AppOptions says what BuildApp builds.
type AppOptions struct {
	// Version is the release version ("1.4.2", "1.4.3-snapshot"):
	// CFBundleShortVersionString as it is, CFBundleVersion its numeric
	// MAJOR.MINOR.PATCH.
	Version string
	// InfoPlist is the template, packaging/macos/Info.plist.
	InfoPlist []byte
	// Slices are the thin darwin executables, one per architecture
	// (amd64 and arm64), signed already if they are to be signed; a
	// universal binary (goreleaser's universal_binaries) stands for its
	// slices.
	Slices [][]byte
}

var placeholder = regexp.MustCompile(`@[A-Z_]+@`)

var numericVersion = regexp.MustCompile(`^v?([0-9]+\.[0-9]+\.[0-9]+)([-+].*)?$`)

// BundleVersion returns CFBundleVersion for a release version: its
// MAJOR.MINOR.PATCH, which is what Launch Services and installer compare.
func BundleVersion(version string) (string, error) {
	m := numericVersion.FindStringSubmatch(version)
	if m == nil {
		return "", fmt.Errorf("version %q: not MAJOR.MINOR.PATCH[-suffix]", version)
	}
	return m[1], nil
}

// BuildApp writes trustlaunch.app into dir (which must not exist yet):
// Contents/Info.plist from the template, and Contents/MacOS/trustlaunch,
// the universal binary of opts.Slices. LSMinimumSystemVersion is the
// slices' LC_BUILD_VERSION minos, which must be the same in every slice:
// the bundle must not promise an OS version that one of its binaries
// refuses.
func BuildApp(dir string, opts AppOptions) error {
	bv, err := BundleVersion(opts.Version)
	if err != nil {
		return err
	}
	var thin [][]byte
	for _, s := range opts.Slices {
		if !isFat(s) {
			thin = append(thin, s)
			continue
		}
		ss := machoSlices(s)
		if ss == nil {
			return errors.New("a universal binary given as a slice cannot be read")
		}
		for _, x := range ss {
			thin = append(thin, x.data)
		}
	}
	opts.Slices = thin
	minOS := ""
	for i, s := range opts.Slices {
		f, err := macho.NewFile(bytes.NewReader(s))
		if err != nil {
			return fmt.Errorf("slice %d: %w", i, err)
		}
		v, err := ReadBuildVersion(f)
		if err != nil {
			return err
		}
		if minOS != "" && v.MinOS != minOS {
			return fmt.Errorf("slices need different macOS versions: %s and %s", minOS, v.MinOS)
		}
		minOS = v.MinOS
	}
	plist, err := fillInfoPlist(opts.InfoPlist, map[string]string{
		"@VERSION@":        opts.Version,
		"@BUNDLE_VERSION@": bv,
		"@MIN_MACOS@":      minOS,
	})
	if err != nil {
		return err
	}
	var exe bytes.Buffer
	if err := Universal(&exe, opts.Slices...); err != nil {
		return err
	}
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("%s exists already", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(ExecutableRel)), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, InfoPlistRel), plist, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ExecutableRel), exe.Bytes(), 0o755)
}

// fillInfoPlist replaces each placeholder of the template, refusing a
// template without one (a stale template would otherwise ship "@VERSION@")
// and a value that is not plain text for XML.
func fillInfoPlist(tmpl []byte, vals map[string]string) ([]byte, error) {
	s := string(tmpl)
	for k, v := range vals {
		if !strings.Contains(s, k) {
			return nil, fmt.Errorf("Info.plist template has no %s", k)
		}
		if v == "" || strings.ContainsAny(v, "<>&\"'") {
			return nil, fmt.Errorf("Info.plist: %s: value %q is empty or not plain text", k, v)
		}
		s = strings.ReplaceAll(s, k, v)
	}
	if p := placeholder.FindString(s); p != "" {
		return nil, errors.New("Info.plist template has a placeholder BuildApp does not fill: " + p)
	}
	return []byte(s), nil
}
