// Package plural writes a count with its noun: "1 entry", "2 entries".
// Every message that counts something goes through it, so that none says
// "1 entries".
package plural

import "strconv"

// Count returns n followed by one when n is 1, else by many.
func Count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
