package policy

import "github.com/trustlaunch/trustlaunch/platform"

const machineKind = "managed preferences"

// readMachinePolicy reads macOS's managed preferences for trustlaunch
// (managedprefs.go), under the admin files' ownership rule.
func readMachinePolicy() machinePolicy {
	return readManagedPrefs(ManagedPrefsPath, platform.CheckAdminFile)
}
