#!/usr/bin/env bash
# The test command (README.md, "Set up"). It installs what the tests need and
# runs every check CI runs: formatting, vet and build for linux, darwin and
# windows, the architecture guards, all tests with -race (the real-peer tests
# included), the Windows tests under Wine, each fuzz target briefly, and
# goreleaser check.
#
#   ./test.sh            everything
#   FUZZTIME=30s ./test.sh   fuzz longer (default 10s per target)
set -euo pipefail
cd "$(dirname "$0")"

FUZZTIME=${FUZZTIME:-10s}

# Real peers and terminal tools the tests drive (Debian package names).
DEBIAN_PACKAGES=(
	squid-openssl     # CONNECT proxy with https_port
	websockify        # WebSocket proxy with JWT token plugin
	python3-jwcrypto  # websockify's JWTTokenApi needs it
	stunnel4          # benchmark baseline
	s3270             # scripted 3270 emulator
	hercules          # mainframe emulator, TN3270 host
	tmux              # drives the trust prompt in a real terminal
	xdg-utils         # xdg-mime / xdg-open for URL handler registration
	desktop-file-utils # update-desktop-database, desktop-file-validate
	chromium          # the real-browser test of the URL handler
	xvfb              # an X server for it
	xterm             # the terminal window a browser launch of c3270 runs in
	wine64            # runs the Windows test binaries (scripts/wine/)
	gcc-mingw-w64-x86-64 # builds the test-only bcryptprimitives.dll Wine 8.0 lacks
	msitools          # msiinfo, msiextract: read the MSI in scripts/test-msi.sh
	wixl              # builds the MSI (scripts/msi.sh)
	osslsigncode      # signs and verifies the EXE and MSI
)

step() { printf '\n==> %s\n' "$*"; }

install_packages() {
	local missing=() p
	for p in "${DEBIAN_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
		step "installing Debian packages: ${missing[*]}"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	else
		echo "test.sh: missing Debian packages: ${missing[*]}" >&2
		echo "test.sh: install them first: sudo apt-get install ${missing[*]}" >&2
		exit 1
	fi
}

install_packages

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

for os in linux darwin windows; do
	step "go vet and build, GOOS=$os"
	GOOS=$os GOARCH=amd64 go vet ./...
	GOOS=$os GOARCH=amd64 go build -o /dev/null ./cmd/trustlaunch
done

step "go test -race ./..."
go test -race -count=1 -timeout 20m ./...

step "Windows tests under Wine (GOOS=windows, -tags wineprefix)"
# The Windows build's tests, run by scripts/wine/exec in one throwaway Wine
# prefix made here (10-30 s) and removed at exit. Only the packages below
# pass fully under Wine today; the rest of the tree, and the two platform
# tests that need symbolic links (Wine 8.0's CreateSymbolicLink reports
# success and makes nothing), are tracked in issue 11, to be widened
# (the issue lists every remaining failure and its cause).
# -tags wineprefix lets the admin-file checks accept the prefix's owner
# (platform/wineprefix_on_windows.go); the admin-file test then runs once
# more without it, the release way, and must see the user-owned file refused.
WINDOWS_PACKAGES=(
	./internal/testtmp/
	./internal/safetext/
	./internal/peers/hs256/
	./internal/peers/squidtoken/
	./tui/
	./platform/
)
WINE_SKIP='^(TestWriteFileAtomicRefusesNonRegularTarget|TestRegisterExecutable)$'
wine_dir=$(mktemp -d)
export TRUSTLAUNCH_WINE="$wine_dir/wine"
trap 'scripts/wine/prefix --stop "$TRUSTLAUNCH_WINE"; rm -rf "$wine_dir"' EXIT
scripts/wine/prefix "$TRUSTLAUNCH_WINE"
GOOS=windows GOARCH=amd64 go test -count=1 -timeout 4m -tags wineprefix -skip "$WINE_SKIP" \
	-exec "$PWD/scripts/wine/exec" "${WINDOWS_PACKAGES[@]}"
GOOS=windows GOARCH=amd64 go test -count=1 -timeout 2m -run '^TestAdminFileWinePrefixOwner$' \
	-exec "$PWD/scripts/wine/exec" ./platform/
step "MSI: build, sign, install, upgrade, downgrade, uninstall under Wine"
# In the same prefix (about 20 s); --mutants (about 40 s more) shows the
# test failing on broken packages.
scripts/test-msi.sh --mutants
scripts/wine/prefix --stop "$TRUSTLAUNCH_WINE"
rm -rf "$wine_dir"
trap - EXIT

step "fuzz targets, $FUZZTIME each"
while IFS=: read -r file fn; do
	pkg=./$(dirname "$file")
	go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$FUZZTIME" "$pkg"
done < <(grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | sed 's/func //' | sort)

step "goreleaser check, snapshot package build, .deb install test"
# Installs the .deb with dpkg only as root with CI set; see the script.
scripts/test-packages.sh

step "all checks passed"
