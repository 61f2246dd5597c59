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
# The tool is github.com/tc-hib/go-winres at a pinned version, from the
# module proxy (pure Go: no windres or mingw needed), built once into
# .cache/tools and run from there: `go run MODULE@VERSION` asks the proxy
# for deprecation notices on every run, and the test command's Windows
# phase runs in a network namespace with no way out.
# `packaging/windows/winres.sh --tool` only builds it.
set -euo pipefail
cd "$(dirname "$0")/../.."

GO_WINRES=github.com/tc-hib/go-winres@v0.3.3

tool=$PWD/.cache/tools/go-winres-${GO_WINRES##*@}
build_tool() {
	[ -x "$tool" ] && return 0
	mkdir -p "$(dirname "$tool")"
	local gobin
	gobin=$(mktemp -d)
	# For this machine: goreleaser's hooks inherit the target's GOOS and GOARCH.
	env -u GOOS -u GOARCH -u GOARM -u GOAMD64 CGO_ENABLED=0 GOBIN="$gobin" go install "$GO_WINRES"
	mv "$gobin/go-winres" "$tool"
	rmdir "$gobin"
}

case "${1:-}" in
--clean)
	rm -f cmd/trustlaunch/rsrc_windows_*.syso
	exit 0
	;;
--tool)
	build_tool
	exit 0
	;;
esac
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
build_tool
"$tool" make --in packaging/windows/winres.json --arch "$arch" \
	--out cmd/trustlaunch/rsrc --file-version "$num.0" --product-version "${version#v}"
syso=cmd/trustlaunch/rsrc_windows_$arch.syso
[ -s "$syso" ] || { echo "winres.sh: go-winres wrote no $syso" >&2; exit 1; }
