//go:build !windows

package platform

import "testing"

// TestReadGroupPolicyOtherOS: outside Windows there is no Group Policy,
// which is absence with its reason, never an error that would stop every
// launch on Linux and macOS.
func TestReadGroupPolicyOtherOS(t *testing.T) {
	gp, err := ReadGroupPolicy()
	if err != nil || gp.Absent != "no group policy on this OS" || gp.Values != nil || gp.Subkeys != nil {
		t.Fatalf("ReadGroupPolicy() = %+v, %v; want absence: no group policy on this OS", gp, err)
	}
}
