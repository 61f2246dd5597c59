#!/usr/bin/env bash
# Signs a darwin executable with quill (github.com/anchore/quill), on
# Linux: the Mach-O code signature with a Developer ID Application
# certificate, one slice at a time (docs/macos.md, "Signing and
# notarization"). goreleaser runs it as a post-build hook of every target;
# scripts/test-macos.sh runs it with a throwaway certificate.
#
#   scripts/macos-sign.sh OS ARCH EXE
#
#   OS ARCH  the build target; anything but darwin does nothing
#   EXE      the built executable, signed in place
#
# Signing is on when both are set:
#   TRUSTLAUNCH_MACOS_P12                PKCS#12 file: the key, the signing
#                                        certificate and its chain
#   TRUSTLAUNCH_MACOS_P12_PASSWORD_FILE  file holding its password
#   TRUSTLAUNCH_MACOS_TIMESTAMP          optional: RFC 3161 server; default
#                                        quill's (Apple's); "none" for none
# With neither set it says "signing skipped" and leaves the binary as the
# Go linker wrote it (arm64 ad-hoc signed, amd64 unsigned); with only one
# set it fails.
#
# quill is a build tool, pinned in packaging/macos/quill/go.mod, a module
# of its own: none of its dependencies enter trustlaunch's module graph.
# It is built into .cache/bin on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
me=scripts/macos-sign.sh

if [ $# -ne 3 ]; then
	echo "$me: usage: $me OS ARCH EXE" >&2
	exit 2
fi
os=$1 arch=$2 exe=$3
[ "$os" = darwin ] || exit 0
[ -f "$exe" ] || { echo "$me: $exe: no such file" >&2; exit 1; }
p12=${TRUSTLAUNCH_MACOS_P12:-} passfile=${TRUSTLAUNCH_MACOS_P12_PASSWORD_FILE:-}
if [ -z "$p12$passfile" ]; then
	echo "$me: signing skipped for $(basename "$exe") ($os/$arch): TRUSTLAUNCH_MACOS_P12 and TRUSTLAUNCH_MACOS_P12_PASSWORD_FILE are not set" >&2
	exit 0
fi
[ -n "$p12" ] && [ -n "$passfile" ] || { echo "$me: set both TRUSTLAUNCH_MACOS_P12 and TRUSTLAUNCH_MACOS_P12_PASSWORD_FILE to sign, or neither" >&2; exit 1; }
[ -r "$p12" ] || { echo "$me: TRUSTLAUNCH_MACOS_P12=$p12 cannot be read" >&2; exit 1; }
[ -r "$passfile" ] || { echo "$me: TRUSTLAUNCH_MACOS_P12_PASSWORD_FILE=$passfile cannot be read" >&2; exit 1; }

quill=$(pwd)/.cache/bin/quill
# The pinned version, from "require github.com/anchore/quill vX" or a line
# of a require block: the stamp rebuilds quill when the pin changes.
want=$(awk '$1 == "require" && $2 == "github.com/anchore/quill" {print $3} $1 == "github.com/anchore/quill" {print $2}' packaging/macos/quill/go.mod)
[ -n "$want" ] || { echo "$me: no github.com/anchore/quill version in packaging/macos/quill/go.mod" >&2; exit 1; }
stamp=$quill.version
if [ ! -x "$quill" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	echo "$me: building quill $want into $(dirname "$quill") (once)" >&2
	mkdir -p "$(dirname "$quill")"
	(cd packaging/macos/quill && go build -o "$quill" github.com/anchore/quill/cmd/quill)
	echo "$want" >"$stamp"
fi

ts=()
case ${TRUSTLAUNCH_MACOS_TIMESTAMP:-} in
"") ;;
none) ts=(--timestamp-server "") ;;
*) ts=(--timestamp-server "$TRUSTLAUNCH_MACOS_TIMESTAMP") ;;
esac
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! QUILL_SIGN_PASSWORD=$(cat "$passfile") "$quill" sign --p12 "$p12" --identity io.github.trustlaunch "${ts[@]}" "$exe" >"$log" 2>&1; then
	echo "$me: quill could not sign $exe:" >&2
	cat "$log" >&2
	exit 1
fi
echo "$me: signed $exe ($os/$arch)" >&2
