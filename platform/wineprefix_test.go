package platform

import (
	"bytes"
	"fmt"
	"os"
	"testing"
)

// winePrefixInRelease fails when release configuration mentions the
// wineprefix build tag, which relaxes the admin-file check under Wine and
// must never reach a user (docs/design.md "Windows").
func winePrefixInRelease(name string, config []byte) error {
	for i, line := range bytes.Split(config, []byte("\n")) {
		if bytes.Contains(bytes.ToLower(line), []byte("wineprefix")) {
			return fmt.Errorf("%s:%d: the wineprefix test tag in a release build: %s", name, i+1, bytes.TrimSpace(line))
		}
	}
	return nil
}

func TestReleaseBuildsHaveNoWinePrefixTag(t *testing.T) {
	const release = "../goreleaser.yaml"
	config, err := os.ReadFile(release)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(config, []byte("builds:")) {
		t.Fatalf("%s has no builds: section; is this still the release configuration?", release)
	}
	if err := winePrefixInRelease(release, config); err != nil {
		t.Fatal(err)
	}
	// The rule can fail.
	if winePrefixInRelease("x.yaml", []byte("builds:\n  - flags: [-tags=wineprefix]\n")) == nil {
		t.Fatal("winePrefixInRelease accepted a build with -tags=wineprefix")
	}
}
