#!/usr/bin/env bash
# Bulk throughput through the real peers (issue 4), measured so that
# ratios can be trusted on a shared, noisy machine: each implementation
# runs in its own process (its own Squid and stunnel, none of them warmed
# by another), the implementations take turns within each round, and the
# ratios are taken per round, between runs minutes apart at most, before
# the median is taken.
#
#   scripts/bench-peers.sh [ROUNDS] [MIB_PER_RUN]    defaults: 8 300
#
# Prints the median MB/s of each implementation and the median per-round
# ratio of each against bare-go and stunnel-pair. Raw lines: $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-8}
mib=${2:-300}
OUT=${OUT:-$(mktemp /tmp/bench-peers.XXXXXX)}
impls=(connector-serve connector-dial bare-go stunnel-pair connector-serve-proxytest bare-go-proxytest)

bin=$(mktemp /tmp/peers.test.XXXXXX)
trap 'rm -f "$bin"' EXIT
go test -c -o "$bin" ./internal/peers/
cd internal/peers
for r in $(seq "$rounds"); do
	for impl in "${impls[@]}"; do
		"$bin" -test.run '^$' -test.bench "^BenchmarkBulk/impl=${impl}\$" -test.benchtime "${mib}x" |
			awk -v r="$r" -v i="$impl" '/^BenchmarkBulk/ { print r, i, $(NF-1) }'
	done
done >"$OUT"

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR) printf "%.3g", (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2); else printf "-" }'; }
printf '%s rounds of %s MiB, raw lines in %s\n\n' "$rounds" "$mib" "$OUT"
printf '%-28s %10s %14s %18s\n' implementation MB/s vs-bare-go vs-stunnel-pair
for impl in "${impls[@]}"; do
	mbs=$(awk -v i="$impl" '$2 == i { print $3 }' "$OUT" | median)
	ratio() { awk -v i="$impl" -v b="$1" '$2 == i { v[$1] = $3 } $2 == b { w[$1] = $3 } END { for (r in v) if (r in w) print v[r] / w[r] }' "$OUT" | median; }
	printf '%-28s %10s %14s %18s\n' "$impl" "$mbs" "$(ratio bare-go)" "$(ratio stunnel-pair)"
done
