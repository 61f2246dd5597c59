#!/usr/bin/env bash
# Writes the manual page and the shell completions of trustlaunch, made from
# the commands' help (cmd/trustlaunch/help.go), for the release packages.
# goreleaser.yaml runs it before the builds; the .deb and .rpm install the
# files, the archives carry them.
#
#   scripts/manpage-completions.sh OUTDIR [VERSION [DATE]]
#
#   OUTDIR   gets man/trustlaunch.1.gz and completions/: trustlaunch.bash,
#            _trustlaunch (zsh), trustlaunch.fish, trustlaunch.ps1
#   VERSION  the release's version, shown in the page's footer
#   DATE     the commit's date (RFC 3339), shown in the footer; the
#            commit's, not today's, so the page is reproducible
set -euo pipefail
cd "$(dirname "$0")/.."
me=scripts/manpage-completions.sh

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
	echo "$me: usage: $me OUTDIR [VERSION [DATE]]" >&2
	exit 2
fi
out=$1 version=${2:-} date=${3:-}
case $date in 0001-01-01*) date= ;; esac # goreleaser's zero time: no git found

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Built for this machine, with the release's version and date, only to
# print its help.
go build -trimpath -ldflags "-X main.version=$version -X main.date=$date" -o "$tmp/trustlaunch" ./cmd/trustlaunch

mkdir -p "$out/man" "$out/completions"
# -n: no name or time in the gzip header, so the file is reproducible.
"$tmp/trustlaunch" help --man | gzip -n -9 >"$out/man/trustlaunch.1.gz"
"$tmp/trustlaunch" completion bash >"$out/completions/trustlaunch.bash"
"$tmp/trustlaunch" completion zsh >"$out/completions/_trustlaunch"
"$tmp/trustlaunch" completion fish >"$out/completions/trustlaunch.fish"
"$tmp/trustlaunch" completion powershell >"$out/completions/trustlaunch.ps1"
