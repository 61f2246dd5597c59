//go:build !windows

// Not built for Windows: these tests build the darwin binaries with the go
// command and read the results with bsdtar, plistutil and cksum, none of
// which the Windows test process under Wine has; the package is built and
// checked on Linux, where the release is made.

package macpkg

import (
	"testing"
)

// The Go linker signs darwin/arm64 ad hoc: a SuperBlob with a code
// directory and no CMS blob; amd64 is not signed. A signature made with a
// certificate is checked by scripts/test-macos.sh, which signs with quill.
func TestReadCodeSignatureLinker(t *testing.T) {
	s := darwinSlices(t)
	cs, err := ReadCodeSignature(s["arm64"])
	if err != nil {
		t.Fatalf("arm64: %v", err)
	}
	if cs.Blobs == 0 || len(cs.CMS) != 0 {
		t.Errorf("arm64: %d blobs, %d bytes of CMS; want an ad-hoc signature", cs.Blobs, len(cs.CMS))
	}
	if _, err := ReadCodeSignature(s["amd64"]); err == nil {
		t.Error("amd64: signature found where the linker writes none")
	}
	// A signature that points past the end is refused, not read.
	bad := append([]byte(nil), s["arm64"]...)
	bad = bad[:len(bad)-100]
	if _, err := ReadCodeSignature(bad); err == nil {
		t.Error("truncated signature accepted")
	}
}
