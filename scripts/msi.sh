#!/usr/bin/env bash
# Builds the per-machine x64 MSI of trustlaunch with wixl (Debian: wixl,
# from msitools 0.101) from packaging/windows/trustlaunch.wxs, and signs the
# EXE and the MSI with osslsigncode when a key and certificate are given.
# goreleaser runs it as a post-build hook of every target (goreleaser.yaml);
# scripts/test-msi.sh runs it for its install test.
#
#   scripts/msi.sh VERSION OS ARCH EXE [OUT.msi]
#
#   VERSION  goreleaser's .Version (1.4.2, 1.4.3-snapshot); mapped to the
#            MSI's ProductVersion by packaging/windows/version.sh
#   OS ARCH  the build target; anything but windows does nothing, and
#            windows/arm64 gets its EXE signed but no MSI (wixl 0.101 has no
#            arm64; that build ships in its zip only)
#   EXE      the built trustlaunch.exe (signed in place when signing is on)
#   OUT.msi  default: dist/trustlaunch_VERSION_windows_amd64.msi
#
# Signing (Authenticode, SHA-256), on when both are set:
#   TRUSTLAUNCH_SIGN_CERT       PEM or DER certificate file, the signer's
#                               certificate first, then its chain
#   TRUSTLAUNCH_SIGN_KEY        PEM or DER private key file
#   TRUSTLAUNCH_SIGN_PASS_FILE  optional: file holding the key's password
#   TRUSTLAUNCH_SIGN_TIMESTAMP  optional: RFC 3161 timestamp server URL, so
#                               signatures stay valid after the certificate
#                               expires (releases should set it)
# With neither set it says "signing skipped" on stderr and builds unsigned;
# with only one set it fails. TRUSTLAUNCH_WXS replaces the .wxs (tests
# only: scripts/test-msi.sh --mutants builds broken packages with it).
set -euo pipefail
cd "$(dirname "$0")/.."
me=scripts/msi.sh

if [ $# -lt 4 ] || [ $# -gt 5 ]; then
	echo "$me: usage: $me VERSION OS ARCH EXE [OUT.msi]" >&2
	exit 2
fi
version=$1 os=$2 arch=$3 exe=$4
out=${5:-dist/trustlaunch_${version}_windows_amd64.msi}
[ "$os" = windows ] || exit 0
[ -f "$exe" ] || { echo "$me: $exe: no such file" >&2; exit 1; }
. packaging/windows/version.sh
num=$(numeric_version "$version")

cert=${TRUSTLAUNCH_SIGN_CERT:-} key=${TRUSTLAUNCH_SIGN_KEY:-}
sign=false
if [ -n "$cert" ] && [ -n "$key" ]; then
	command -v osslsigncode >/dev/null || { echo "$me: osslsigncode not found: apt-get install osslsigncode" >&2; exit 1; }
	[ -r "$cert" ] || { echo "$me: TRUSTLAUNCH_SIGN_CERT=$cert cannot be read" >&2; exit 1; }
	[ -r "$key" ] || { echo "$me: TRUSTLAUNCH_SIGN_KEY=$key cannot be read" >&2; exit 1; }
	sign=true
elif [ -n "$cert$key" ]; then
	echo "$me: set both TRUSTLAUNCH_SIGN_CERT and TRUSTLAUNCH_SIGN_KEY to sign, or neither" >&2
	exit 1
else
	echo "$me: signing skipped for $(basename "$exe")${arch:+ ($os/$arch)}: TRUSTLAUNCH_SIGN_CERT and TRUSTLAUNCH_SIGN_KEY are not set" >&2
fi

# signfile FILE signs FILE in place (osslsigncode writes a new file).
signfile() {
	local args=(sign -certs "$cert" -key "$key" -h sha256 -n trustlaunch -i https://github.com/trustlaunch/trustlaunch)
	[ -n "${TRUSTLAUNCH_SIGN_PASS_FILE:-}" ] && args+=(-readpass "$TRUSTLAUNCH_SIGN_PASS_FILE")
	[ -n "${TRUSTLAUNCH_SIGN_TIMESTAMP:-}" ] && args+=(-ts "$TRUSTLAUNCH_SIGN_TIMESTAMP")
	rm -f "$1.signed"
	if ! osslsigncode "${args[@]}" -in "$1" -out "$1.signed" >"$1.sign.log" 2>&1; then
		echo "$me: osslsigncode could not sign $1:" >&2
		cat "$1.sign.log" >&2
		rm -f "$1.signed" "$1.sign.log"
		exit 1
	fi
	mv "$1.signed" "$1"
	rm -f "$1.sign.log"
}

if $sign; then
	signfile "$exe"
fi
[ "$arch" = amd64 ] || exit 0

command -v wixl >/dev/null || { echo "$me: wixl not found: apt-get install wixl" >&2; exit 1; }
wxs=${TRUSTLAUNCH_WXS:-packaging/windows/trustlaunch.wxs}
wxs=$(cd "$(dirname "$wxs")" && pwd)/$(basename "$wxs")
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
# wixl resolves Source paths relative to its working directory and rejects
# absolute ones, so it runs in a staging directory holding the inputs.
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$exe" "$stage/trustlaunch.exe"
cp packaging/windows/trustlaunch.ico "$stage/trustlaunch.ico"
(cd "$stage" && wixl -a x64 -D Version="$num" -D Exe=trustlaunch.exe -D Icon=trustlaunch.ico -o "$stage/out.msi" "$wxs")
if $sign; then
	signfile "$stage/out.msi"
fi
mv "$stage/out.msi" "$out"
echo "$me: built $out (ProductVersion $num$($sign && echo ', signed'))" >&2
