//go:build !windows

package platform

// readGroupPolicy: Group Policy exists only on Windows. Elsewhere the admin
// files are the whole policy, so absence is the truth, not a skipped check.
func readGroupPolicy() (GroupPolicy, error) {
	return GroupPolicy{Absent: "no group policy on this OS"}, nil
}
