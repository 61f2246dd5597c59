package platform

import (
	"errors"
	"fmt"
	"slices"

	"golang.org/x/sys/windows/registry"
)

// readGroupPolicy reads GroupPolicyKey from the 64-bit view of HKLM (where
// the Group Policy client writes on 64-bit Windows, whatever the reader's
// bitness), its values and each subkey's values.
func readGroupPolicy() (GroupPolicy, error) {
	const access = registry.QUERY_VALUE | registry.ENUMERATE_SUB_KEYS | registry.WOW64_64KEY
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, GroupPolicyKey, access)
	if errors.Is(err, registry.ErrNotExist) {
		return GroupPolicy{Absent: GroupPolicyPath + " does not exist"}, nil
	}
	if err != nil {
		return GroupPolicy{}, fmt.Errorf("group policy %s: open: %w", GroupPolicyPath, err)
	}
	defer k.Close()
	var gp GroupPolicy
	if gp.Values, err = readValues(k, GroupPolicyPath); err != nil {
		return GroupPolicy{}, err
	}
	names, err := k.ReadSubKeyNames(-1)
	if err != nil {
		return GroupPolicy{}, fmt.Errorf("group policy %s: list subkeys: %w", GroupPolicyPath, err)
	}
	slices.Sort(names)
	for _, name := range names {
		path := GroupPolicyPath + `\` + name
		sk, err := registry.OpenKey(k, name, registry.QUERY_VALUE|registry.WOW64_64KEY)
		if err != nil {
			return GroupPolicy{}, fmt.Errorf("group policy %s: open: %w", path, err)
		}
		vals, err := readValues(sk, path)
		sk.Close()
		if err != nil {
			return GroupPolicy{}, err
		}
		gp.Subkeys = append(gp.Subkeys, RegistrySubkey{Name: name, Values: vals})
	}
	return gp, nil
}

// readValues reads every value of k, sorted by name; path names k in errors.
func readValues(k registry.Key, path string) ([]RegistryValue, error) {
	names, err := k.ReadValueNames(-1)
	if err != nil {
		return nil, fmt.Errorf("group policy %s: list values: %w", path, err)
	}
	slices.Sort(names)
	var out []RegistryValue
	for _, name := range names {
		v := RegistryValue{Name: name}
		_, typ, err := k.GetValue(name, nil)
		if err != nil && !errors.Is(err, registry.ErrShortBuffer) {
			return nil, fmt.Errorf("group policy %s value %q: %w", path, name, err)
		}
		v.Type = typ
		switch typ {
		case registry.SZ, registry.EXPAND_SZ:
			// GetStringValue does not expand REG_EXPAND_SZ; the parser
			// refuses that type, so what it holds is never used.
			v.String, _, err = k.GetStringValue(name)
		case registry.DWORD, registry.QWORD:
			v.Number, _, err = k.GetIntegerValue(name)
		}
		if err != nil {
			return nil, fmt.Errorf("group policy %s value %q: %w", path, name, err)
		}
		out = append(out, v)
	}
	return out, nil
}
