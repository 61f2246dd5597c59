#!/usr/bin/env bash
# Bulk throughput through the real peers
# (BENCHMARKS.md "Bulk throughput through the real peers"), measured so that
# ratios can be trusted on a shared, noisy machine: each implementation runs
# in its own process (its own Squid and stunnel, none of them warmed by
# another), the implementations take turns within each round, and the ratios
# are taken per round, between runs minutes apart at most, before the median
# is taken.
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

. scripts/bench-lib.sh
build_peers_test
cd internal/peers
for r in $(seq "$rounds"); do
	for impl in "${impls[@]}"; do
		"$peers_test" -test.run '^$' -test.bench "^BenchmarkBulk/impl=${impl}\$" -test.benchtime "${mib}x" |
			awk -v r="$r" -v i="$impl" '/^BenchmarkBulk/ { print r, i, "MB/s", $(NF-1) }'
	done
done >"$OUT"

printf '%s rounds of %s MiB, raw lines in %s\n\n' "$rounds" "$mib" "$OUT"
printf '%-28s %10s %14s %18s\n' implementation MB/s vs-bare-go vs-stunnel-pair
for impl in "${impls[@]}"; do
	printf '%-28s %10s %14s %18s\n' "$impl" "$(values "$OUT" "$impl" MB/s | median)" \
		"$(ratios "$OUT" "$impl" bare-go MB/s | median)" "$(ratios "$OUT" "$impl" stunnel-pair MB/s | median)"
done
