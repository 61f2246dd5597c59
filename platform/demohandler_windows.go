package platform

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/windows/registry"
)

// demoHive is the demo's key: per user only, beside the trustlaunch key
// and never in it.
var demoHive = hive{`HKCU\` + classesPath + `\` + DemoScheme, registry.CURRENT_USER, classesPath + `\` + DemoScheme}

// demoSubkeys are the subkeys registerDemoHandler creates, deepest first,
// then the key itself.
var demoSubkeys = []string{commandSubkey, `shell\open`, `shell`, ""}

func registerDemoHandler(_ context.Context, exe string, args []string) (Report, error) {
	var r Report
	// windowsOpenCommand checks that exe can stand in double quotes (no
	// quote, "%" or control character); the command is then open's with
	// the demo's arguments, plain words, in place of "open --".
	if _, err := windowsOpenCommand(exe); err != nil {
		return r, fixErr(`run trustlaunch from a folder whose path has no "%" or control characters`, "demo handler: %w", err)
	}
	cmd := `"` + exe + `" ` + strings.Join(args, " ") + ` "%1"`
	k, err := registry.OpenKey(demoHive.root, demoHive.path, registry.QUERY_VALUE)
	if err == nil {
		v, _, verr := k.GetStringValue(registerMarker)
		k.Close()
		if verr != nil || v != demoMarkerValue {
			return r, &RegisterError{
				Err: fmt.Errorf("%w: %s exists and was not written by trustlaunch demo --serve; nothing was changed", ErrNotOurs, demoHive.name),
				Fix: fmt.Sprintf("if it is not wanted: reg delete %q /f, then run trustlaunch demo --serve again", demoHive.name),
			}
		}
	}
	for _, v := range []regValue{
		{"", "", "URL:" + DemoScheme + " Protocol"},
		{"", urlProtocol, ""},
		{"", registerMarker, demoMarkerValue},
		{openSubkey, friendlyAppNameValue, "trustlaunch demo"},
		{commandSubkey, "", cmd},
	} {
		p := demoHive.path
		if v.Subkey != "" {
			p += `\` + v.Subkey
		}
		k, _, err := registry.CreateKey(demoHive.root, p, registry.SET_VALUE)
		if err != nil {
			return r, fixErr("check the key's permissions in regedit", "write %s: %w", demoHive.name, err)
		}
		err = k.SetStringValue(v.Name, v.Value)
		k.Close()
		if err != nil {
			return r, fixErr("check the key's permissions in regedit", "write %s: %w", demoHive.name, err)
		}
	}
	r.add("wrote", "%s", demoHive.name)
	r.add("command", "%s", cmd)
	return r, nil
}

func unregisterDemoHandler(_ context.Context) (Report, error) {
	var r Report
	k, err := registry.OpenKey(demoHive.root, demoHive.path, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return r, fixErr(fmt.Sprintf("reg delete %q /f", demoHive.name), "open %s: %w", demoHive.name, err)
	}
	v, _, verr := k.GetStringValue(registerMarker)
	k.Close()
	if verr != nil || v != demoMarkerValue {
		r.add("left in place", "%s: not written by trustlaunch demo --serve", demoHive.name)
		return r, nil
	}
	for _, sub := range demoSubkeys {
		p := demoHive.path
		if sub != "" {
			p += `\` + sub
		}
		if err := registry.DeleteKey(demoHive.root, p); err != nil && !errors.Is(err, registry.ErrNotExist) {
			return r, fixErr(fmt.Sprintf("reg delete %q /f", demoHive.name), "delete %s: %w", p, err)
		}
	}
	r.add("removed", "%s", demoHive.name)
	return r, nil
}
