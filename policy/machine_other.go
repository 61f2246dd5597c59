//go:build !darwin

package policy

import "github.com/trustlaunch/trustlaunch/platform"

const machineKind = "group policy"

// readMachinePolicy reads Windows Group Policy (absent elsewhere).
func readMachinePolicy() machinePolicy {
	gp, err := platform.ReadGroupPolicy()
	return machinePolicy{names: groupPolicy, gp: gp, err: err}
}
