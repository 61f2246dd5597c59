#!/usr/bin/env bash
# Builds trustlaunch.app and the .pkg as a release does and checks them
# structurally, on Linux (test.sh's macos phase; docs/macos.md):
#
#   scripts/test-macos.sh
#
# 1. trustlaunch for darwin/amd64 and darwin/arm64, with the release's flags,
#    each signed by scripts/macos-sign.sh (quill) with a throwaway
#    certificate, and the signature read back (LC_CODE_SIGNATURE, the CMS
#    blob naming the signer);
# 2. scripts/macos-pkg.sh: the bundle and the package;
# 3. the package read back with tools that are not ours: bsdtar lists and
#    extracts the xar and the cpio Payload and Scripts, plistutil converts
#    Info.plist; then macpkg check-pkg holds the Bom against the extracted
#    payload, and PackageInfo and Distribution against the bundle;
# 4. the same commit built twice gives the same members (the xar's table
#    of contents holds the time it was written and the build's inode
#    numbers, which bsdtar takes from the system).
# What it cannot check is what macOS would say: docs/macos.md, "First run
# on a Mac".
set -euo pipefail
cd "$(dirname "$0")/.."
me=scripts/test-macos.sh
for tool in bsdtar plistutil openssl; do
	command -v "$tool" >/dev/null || { echo "$me: $tool not found (test.sh installs it)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "$me: FAIL: $*" >&2; exit 1; }

for arch in amd64 arm64; do
	CGO_ENABLED=0 GOOS=darwin GOARCH=$arch go build -trimpath -ldflags '-s -w -X main.version=0.0.0-test' \
		-o "$work/trustlaunch-$arch" ./cmd/trustlaunch
done
# A throwaway CA and a code-signing certificate it issued (quill wants the
# chain), in a PKCS#12 file as a release machine would hold its Developer ID.
ca=$work/ca
mkdir -p "$ca"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj "/CN=trustlaunch test CA" -addext "basicConstraints=critical,CA:true" \
	-addext "keyUsage=critical,keyCertSign" -keyout "$ca/ca.key" -out "$ca/ca.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj "/CN=trustlaunch test signer" -keyout "$ca/leaf.key" -out "$ca/leaf.csr" 2>/dev/null
printf 'extendedKeyUsage=codeSigning\nkeyUsage=critical,digitalSignature\n' >"$ca/ext"
openssl x509 -req -in "$ca/leaf.csr" -CA "$ca/ca.pem" -CAkey "$ca/ca.key" -CAcreateserial \
	-days 1 -extfile "$ca/ext" -out "$ca/leaf.pem" 2>/dev/null
echo "throwaway" >"$ca/pass"
openssl pkcs12 -export -inkey "$ca/leaf.key" -in "$ca/leaf.pem" -certfile "$ca/ca.pem" \
	-passout "file:$ca/pass" -out "$ca/sign.p12"
for arch in amd64 arm64; do
	TRUSTLAUNCH_MACOS_P12=$ca/sign.p12 TRUSTLAUNCH_MACOS_P12_PASSWORD_FILE=$ca/pass TRUSTLAUNCH_MACOS_TIMESTAMP=none \
		scripts/macos-sign.sh darwin "$arch" "$work/trustlaunch-$arch"
done
go run ./internal/macpkg/cmd/macpkg check-sig -signer "trustlaunch test signer" "$work/trustlaunch-amd64" "$work/trustlaunch-arm64"

export SOURCE_DATE_EPOCH=1767225600
scripts/macos-pkg.sh 0.0.0-test "$work/a/trustlaunch.pkg" "$work/trustlaunch-amd64" "$work/trustlaunch-arm64"

pkg=$work/a/trustlaunch.pkg
[ "$(head -c 4 "$pkg")" = "xar!" ] || fail "$pkg is not a xar archive"
# The header's checksum algorithm (bytes 24..27, big-endian): 1 is SHA-1.
[ "$(od -A n -t x1 -j 24 -N 4 "$pkg" | tr -d ' \n')" = 00000001 ] || fail "TOC checksum is not SHA-1"
want="Distribution
trustlaunch.pkg
trustlaunch.pkg/Bom
trustlaunch.pkg/PackageInfo
trustlaunch.pkg/Payload
trustlaunch.pkg/Scripts"
got=$(bsdtar -tf "$pkg" | sort)
[ "$got" = "$want" ] || fail "members of the .pkg: $got"

x=$work/x
mkdir -p "$x/pkg" "$x/payload" "$x/scripts"
bsdtar -xf "$pkg" -C "$x/pkg"
bsdtar -xf "$x/pkg/trustlaunch.pkg/Payload" -C "$x/payload"
bsdtar -xf "$x/pkg/trustlaunch.pkg/Scripts" -C "$x/scripts"
# libarchive names the format it read: the POSIX odc cpio.
gzip -dc "$x/pkg/trustlaunch.pkg/Payload" | bsdtar -tvf - >/dev/null
[ "$(gzip -dc "$x/pkg/trustlaunch.pkg/Payload" | head -c 6)" = 070707 ] || fail "Payload is not cpio odc"
[ -x "$x/scripts/postinstall" ] || fail "Scripts has no executable postinstall"
sh -n "$x/scripts/postinstall" || fail "postinstall does not parse"
cmp -s "$x/scripts/postinstall" packaging/macos/scripts/postinstall || fail "postinstall differs from packaging/macos/scripts/postinstall"

plist=$x/payload/trustlaunch.app/Contents/Info.plist
plistutil -i "$plist" -o "$work/Info.bplist" -f bin
plistutil -i "$work/Info.bplist" -o "$work/Info.xml" -f xml
grep -q '<string>trustlaunch</string>' "$work/Info.xml" || fail "Info.plist lost the scheme through plistutil"

go run ./internal/macpkg/cmd/macpkg check-pkg "$x/pkg" "$x/payload"
# Both slices keep their signatures inside the universal binary.
go run ./internal/macpkg/cmd/macpkg check-app "$x/payload/trustlaunch.app" | grep -q 'signed slices: \[CpuAmd64 CpuArm64\]' ||
	fail "the bundle's binary lost a slice's signature"

scripts/macos-pkg.sh 0.0.0-test "$work/b/trustlaunch.pkg" "$work/trustlaunch-amd64" "$work/trustlaunch-arm64" 2>/dev/null
mkdir -p "$x/again"
bsdtar -xf "$work/b/trustlaunch.pkg" -C "$x/again"
diff -r "$x/pkg" "$x/again" >/dev/null || fail "two builds of the same inputs have different members"
echo "$me: ok: $(du -h "$pkg" | cut -f1) package; bundle, Bom, payload, PackageInfo and Distribution consistent; members reproducible"
