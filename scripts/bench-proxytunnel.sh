#!/usr/bin/env bash
# The connector against proxytunnel
# (BENCHMARKS.md "Against proxytunnel, the peer of the same shape"), through
# one real Squid per run: each implementation runs in its own benchmark
# process with its own Squid, the tunnel client in a child process with a
# cgroup v2 of its own (CPU-seconds from cpu.stat), the implementations take
# turns within each round (the order rotates each round), and ratios are taken
# per round before the median and the interquartile range.
#
#   scripts/bench-proxytunnel.sh [ROUNDS] [MIB]    defaults: 10 256
#
# TL_BENCH_SQUID=tls12 holds Squid to one TLS 1.2 suite; TL_BENCH_RTT sets
# the round trips per measurement (default 2000); TL_TRUSTLAUNCH_B=BINARY
# adds trustlaunch-connect-b, another trustlaunch build, for A/B runs;
# TL_TRUSTLAUNCH_B_ENV="NAME=VALUE ..." runs the B side with those variables
# (an A/B of a setting, GOMAXPROCS=1 say: TL_TRUSTLAUNCH_B defaults to the
# A build then); TL_BENCH_IMPLS="A B ..." runs only those implementations.
# With both trustlaunch-connect and trustlaunch-connect-b in a run, the
# report adds B over A, per round.
# Raw lines ("ROUND IMPL METRIC VALUE", and the suites Squid logged): $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-10}
mib=${2:-256}
OUT=${OUT:-$(mktemp /tmp/bench-proxytunnel.XXXXXX)}
read -ra impls <<<"${TL_BENCH_IMPLS:-direct proxytunnel trustlaunch-connect connector-serve}"
if [ -n "${TL_TRUSTLAUNCH_B:-}${TL_TRUSTLAUNCH_B_ENV:-}" ] && [[ " ${impls[*]} " != *" trustlaunch-connect-b "* ]]; then
	impls+=(trustlaunch-connect-b)
fi

. scripts/bench-lib.sh
# TL_BENCH_REPORT_ONLY=1 OUT=FILE: only the report of an earlier run's lines.
if [ -z "${TL_BENCH_REPORT_ONLY:-}" ]; then
build_peers_test
TL_TRUSTLAUNCH=$(mktemp /tmp/trustlaunch.XXXXXX)
trap 'rm -f "$peers_test" "$TL_TRUSTLAUNCH"' EXIT
CGO_ENABLED=0 go build -o "$TL_TRUSTLAUNCH" ./cmd/trustlaunch
export TL_TRUSTLAUNCH TL_BENCH_MIB=$mib
if [ -n "${TL_TRUSTLAUNCH_B_ENV:-}" ]; then
	# The B side with its own environment: a wrapper that execs the
	# binary, so the tunnel is the same process, in the same cgroup, as
	# without it (the shell's few milliseconds end before the first byte,
	# when the CPU count starts). The variables are the harness's own,
	# never a token.
	b_bin=$(realpath "${TL_TRUSTLAUNCH_B:-$TL_TRUSTLAUNCH}")
	TL_TRUSTLAUNCH_B=$(mktemp /tmp/trustlaunch-b.XXXXXX)
	trap 'rm -f "$peers_test" "$TL_TRUSTLAUNCH" "$TL_TRUSTLAUNCH_B"' EXIT
	printf '#!/bin/sh\nexec env %s %q "$@"\n' "$TL_TRUSTLAUNCH_B_ENV" "$b_bin" >"$TL_TRUSTLAUNCH_B"
	chmod 0755 "$TL_TRUSTLAUNCH_B"
	export TL_TRUSTLAUNCH_B
fi
cd internal/peers
n=${#impls[@]}
for r in $(seq "$rounds"); do
	for k in $(seq 0 $((n - 1))); do
		impl=${impls[$(((k + r) % n))]}
		"$peers_test" -test.run '^$' -test.bench "^BenchmarkTunnel/impl=${impl}\$" -test.benchtime 1x |
			awk -v r="$r" -v i="$impl" '
				/^BenchmarkTunnel/ { for (f = 5; f < NF; f += 2) print r, i, $(f+1), $f }
				/ tls / { sub(/.*: map\[/, ""); sub(/\]$/, ""); print r, i, "tls", $0 }'
	done
done >"$OUT"
fi

printf '%s rounds of %s MiB each way, Squid %s, raw lines in %s\n' "$rounds" "$mib" "${TL_BENCH_SQUID:-default}" "$OUT"
[ -n "${TL_TRUSTLAUNCH_B_ENV:-}" ] && printf 'trustlaunch-connect-b runs with %s\n' "$TL_TRUSTLAUNCH_B_ENV"
ab=""
[[ " ${impls[*]} " == *" trustlaunch-connect "* && " ${impls[*]} " == *" trustlaunch-connect-b "* ]] && ab=1
printf 'suites (Squid access log, "VERSION SUITE:CONNECTIONS"):\n'
for impl in "${impls[@]}"; do
	[ "$impl" = direct ] && continue
	printf '  %-24s %s\n' "$impl" "$(awk -v i="$impl" '$2 == i && $3 == "tls" { $1 = $2 = $3 = ""; print }' "$OUT" | sort | uniq -c | sort -rn | sed -n 1p | sed 's/^ *[0-9]* *//')"
done
for metric in up-MB/s down-MB/s up-cpus/GiB down-cpus/GiB rtt-p50-us rtt-p99-us idle-rtt-p50-us idle-rtt-p99-us; do
	printf '\n%-24s %10s %28s %28s\n' "$metric" median "vs proxytunnel (IQR)" "vs direct (IQR)"
	for impl in "${impls[@]}"; do
		v=$(values "$OUT" "$impl" "$metric" | median)
		[ "$v" = - ] && continue
		vs() { ratios "$OUT" "$impl" "$1" "$metric" | quartiles | awk '$1 != "-" { printf "%s (%s-%s)", $1, $2, $3 }'; }
		vd=""
		case $metric in *rtt*) vd=$(vs direct) ;; esac
		printf '%-24s %10s %28s %28s\n' "$impl" "$v" "$(vs proxytunnel)" "$vd"
	done
	if [ -n "$ab" ]; then
		printf '%-24s %10s %28s\n' "B over A" "" "$(ratios "$OUT" trustlaunch-connect-b trustlaunch-connect "$metric" | quartiles | awk '$1 != "-" { printf "%s (%s-%s)", $1, $2, $3 }')"
	fi
done
