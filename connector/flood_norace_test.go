//go:build linux && !race

package connector

// floodRatioLimit: see flood_race_test.go. This is issue 10's limit.
const floodRatioLimit = 5
