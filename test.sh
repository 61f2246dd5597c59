#!/usr/bin/env bash
# The test command (README.md, "Set up"). It installs what the tests need and
# runs every check CI runs: formatting, vet and build for linux, darwin and
# windows, the architecture guards, all tests with -race (the real-peer tests
# included), each fuzz target briefly, and goreleaser check.
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

step "fuzz targets, $FUZZTIME each"
while IFS=: read -r file fn; do
	pkg=./$(dirname "$file")
	go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$FUZZTIME" "$pkg"
done < <(grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | sed 's/func //' | sort)

step "goreleaser check, snapshot package build, .deb install test"
# Installs the .deb with dpkg only as root with CI set; see the script.
scripts/test-packages.sh

step "all checks passed"
