#!/usr/bin/env bash
# Builds every release package of trustlaunch from this clone, without
# running the tests (./test.sh does that):
#
#   scripts/release-packages.sh
#
# into dist/: the .deb and .rpm packages (amd64, arm64), the .tar.gz
# archives for Linux and macOS and the .zip archives for Windows (amd64,
# arm64), the Windows MSI (trustlaunch_VERSION_windows_amd64.msi), the
# macOS package (trustlaunch_VERSION_darwin_universal.pkg, docs/macos.md)
# and checksums.txt. Every package and archive carries the manual page and
# the shell completions (scripts/manpage-completions.sh).
#
# It is goreleaser's snapshot build of goreleaser.yaml, every target: the
# version is the next patch after the last tag, with -snapshot
# (0.0.1-snapshot before any tag), and nothing is published. A release is
# "scripts/goreleaser.sh release" from a tag, with the same configuration.
#
# Needs: go, git, wixl (the MSI), bsdtar (libarchive-tools: the macOS
# .pkg), and osslsigncode to sign; signing is on
# when TRUSTLAUNCH_SIGN_CERT and TRUSTLAUNCH_SIGN_KEY are set (CONTRIBUTING.md,
# "Signing"). The Windows builds fetch go-winres through the Go module proxy
# on first use (packaging/windows/winres.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
me=scripts/release-packages.sh

case ${1:-} in
-h | --help)
	sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit 0
	;;
"") ;;
*)
	echo "$me: takes no arguments (see --help)" >&2
	exit 2
	;;
esac
command -v bsdtar >/dev/null || {
	echo "$me: bsdtar not found, which builds the macOS .pkg: sudo apt-get install libarchive-tools" >&2
	exit 1
}
command -v wixl >/dev/null || {
	echo "$me: wixl not found, which builds the MSI: sudo apt-get install wixl" >&2
	exit 1
}

SECONDS=0
scripts/goreleaser.sh release --snapshot --clean

shopt -s nullglob
want=(dist/*_amd64.deb dist/*_arm64.deb dist/*.x86_64.rpm dist/*.aarch64.rpm
	dist/*_linux_amd64.tar.gz dist/*_linux_arm64.tar.gz dist/*_darwin_amd64.tar.gz dist/*_darwin_arm64.tar.gz
	dist/*_windows_amd64.zip dist/*_windows_arm64.zip dist/*_windows_amd64.msi dist/checksums.txt)
if [ ${#want[@]} -ne 12 ]; then
	echo "$me: dist/ lacks a package; it has:" >&2
	ls dist >&2
	exit 1
fi
echo
echo "$me: built in ${SECONDS}s, in dist/:"
ls -l "${want[@]}"
