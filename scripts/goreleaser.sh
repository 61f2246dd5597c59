#!/usr/bin/env bash
# Runs the pinned goreleaser, built from source into .cache/bin on first use:
#
#   scripts/goreleaser.sh ARGS...      goreleaser ARGS...
#
# scripts/release-packages.sh and scripts/test-packages.sh use it, so both
# build with the same goreleaser. Compiling it is the slowest step of a
# first run (about 2 minutes on 2 CPUs); later runs start at once.
set -euo pipefail
cd "$(dirname "$0")/.."

GORELEASER_VERSION=v2.15.1

gobin="$(pwd)/.cache/bin"
# The version is read whole before matching: "--version | grep -q" would let
# grep close the pipe early, and pipefail would count goreleaser's SIGPIPE.
have=$("$gobin/goreleaser" --version 2>/dev/null || true)
if [[ $have != *"${GORELEASER_VERSION#v}"* ]]; then
	echo "scripts/goreleaser.sh: building goreleaser $GORELEASER_VERSION into $gobin (once)" >&2
	# Built without optimization and symbols (-N -l, -s -w): compiling its
	# dependencies is the slowest step of a fresh run, and this cuts it from
	# 151 s to 120 s on 2 CPUs. goreleaser's own work here is small; it runs
	# go build, nfpm and archive steps whose output does not depend on this.
	GOBIN="$gobin" go install -gcflags='all=-N -l' -ldflags='-s -w' \
		"github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION"
fi
exec "$gobin/goreleaser" "$@"
