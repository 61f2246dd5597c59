//go:build linux && race

package connector

// floodRatioLimit is the most TestRefusalFloodSetupTime accepts for the
// p99 setup time under the flood over the p99 without. The race detector
// slows this process's Go code several times over but not the flooding
// child's loop, which is mostly system calls, so the same flood weighs
// about twice as much: the limit is doubled. Without -race it is the
// issue's 5x; BENCHMARKS.md has the figures of the benchmark.
const floodRatioLimit = 10
