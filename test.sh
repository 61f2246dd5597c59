#!/usr/bin/env bash
# The test command (README.md, "Set up"). It installs what the tests need,
# checks that every program the tests run comes from a package it installs,
# and runs every check CI runs, in phases:
#
#   lint      formatting, vet and build for linux, darwin and windows
#   unit      all tests with -race: unit, real-peer and browser tests and the
#             architecture guards
#   windows   the Windows build's tests, a link opened through the Windows
#             shell and the MSI, under Wine (scripts/wine/phase.sh)
#   fuzz      each fuzz target briefly
#   macos     every darwin test binary compiled (amd64, arm64), and
#             trustlaunch.app and the .pkg built and checked structurally
#             (scripts/test-macos.sh); nothing here can run darwin code
#   packages  goreleaser check, a snapshot .deb, installed and removed
#
#   ./test.sh                everything, in that order (what CI runs)
#   ./test.sh unit windows   only those phases (the install step always runs)
#   FUZZTIME=30s ./test.sh fuzz   fuzz longer (default 10s per target)
#
# Some tests need root (CI runs as root, and there nothing is left out). Run
# by another user, test.sh says first which ones, runs the rest, and ends
# with a line counting what it did not run.
set -euo pipefail
cd "$(dirname "$0")"

# The race detector sleeps 1 s at every successful exit of a race-built
# binary: each test binary, and each one a test runs (testscript's
# trustlaunch sets it for itself, since scripts get a fresh environment).
export GORACE=atexit_sleep_ms=0

FUZZTIME=${FUZZTIME:-10s}

# Real peers and terminal tools the tests drive (Debian package names).
DEBIAN_PACKAGES=(
	squid-openssl     # CONNECT proxy with https_port
	websockify        # WebSocket proxy with JWT token plugin
	nginx             # cuts idle WebSocket connections in front of websockify (proxy_read_timeout)
	python3-jwcrypto  # websockify's JWTTokenApi needs it
	stunnel4          # benchmark baseline
	s3270             # scripted 3270 emulator
	hercules          # mainframe emulator, TN3270 host
	c3270             # the emulator of the demo's TN3270 session (TestDemoC3270InTmux)
	tmux              # drives the trust prompt in a real terminal
	xdg-utils         # xdg-mime / xdg-open for URL handler registration
	desktop-file-utils # update-desktop-database, desktop-file-validate
	chromium          # the real-browser test of the URL handler
	firefox-esr       # the same test in Firefox, with an enterprise policies.json
	xvfb              # an X server for it
	xterm             # the terminal window a browser launch of c3270 runs in
	wine64            # the Windows loader and wineserver (scripts/wine/)
	wine              # wineboot, which makes the prefix (scripts/wine/prefix); only a recommend of wine64
	gcc-mingw-w64-x86-64 # builds the test-only bcryptprimitives.dll Wine 8.0 lacks
	msitools          # msiinfo, msiextract: read the MSI in scripts/test-msi.sh
	wixl              # builds the MSI (scripts/msi.sh)
	osslsigncode      # signs and verifies the EXE and MSI
	iproute2          # ip: brings up the loopback of the Windows phase's network namespace
	util-linux        # unshare: makes that namespace
	proxytunnel       # the C peer of the connector (scripts/bench-proxytunnel.sh)
	haproxy           # verifies the session token's JWT in front of Squid (docs/proxy.md)
	redis-server      # the shared single-use store of trustlaunch-tokencheck across proxies
	krb5-kdc          # an MIT Kerberos KDC for the outbound proxy's Negotiate sign-on
	krb5-admin-server # kadmin.local: the test realm's principals and keytabs
	krb5-user         # kinit, klist: the test user's credential cache
	libarchive-tools  # bsdtar --format xar: assembles the macOS flat .pkg
	libplist-utils    # plistutil: reads back the macOS bundle's Info.plist
	rsyslog           # the syslog daemon that reads the launch records' RFC 5424 messages (internal/peers.StartRsyslog)
	openssl           # makes the test certificates of scripts/wine/test-open.sh and Squid's password file
	git               # git ls-files (gofmt's file list); goreleaser reads the commit
	gcc               # cgo, which go test -race needs
	mawk              # awk, in test.sh and the scripts (not Essential)
	apt               # apt-cache, which the install check asks
	zsh               # loads the zsh completion in a test (cmd/trustlaunch)
	fish              # loads the fish completion in a test
	man-db            # man -l renders the manual page without warnings (cmd/trustlaunch, scripts/test-packages.sh)
	nodejs            # node: runs docs/portal.md's Node.js portal sample (internal/peers)
)
# Every program the tests and scripts run is recorded, with its package, in
# internal/debpkg (TestEveryProgramRecorded derives them from the source and
# fails on one left out); the install check below fails when one of them
# would not be on a fresh machine that has only these packages and what
# they depend on.

# Each step says when it starts, in seconds since test.sh did: the time of
# each phase can be read from the log of any run.
step() { printf '\n==> %s (at %ds)\n' "$*" "$SECONDS"; }

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

PHASES=(lint unit windows fuzz macos packages)
if [ $# -eq 0 ]; then
	set -- "${PHASES[@]}"
fi
for p in "$@"; do
	[[ " ${PHASES[*]} " == *" $p "* ]] || { echo "test.sh: unknown phase $p; phases: ${PHASES[*]}" >&2; exit 2; }
done
PHASE_LIST=" $* "
wants() { [[ "$PHASE_LIST" == *" $1 "* ]]; }

install_packages
step "install check: the programs the tests run come from DEBIAN_PACKAGES"
go run ./internal/testsh programs "${DEBIAN_PACKAGES[@]}"

# Without root: which tests need it, said first. ROOT_PACKAGES are left out
# of go test; the tests that create users, root-owned files or chown skip
# themselves with a reason naming root, and are counted from go test's
# output (see run_tests).
ROOT_PACKAGES=(
	./internal/browsertest/ # Chromium's managed policies in /etc/chromium/policies, the real admin list
)
# Left out of the Windows tests under Wine (the -tags wineprefix run) without
# root: their admin files are absent paths under /, and the admin-file check
# of an absent file checks its nearest ancestor, Z:\ (/). Wine shows a file as
# owned by the user running it only when its uid is that user's, so for root
# / passes as the prefix owner, and for anyone else it is owned by ANONYMOUS
# LOGON and every such test is refused. The release-way run of the unsafe
# cases below still runs.
WINE_ROOT_PACKAGES=(
	./descriptor/ # the fetch tests' admin CA bundle, an absent path under /
	./launcher/
)
is_root=true
if [ "$(id -u)" -ne 0 ]; then
	is_root=false
	if [ -n "${CI:-}" ]; then
		echo "test.sh: CI must run as root (running as $(id -un)); nothing may be left out there" >&2
		exit 1
	fi
	echo "test.sh: running as $(id -un), not root: these need root and will not run:"
	echo "test.sh:   ${ROOT_PACKAGES[*]} (writes /etc/chromium/policies and /etc/trustlaunch/whitelist.txt)"
	echo "test.sh:   tests that create users (useradd), root-owned files or chown them; each skips with a reason naming root"
	echo "test.sh:   under Wine: ${WINE_ROOT_PACKAGES[*]} with -tags wineprefix (its admin files lie under /, which Wine shows a non-root user as owned by ANONYMOUS LOGON)"
	echo "test.sh:   the .deb install test (dpkg -i, -r and --purge)"
	echo "test.sh: run as root (sudo ./test.sh, as CI does) for everything."
fi
mkdir -p .cache
root_skips_file=.cache/test-root-skips.txt # in .gitignore; each run rewrites it
: >"$root_skips_file"

# phase_unit runs go test -race over every package, or without root over
# all but ROOT_PACKAGES, printing what go test prints without -v (the output
# of failed tests and the package lines), and writes the tests that skipped
# for want of root to $root_skips_file (internal/testsh reads go test -json).
phase_unit() {
	step "go test -race ./..."
	if $is_root; then
		go test -race -count=1 -timeout 20m ./...
		return
	fi
	local pkgs
	pkgs=$(go list ./... | grep -v -x -F "$(go list "${ROOT_PACKAGES[@]}")")
	go build -o .cache/testsh ./internal/testsh
	# shellcheck disable=SC2086 # one package per word
	go test -race -count=1 -timeout 20m -json $pkgs | .cache/testsh gotest "$root_skips_file"
}

phase_lint() {
	step "gofmt"
	local unformatted
	unformatted=$(gofmt -l $(git ls-files '*.go'))
	if [ -n "$unformatted" ]; then
		echo "gofmt would change:" >&2
		echo "$unformatted" >&2
		exit 1
	fi
	step "no executable in git"
	# A binary built at the top (go build ./cmd/...) and added with the rest
	# of a change once reached a commit: 12 MB no one reviews. Tracked files
	# are source; executables are built.
	local f magic built=()
	while IFS= read -r -d '' f; do
		magic=$(head -c 4 -- "$f" | od -An -tx1 | tr -d ' \n')
		case $magic in 7f454c46 | 4d5a* | cffaedfe | cefaedfe) built+=("$f") ;; esac
	done < <(git ls-files -z)
	if [ ${#built[@]} -gt 0 ]; then
		echo "test.sh: executables tracked by git (git rm --cached them): ${built[*]}" >&2
		exit 1
	fi
	step "go mod tidy -diff"
	# A go.sum that lacks a line fails only the commands that need it (go
	# list -deps in the architecture test did, after a merge): check all.
	go mod tidy -diff || { echo "test.sh: go.mod or go.sum is not tidy: run go mod tidy" >&2; exit 1; }
	# Vetted and built as goreleaser.yaml builds the release (CGO_ENABLED=0,
	# -trimpath). The later builds with the same flags then find their
	# dependencies compiled: the snapshot package build, the tests' builds of
	# trustlaunch (internal/peers), and on Windows the phase's tests and its
	# trustlaunch.exe.
	local os
	for os in linux darwin windows; do
		step "go vet and build, GOOS=$os"
		CGO_ENABLED=0 GOOS=$os GOARCH=amd64 go vet -trimpath ./...
		CGO_ENABLED=0 GOOS=$os GOARCH=amd64 go build -trimpath -o /dev/null ./cmd/trustlaunch
	done
	# darwin/arm64 is most Macs, and its Objective-C calls (purego) take
	# another calling convention than amd64's.
	step "go vet and build, GOOS=darwin GOARCH=arm64"
	CGO_ENABLED=0 GOOS=darwin GOARCH=arm64 go vet -trimpath ./...
	CGO_ENABLED=0 GOOS=darwin GOARCH=arm64 go build -trimpath -o /dev/null ./cmd/trustlaunch
}

# The macOS phase: what can be checked of the darwin build without a Mac.
# Every test binary is compiled for both architectures (a test that only
# compiles on darwin would otherwise rot unseen), then the bundle and the
# package are built and read back (scripts/test-macos.sh).
phase_macos() {
	local arch pkgs
	for arch in amd64 arm64; do
		step "go test -c, GOOS=darwin GOARCH=$arch"
		pkgs=$(CGO_ENABLED=0 GOOS=darwin GOARCH=$arch go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./...)
		# shellcheck disable=SC2086 # one package per word
		CGO_ENABLED=0 GOOS=darwin GOARCH=$arch go test -c -o /dev/null $pkgs
	done
	step "trustlaunch.app and the .pkg: scripts/test-macos.sh"
	scripts/test-macos.sh
}

# The Windows phase (scripts/wine/phase.sh): the Windows build's tests,
# a trustlaunch:// link opened through the Windows shell, and the MSI, all
# under Wine in one throwaway prefix. Wine builds the Windows TCP table
# from /proc/net/tcp, and the owner check of a half-closed client reads
# every row of it: after the Linux phase's connect/close floods (tens of
# thousands of TIME_WAIT sockets, 60 s each) one lookup took over 30 s and
# TestHalfClose timed out. As root the phase runs in a network namespace
# of its own, with only its loopback: the table holds its own sockets and
# nothing else (measured: the tests' wall time 133 s on the host with
# 32,000 TIME_WAIT rows, 32 s in the namespace; without root on the host,
# after the drain below, connector's took 107 s and two of its tests failed
# on time, 21 s in a namespace). Where no namespace can be made (a
# container without CAP_SYS_ADMIN, a kernel without unprivileged user
# namespaces), the TIME_WAIT sockets drain first (at most 70 s) and the
# phase runs on the host.
phase_windows() {
	step "the Windows phase: scripts/wine/phase.sh"
	# Every package with test files for Windows runs there, derived rather
	# than listed, so a new one cannot be left out. internal/archtest's
	# go-list checks are !windows (they run on Linux) but the package builds.
	local wine_pkgs=() p
	while read -r p; do
		if ! $is_root && [[ " ${WINE_ROOT_PACKAGES[*]} " == *" $p "* ]]; then
			continue
		fi
		wine_pkgs+=("$p")
	done < <(windows_test_packages)
	$is_root || echo "test.sh: not root: ${WINE_ROOT_PACKAGES[*]} left out of the Windows tests (see the top)"
	# The MSI test builds trustlaunch.exe's Windows resources with go-winres:
	# built here, where the module proxy can be reached.
	packaging/windows/winres.sh --tool
	# unshare: as root, a network namespace; otherwise a user namespace too
	# (-r, where the kernel allows unprivileged ones), in which this user is
	# root and may bring the loopback up.
	local netns=(--net)
	$is_root || netns=(--map-root-user --net)
	if unshare "${netns[@]}" true 2>/dev/null; then
		unshare "${netns[@]}" -- sh -c 'ip link set lo up && exec "$@"' sh scripts/wine/phase.sh "${wine_pkgs[@]}"
	else
		echo "test.sh: no network namespace can be made here (unshare ${netns[*]} failed): the Windows phase runs on the host, after the TIME_WAIT sockets drain"
		time_wait() { cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$4 == "06"' | wc -l; }
		for _ in $(seq 70); do
			[ "$(time_wait)" -lt 2000 ] && break
			sleep 1
		done
		scripts/wine/phase.sh "${wine_pkgs[@]}"
	fi
}

# windows_test_packages prints ./DIR/ for each package that has test files
# when built for Windows.
windows_test_packages() {
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go list -tags wineprefix \
		-f '{{if or .TestGoFiles .XTestGoFiles}}{{.Dir}}{{end}}' ./... |
		sed "s|^$PWD|.|; s|\$|/|"
}

# Go 1.26's fuzzing coordinator can report the end of -fuzztime itself as a
# failure, "context deadline exceeded" with no failing input, when a worker
# is slow to stop on a loaded machine (golang/go#75804, fixed in Go 1.27).
# A target that fails that way, and wrote no input under testdata/fuzz, is
# run again, up to 5 runs in all; any other failure, or that one 5 times,
# fails the run. It is frequent here: in the last 4 CI runs of 11 targets
# it hit FuzzParseSemver, FuzzTN3270Host and FuzzSanitize, once each (about
# one target in 15), so fewer retries would still fail a run now and then.
phase_fuzz() {
	step "fuzz targets, $FUZZTIME each"
	local fuzz_log file fn pkg corpus before run
	fuzz_log=$(mktemp)
	while IFS=: read -r file fn; do
		pkg=$(dirname "$file")
		printf -- '--> fuzz %s in %s\n' "$fn" "$pkg"
		corpus=$(dirname "$file")/testdata/fuzz/$fn
		before=$(inputs "$corpus")
		for run in 1 2 3 4 5; do
			fuzz_once "$pkg" "$fn" "$fuzz_log" && break
			if [ "$run" -lt 5 ] && [ "$(inputs "$corpus")" = "$before" ] &&
				grep -A1 -- "^--- FAIL: $fn " "$fuzz_log" | grep -qx '    context deadline exceeded'; then
				printf -- '--> fuzz %s: the coordinator stopped with "context deadline exceeded" and no failing input (golang/go#75804); again\n' "$fn"
				continue
			fi
			exit 1
		done
	done < <(grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | sed 's/func //' | sort)
	rm -f "$fuzz_log"
}
fuzz_once() { # pkg fn log
	go test -run '^$' -fuzz "^$2\$" -fuzztime "$FUZZTIME" "$1" 2>&1 | tee "$3"
	return "${PIPESTATUS[0]}"
}
inputs() { # how many inputs a target's testdata/fuzz directory holds
	if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi
}

phase_packages() {
	step "goreleaser check, snapshot package build, .deb install test"
	# Installs the .deb with dpkg only as root with CI set; see the script.
	scripts/test-packages.sh
}

for phase in "$@"; do
	"phase_$phase"
done

step "$* passed in $((SECONDS / 60))m$((SECONDS % 60))s"
if ! $is_root && wants unit; then
	n=$(grep -c . "$root_skips_file" || true)
	sed 's/^/test.sh: skipped without root: /' "$root_skips_file"
	echo "test.sh: not run without root: $n tests that skipped for it, ${#ROOT_PACKAGES[@]} package (${ROOT_PACKAGES[*]}), ${#WINE_ROOT_PACKAGES[@]} package under Wine (${WINE_ROOT_PACKAGES[*]} with -tags wineprefix), the .deb install test"
fi
