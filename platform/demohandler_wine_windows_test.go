//go:build wineprefix

package platform

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/windows/registry"
)

// TestDemoHandlerWine registers the demo's handler in the real
// HKCU\Software\Classes of the test prefix (so only in the wineprefix
// build, which test.sh runs in a throwaway prefix), reads it back, and
// removes it: the command runs the binary with the demo's arguments and
// the link, the trustlaunch key is not touched, and a key the demo did not
// write is neither replaced nor removed.
func TestDemoHandlerWine(t *testing.T) {
	const exe = `C:\Program Files\trustlaunch\trustlaunch.exe`
	userKey := classesPath + `\` + URLScheme
	tk, trustlaunchBefore := registry.OpenKey(registry.CURRENT_USER, userKey, registry.QUERY_VALUE)
	if trustlaunchBefore == nil {
		tk.Close()
	}
	t.Cleanup(func() { unregisterDemoHandler(t.Context()) })

	if _, err := RegisterDemoHandler(t.Context(), exe, []string{"__demo-link", "--"}); err != nil {
		t.Fatal(err)
	}
	k, err := registry.OpenKey(registry.CURRENT_USER, demoHive.path+`\`+commandSubkey, registry.QUERY_VALUE)
	if err != nil {
		t.Fatal(err)
	}
	cmd, _, err := k.GetStringValue("")
	k.Close()
	if want := `"` + exe + `" __demo-link -- "%1"`; err != nil || cmd != want {
		t.Errorf("command %q, %v; want %q", cmd, err, want)
	}
	k, err = registry.OpenKey(registry.CURRENT_USER, demoHive.path, registry.QUERY_VALUE)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := k.GetStringValue(urlProtocol); err != nil {
		t.Errorf("no %q value: %v", urlProtocol, err)
	}
	k.Close()
	tk, err = registry.OpenKey(registry.CURRENT_USER, userKey, registry.QUERY_VALUE)
	if err == nil {
		tk.Close()
	}
	if (err == nil) != (trustlaunchBefore == nil) {
		t.Errorf("the trustlaunch key changed: %v before, %v after", trustlaunchBefore, err)
	}

	if _, err := UnregisterDemoHandler(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := registry.OpenKey(registry.CURRENT_USER, demoHive.path, registry.QUERY_VALUE); !errors.Is(err, registry.ErrNotExist) {
		t.Errorf("the key after UnregisterDemoHandler: %v", err)
	}

	// Someone else's key of that name.
	k, _, err = registry.CreateKey(registry.CURRENT_USER, demoHive.path, registry.SET_VALUE)
	if err != nil {
		t.Fatal(err)
	}
	k.Close()
	t.Cleanup(func() { registry.DeleteKey(registry.CURRENT_USER, demoHive.path) })
	if _, err := RegisterDemoHandler(t.Context(), exe, []string{"__demo-link", "--"}); !errors.Is(err, ErrNotOurs) {
		t.Errorf("over a foreign key: %v, want ErrNotOurs", err)
	}
	r, err := UnregisterDemoHandler(t.Context())
	if err != nil || len(r.Findings) != 1 || !strings.HasPrefix(r.Findings[0].Name, "left in place") {
		t.Errorf("UnregisterDemoHandler of a foreign key: %+v, %v", r, err)
	}
	k, err = registry.OpenKey(registry.CURRENT_USER, demoHive.path, registry.QUERY_VALUE)
	if err != nil {
		t.Errorf("the foreign key was removed: %v", err)
	} else {
		k.Close()
	}
}
