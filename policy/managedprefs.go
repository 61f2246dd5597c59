package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strconv"

	"howett.net/plist"

	"github.com/trustlaunch/trustlaunch/internal/safetext"
	"github.com/trustlaunch/trustlaunch/platform"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// macOS managed preferences, the analogue of Windows Group Policy: an MDM
// (Jamf, Intune, Kandji, ...) installs a configuration profile whose
// Custom Settings payload for the domain ManagedPrefsDomain lands, written
// by the system as root, in ManagedPrefsPath. Its keys are Group Policy's
// names with the same forms, so one parser (parseGP) and one merge serve
// both:
//
//	AllowAdminListOnly  <true/> or <false/> (or <integer> 0 or 1)
//	RequireSigned       <true/> or <false/> (or <integer> 0 or 1)
//	OSLog               <string> info, warning, error or off
//	MacOSLaunch         <true/> or <false/>: policy.toml's macos_launch
//	Servers             <array> of <string>: HOST[:PORT]
//	Proxies             <array> of <string>: ADDRESS [sha256/PIN ...]
//	Destinations        <array> of <string>: ADDRESS [tls] [sha256/PIN ...] [ca=BASE64-DER ...]
//	Publishers          <dict>: the publisher's name -> <string> BASE64-SPKI [ORIGIN ...]
//
// The file is read in pure Go (XML or binary property list: the system
// writes binary) and only after the admin file's ownership check of its
// whole path (platform.CheckAdminFile: owned by root, not writable by
// group or others), so only an administrator or the MDM could have
// written it. A file that exists but cannot be used stops every launch,
// as Group Policy that cannot be read does.
//
// Only the computer-level file is read. The per-user one
// (/Library/Managed Preferences/USER/...) would need the user's name,
// which a cgo-free build finds only in $USER: a variable the user sets
// must never choose which policy applies.
const (
	ManagedPrefsDomain = "io.github.trustlaunch" // the bundle's CFBundleIdentifier
	ManagedPrefsPath   = "/Library/Managed Preferences/" + ManagedPrefsDomain + ".plist"
	MPMacOSLaunch      = "MacOSLaunch"
	maxManagedPrefs    = 1 << 20
)

// managedNames names the managed preferences' settings in messages.
func managedNames(path string) machineNames {
	return machineNames{
		root: path,
		value: func(sub, name string) string {
			if sub == "" {
				return path + ": " + name
			}
			if sub == GPPublishers {
				return path + ": " + sub + ` "` + name + `"`
			}
			return path + ": " + sub + " item " + name
		},
		list:  func(sub string) string { return path + ": " + sub },
		label: "managed preferences",
		hint:  "every launch stops until the managed preferences are fixed: an administrator corrects the configuration profile of the domain " + ManagedPrefsDomain + " in the MDM (docs/macos.md lists its keys); trustlaunch whitelist paths shows what is read",
	}
}

// machinePolicy is a machine policy as read: Group Policy's settings, or
// the managed preferences' and their MacOSLaunch.
type machinePolicy struct {
	names       machineNames
	gp          platform.GroupPolicy
	err         error
	macOSLaunch *bool // MacOSLaunch, when the managed preferences set it
}

// parseManagedPrefs converts the property list of path into the form
// Group Policy is read in. A key it does not know, or a value of the
// wrong type, is a *GPError naming it: skipping a setting would quietly
// allow more than the administrator set.
func parseManagedPrefs(path string, data []byte) (machinePolicy, error) {
	n := managedNames(path)
	mp := machinePolicy{names: n}
	var root map[string]any
	format, err := plist.Unmarshal(data, &root)
	if err != nil {
		return machinePolicy{}, &GPError{Value: path, Msg: "is not a property list holding a dictionary: " + safetext.Sanitize(err.Error()), hint: n.hint, label: n.label}
	}
	if format != plist.XMLFormat && format != plist.BinaryFormat {
		// The system writes binary, tools XML. The library also reads the
		// old text formats, in which an empty file (a write that did not
		// finish) or stray text is a dictionary of nothing.
		return machinePolicy{}, &GPError{Value: path, Msg: "is not an XML or binary property list", hint: n.hint, label: n.label}
	}
	for _, key := range slices.Sorted(maps.Keys(root)) {
		if err := mp.setting(key, root[key]); err != nil {
			return machinePolicy{}, err
		}
	}
	// Parse once here, so that a bad value is reported whatever the
	// caller merges it into.
	if _, err := parseGP(mp.gp, n); err != nil {
		return machinePolicy{}, err
	}
	return mp, nil
}

// setting converts one key of the property list into mp.
func (mp *machinePolicy) setting(key string, v any) error {
	n := mp.names
	bad := func(format string, args ...any) error {
		return &GPError{Value: n.value("", safetext.Sanitize(key)), Msg: fmt.Sprintf(format, args...), hint: n.hint, label: n.label}
	}
	switch key {
	case GPAllowAdminListOnly, GPRequireSigned:
		b, ok := plistBool(v)
		if !ok {
			return bad("is %s, want <true/> or <false/>", plistType(v))
		}
		mp.gp.Values = append(mp.gp.Values, platform.RegistryValue{Name: key, Type: platform.RegDWORD, Number: b})
	case MPMacOSLaunch:
		b, ok := plistBool(v)
		if !ok {
			return bad("is %s, want <true/> or <false/>", plistType(v))
		}
		on := b == 1
		mp.macOSLaunch = &on
	case GPOSLog:
		str, ok := v.(string)
		if !ok {
			return bad("is %s, want <string>", plistType(v))
		}
		mp.gp.Values = append(mp.gp.Values, platform.RegistryValue{Name: key, Type: platform.RegSZ, String: str})
	case GPServers, GPProxies, GPDestinations:
		items, ok := v.([]any)
		if !ok {
			return bad("is %s, want an <array> of <string>", plistType(v))
		}
		sk := platform.RegistrySubkey{Name: key}
		for i, it := range items {
			str, ok := it.(string)
			if !ok {
				return &GPError{Value: n.value(key, strconv.Itoa(i+1)), Msg: fmt.Sprintf("is %s, want <string>", plistType(it)), hint: n.hint, label: n.label}
			}
			// parseGP numbers list values 1, 2, ... as the ADMX
			// template does: the item's place in the array.
			sk.Values = append(sk.Values, platform.RegistryValue{Name: strconv.Itoa(i + 1), Type: platform.RegSZ, String: str})
		}
		mp.gp.Subkeys = append(mp.gp.Subkeys, sk)
	case GPPublishers:
		d, ok := v.(map[string]any)
		if !ok {
			return bad("is %s, want a <dict> of publisher names to <string>", plistType(v))
		}
		sk := platform.RegistrySubkey{Name: key}
		for _, name := range slices.Sorted(maps.Keys(d)) {
			str, ok := d[name].(string)
			if !ok {
				return &GPError{Value: n.value(key, safetext.Sanitize(name)), Msg: fmt.Sprintf("is %s, want <string>", plistType(d[name])), hint: n.hint, label: n.label}
			}
			sk.Values = append(sk.Values, platform.RegistryValue{Name: name, Type: platform.RegSZ, String: str})
		}
		mp.gp.Subkeys = append(mp.gp.Subkeys, sk)
	default:
		return bad("unknown key; trustlaunch's managed preferences are %s, %s, %s, %s, %s, %s, %s and %s",
			GPAllowAdminListOnly, GPRequireSigned, GPOSLog, MPMacOSLaunch, GPServers, GPProxies, GPDestinations, GPPublishers)
	}
	return nil
}

// plistBool accepts <true/>, <false/> and the integers 0 and 1 (some MDM
// consoles write a boolean as an integer), as the number parseGP reads.
func plistBool(v any) (uint64, bool) {
	switch b := v.(type) {
	case bool:
		if b {
			return 1, true
		}
		return 0, true
	case uint64:
		if b <= 1 {
			return b, true
		}
	case int64:
		if b == 0 || b == 1 {
			return uint64(b), true
		}
	}
	return 0, false
}

// plistType names a value's property list type.
func plistType(v any) string {
	switch v.(type) {
	case bool:
		return "a <true/> or <false/>"
	case uint64, int64:
		return "an <integer>"
	case float64, float32:
		return "a <real>"
	case string:
		return "a <string>"
	case []any:
		return "an <array>"
	case map[string]any:
		return "a <dict>"
	case []byte:
		return "a <data>"
	}
	return "a <date> or another type"
}

// readManagedPrefs reads the managed preferences at path after check
// (platform.CheckAdminFile). A missing file is no managed preferences; any
// other failure is the machine policy's error, which stops every launch.
func readManagedPrefs(path string, check func(string) error) machinePolicy {
	n := managedNames(path)
	none := machinePolicy{names: n, gp: platform.GroupPolicy{Absent: "no managed preferences for " + ManagedPrefsDomain}}
	if err := check(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return none
		}
		return machinePolicy{names: n, err: err}
	}
	data, err := platform.ReadRegularFile(path, maxManagedPrefs)
	if errors.Is(err, fs.ErrNotExist) {
		return none // removed between the check and the read
	}
	if err != nil {
		return machinePolicy{names: n, err: err}
	}
	mp, err := parseManagedPrefs(path, data)
	if err != nil {
		return machinePolicy{names: n, err: err}
	}
	return mp
}

// apply lays the machine policy over the policy file's source, as Merge
// does, and adds MacOSLaunch from the managed preferences.
func (mp machinePolicy) apply(pol Source) Source {
	src := merge(pol, mp.gp, mp.err, mp.names)
	if src.Err != nil || mp.macOSLaunch == nil {
		return src
	}
	var p Policy
	if src.Policy != nil {
		p = *src.Policy
	} else {
		p.Path = mp.names.root
	}
	p.MacOSLaunch, p.MacOSLaunchFrom = *mp.macOSLaunch, mp.names.value("", MPMacOSLaunch)
	src.Policy = &p
	return src
}

// applyAdmin lays the machine policy over the admin whitelist, as
// MergeAdmin does.
func (mp machinePolicy) applyAdmin(admin whitelist.Source) whitelist.Source {
	return mergeAdmin(admin, mp.gp, mp.err, mp.names)
}

// Machine is this machine's policy outside the files, as `trustlaunch
// whitelist paths` shows it: Windows Group Policy, or macOS's managed
// preferences.
type Machine struct {
	Kind        string     // "group policy" or "managed preferences"
	Path        string     // the registry key or the file
	Absent      string     // when not empty, why there is none
	Settings    GPSettings // what it sets
	MacOSLaunch *bool      // the managed preferences' MacOSLaunch, when set
	Err         error      // it exists and cannot be used: every launch stops
}

// ReadMachine reads this machine's policy outside the files.
func ReadMachine() Machine {
	mp := readMachinePolicy()
	m := Machine{Kind: machineKind, Path: mp.names.root, Absent: mp.gp.Absent, MacOSLaunch: mp.macOSLaunch}
	m.Settings, m.Err = groupPolicySettings(mp.gp, mp.err, mp.names)
	return m
}

// ReadManagedPrefsFile reads and checks the managed preferences at path
// with no ownership check, for `trustlaunch policy check`: a profile's
// payload, linted before the MDM pushes it.
func ReadManagedPrefsFile(path string) (Machine, error) {
	data, err := platform.ReadRegularFile(path, maxManagedPrefs)
	if err != nil {
		return Machine{}, err
	}
	mp, err := parseManagedPrefs(path, data)
	if err != nil {
		return Machine{}, err
	}
	m := Machine{Kind: "managed preferences", Path: path, MacOSLaunch: mp.macOSLaunch}
	m.Settings, err = parseGP(mp.gp, mp.names)
	return m, err
}

// Keys names the settings m gives, in the managed preferences' order of
// the table in docs/macos.md.
func (m Machine) Keys() []string {
	s := m.Settings
	var keys []string
	for _, k := range []struct {
		has  bool
		name string
	}{
		{s.HasAdminOnly, GPAllowAdminListOnly},
		{s.HasServers, GPServers},
		{s.HasRequireSigned, GPRequireSigned},
		{s.HasProxies, GPProxies},
		{s.HasDestinations, GPDestinations},
		{s.HasPublishers, GPPublishers},
		{s.HasOSLog, GPOSLog},
		{m.MacOSLaunch != nil, MPMacOSLaunch},
	} {
		if k.has {
			keys = append(keys, k.name)
		}
	}
	return keys
}
