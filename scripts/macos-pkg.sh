#!/usr/bin/env bash
# Builds trustlaunch.app and the flat installer package for Jamf and
# Intune from darwin executables, on Linux (docs/macos.md):
#
#   scripts/macos-pkg.sh VERSION OUT.pkg EXE...
#
#   VERSION  goreleaser's .Version (1.4.2, 1.4.3-snapshot)
#   OUT.pkg  the package to write; the bundle is written beside it as
#            OUT.app (the .pkg holds it; the directory is for inspection)
#   EXE      the darwin/amd64 and darwin/arm64 executables, or the universal
#            binary of both (goreleaser's universal_binaries), each signed
#            already if it is to be signed (scripts/macos-sign.sh)
#
# internal/macpkg writes the universal binary, Info.plist, the payload,
# the Bom, PackageInfo and Distribution; bsdtar (libarchive-tools) joins
# them into the xar archive a .pkg is. Every file gets the commit's time
# ($SOURCE_DATE_EPOCH, else the last commit's), so two builds of a commit
# give the same members; the xar's table of contents still records when
# and from which inodes bsdtar wrote it. The package is not signed: that needs Apple's
# productsign or a signing service (docs/macos.md, "Signing and notarization").
set -euo pipefail
cd "$(dirname "$0")/.."
me=scripts/macos-pkg.sh

if [ $# -lt 3 ]; then
	echo "$me: usage: $me VERSION OUT.pkg EXE..." >&2
	exit 2
fi
version=$1 out=$2
shift 2
command -v bsdtar >/dev/null || { echo "$me: bsdtar not found: apt-get install libarchive-tools" >&2; exit 1; }
mtime=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}

mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
app=${out%.pkg}.app
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
tool=$stage/macpkg
go build -o "$tool" ./internal/macpkg/cmd/macpkg

rm -rf "$app"
"$tool" app -version "$version" -plist packaging/macos/Info.plist -o "$app" "$@"
"$tool" check-app "$app" >&2
"$tool" pkg -app "$app" -postinstall packaging/macos/scripts/postinstall -mtime "$mtime" -o "$stage/pkg"
find "$stage/pkg" -exec touch -h -d "@$mtime" {} +
# Uncompressed xar members, as productbuild writes them: Payload and
# Scripts are gzip already, and installer reads the TOC's checksum (SHA-1).
(cd "$stage/pkg" && bsdtar -c -f "$stage/out.pkg" --format xar \
	--options xar:compression=none,xar:toc-checksum=sha1 \
	--uid 0 --gid 0 --uname root --gname wheel \
	Distribution trustlaunch.pkg)
mv "$stage/out.pkg" "$out"
echo "$me: built $out and $app ($version, unsigned)" >&2
