# Helpers shared by the benchmark scripts (bench-peers.sh,
# bench-proxytunnel.sh): source it, do not run it.
#
# Raw lines are "ROUND IMPL METRIC VALUE". Ratios are taken per round, then
# summarized, so that a slow minute of a shared machine hits one round, not
# one implementation.

# quartiles reads numbers, one a line, and prints "MEDIAN Q1 Q3" (linear
# interpolation), or "- - -" when there are none.
quartiles() {
	sort -g | awk '
		function q(p,  pos, i) { pos = (NR - 1) * p + 1; i = int(pos); return a[i] + (pos - i) * (a[i+1] - a[i]) }
		{ a[NR] = $1 }
		END { if (!NR) { print "- - -"; exit } a[NR+1] = a[NR]; printf "%.3g %.3g %.3g\n", q(0.5), q(0.25), q(0.75) }'
}

# median reads numbers, one a line, and prints their median.
median() { quartiles | awk '{ printf "%s", $1 }'; }

# values FILE IMPL METRIC prints IMPL's METRIC of every round.
values() { awk -v i="$2" -v m="$3" '$2 == i && $3 == m { print $4 }' "$1"; }

# ratios FILE IMPL BASE METRIC prints IMPL's METRIC over BASE's, per round.
ratios() {
	awk -v i="$2" -v b="$3" -v m="$4" '
		$3 == m && $2 == i { v[$1] = $4 } $3 == m && $2 == b { w[$1] = $4 }
		END { for (r in v) if (r in w && w[r] != 0) print v[r] / w[r] }' "$1"
}

# build_peers_test builds the internal/peers test binary (without -race:
# these are benchmarks) to a temp file named in $peers_test, removed at exit.
build_peers_test() {
	peers_test=$(mktemp /tmp/peers.test.XXXXXX)
	trap 'rm -f "$peers_test"' EXIT
	go test -c -o "$peers_test" ./internal/peers/
}
