#!/usr/bin/env bash
# Writes the Windows resources of trustlaunch.exe (version resource, icon,
# application manifest; definition in winres.json) as a .syso that go build
# links into the Windows binary. goreleaser runs it as a pre-build hook of
# each target; scripts/test-msi.sh runs it for its test builds.
#
#   packaging/windows/winres.sh VERSION OS ARCH
#
# For OS other than windows it does nothing. Otherwise it writes
# cmd/trustlaunch/rsrc_windows_ARCH.syso: the _windows_ARCH suffix makes go
# build, go vet and go test ignore the file for every other target, so a
# leftover never changes another build (it is in .gitignore, and
# `packaging/windows/winres.sh --clean` removes it).
#
# The tool is github.com/tc-hib/go-winres at a pinned version, run with
# go run from the module proxy (pure Go: no windres or mingw needed).
set -euo pipefail
cd "$(dirname "$0")/../.."

GO_WINRES=github.com/tc-hib/go-winres@v0.3.3

if [ "${1:-}" = --clean ]; then
	rm -f cmd/trustlaunch/rsrc_windows_*.syso
	exit 0
fi
if [ $# -ne 3 ]; then
	echo "winres.sh: usage: packaging/windows/winres.sh VERSION OS ARCH (or --clean)" >&2
	exit 2
fi
version=$1 os=$2 arch=$3
[ "$os" = windows ] || exit 0
. packaging/windows/version.sh
num=$(numeric_version "$version")
case $arch in
amd64 | arm64 | 386) ;;
*)
	echo "winres.sh: no Windows resources for GOARCH=$arch" >&2
	exit 1
	;;
esac
# The fixed file and product versions are numeric (go-winres reads the
# leading MAJOR.MINOR.PATCH); the ProductVersion string keeps the whole
# version ("1.4.3-snapshot") for people to read.
# The tool runs here, so it is built for this machine: goreleaser's hooks
# inherit the target's GOOS and GOARCH.
env -u GOOS -u GOARCH -u GOARM -u GOAMD64 CGO_ENABLED=0 go run "$GO_WINRES" make --in packaging/windows/winres.json --arch "$arch" \
	--out cmd/trustlaunch/rsrc --file-version "$num.0" --product-version "${version#v}"
syso=cmd/trustlaunch/rsrc_windows_$arch.syso
[ -s "$syso" ] || { echo "winres.sh: go-winres wrote no $syso" >&2; exit 1; }
