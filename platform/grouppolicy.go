package platform

import "strconv"

// GroupPolicyKey is the registry key, under HKEY_LOCAL_MACHINE, that the
// ADMX template (packaging/windows/admx/trustlaunch.admx) writes: Group
// Policy's own place for an application's machine policy, which only
// administrators and the Group Policy client can write.
const GroupPolicyKey = `Software\Policies\trustlaunch`

// GroupPolicyPath is GroupPolicyKey as messages name it.
const GroupPolicyPath = `HKLM\` + GroupPolicyKey

// Registry value types, as Windows numbers them (winnt.h), so that the
// values read on Windows can be fed to the parser on every OS.
const (
	RegSZ       uint32 = 1
	RegExpandSZ uint32 = 2
	RegBinary   uint32 = 3
	RegDWORD    uint32 = 4
	RegMultiSZ  uint32 = 7
	RegQWORD    uint32 = 11
)

// RegTypeName names a registry value type as reg.exe does.
func RegTypeName(t uint32) string {
	switch t {
	case RegSZ:
		return "REG_SZ"
	case RegExpandSZ:
		return "REG_EXPAND_SZ"
	case RegBinary:
		return "REG_BINARY"
	case RegDWORD:
		return "REG_DWORD"
	case RegMultiSZ:
		return "REG_MULTI_SZ"
	case RegQWORD:
		return "REG_QWORD"
	}
	return "registry type " + strconv.FormatUint(uint64(t), 10)
}

// RegistryValue is one value as read, uninterpreted: String for REG_SZ and
// REG_EXPAND_SZ, Number for REG_DWORD and REG_QWORD, nothing for the other
// types (the parser refuses them by Type).
type RegistryValue struct {
	Name   string
	Type   uint32
	String string
	Number uint64
}

// RegistrySubkey is one subkey of GroupPolicyKey and its values (the lists
// the ADMX template's <list> elements write, one value per entry).
type RegistrySubkey struct {
	Name   string
	Values []RegistryValue
}

// GroupPolicy is the content of HKLM\Software\Policies\trustlaunch: its
// values and its subkeys' values, one level deep (the template writes no
// deeper). Absent, when not empty, says why there is no policy at all
// ("no group policy on this OS", "the key does not exist").
type GroupPolicy struct {
	Absent  string
	Values  []RegistryValue
	Subkeys []RegistrySubkey
}

// ReadGroupPolicy reads the machine's Group Policy for trustlaunch. On
// Windows a missing key is absence; any other error (a value that cannot be
// read, a subkey that cannot be opened) is returned, and the caller stops
// every launch with it: a policy the machine has but cannot read may be the
// one that forbids the launch (docs/design.md "Fail closed"). Outside Windows
// there is no Group Policy, which is absence, not an error.
func ReadGroupPolicy() (GroupPolicy, error) { return readGroupPolicy() }
