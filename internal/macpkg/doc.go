// Package macpkg builds trustlaunch's macOS deliverables on any OS: the
// universal binary and the trustlaunch.app bundle around it, and the parts
// of a flat installer package (.pkg) that Apple's tools would make: the
// payload (a gzip-compressed cpio archive in the odc format), the bill of
// materials (Bom), PackageInfo and Distribution. The xar container that
// holds them is written by bsdtar (scripts/macos-pkg.sh).
//
// It exists because none of Apple's tools (lipo, pkgbuild, productbuild,
// mkbom) run off macOS, and the release is built on Linux. The formats are
// written from their descriptions in docs/macos.md; the tests read every
// file back, which checks that the writer and that description agree, not
// that macOS agrees: lsbom, pkgutil and installer on a Mac are the real
// check (docs/macos.md, "First run on a Mac").
//
// It is a build tool: nothing in the trustlaunch binary imports it.
package macpkg
