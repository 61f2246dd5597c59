//go:build wineprefix

package platform

import (
	"context"
	"os/exec"
	"reflect"
	"testing"
	"time"
)

// reg runs Windows' reg.exe (Wine's, in the test prefix) and fails the test
// when it fails.
func reg(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "reg", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("reg %v: %v\n%s", args, err, out)
	}
}

// TestReadGroupPolicyWine writes HKLM\Software\Policies\trustlaunch with
// reg add, as the Group Policy client would, and reads it back: values of
// the key and of its subkeys, with their types, and a missing key as
// absence. It writes HKLM, so it runs only in the wineprefix build, which
// test.sh runs in a throwaway prefix.
func TestReadGroupPolicyWine(t *testing.T) {
	if !underWine() {
		t.Fatal("the wineprefix test build writes HKLM and runs only under Wine (scripts/wine/exec)")
	}
	key := `HKLM\` + GroupPolicyKey
	exec.Command("reg", "delete", key, "/f").Run() // a leftover of an interrupted run
	t.Cleanup(func() { exec.Command("reg", "delete", key, "/f").Run() })

	gp, err := ReadGroupPolicy()
	if err != nil || gp.Absent == "" {
		t.Fatalf("ReadGroupPolicy with no key = %+v, %v; want absence", gp, err)
	}

	reg(t, "add", key, "/v", "AllowAdminListOnly", "/t", "REG_DWORD", "/d", "1", "/f")
	reg(t, "add", key, "/v", "RequireSigned", "/t", "REG_SZ", "/d", "yes", "/f")
	reg(t, "add", key+`\Servers`, "/v", "1", "/t", "REG_SZ", "/d", "portal.example.com", "/f")
	reg(t, "add", key+`\Servers`, "/v", "2", "/t", "REG_SZ", "/d", "[2001:db8::1]:8443", "/f")
	reg(t, "add", key+`\Proxies`, "/v", "1", "/t", "REG_MULTI_SZ", "/d", `a\0b`, "/f")
	gp, err = ReadGroupPolicy()
	if err != nil {
		t.Fatal(err)
	}
	want := GroupPolicy{
		Values: []RegistryValue{
			{Name: "AllowAdminListOnly", Type: RegDWORD, Number: 1},
			{Name: "RequireSigned", Type: RegSZ, String: "yes"},
		},
		Subkeys: []RegistrySubkey{
			{Name: "Proxies", Values: []RegistryValue{{Name: "1", Type: RegMultiSZ}}},
			{Name: "Servers", Values: []RegistryValue{
				{Name: "1", Type: RegSZ, String: "portal.example.com"},
				{Name: "2", Type: RegSZ, String: "[2001:db8::1]:8443"},
			}},
		},
	}
	if !reflect.DeepEqual(gp, want) {
		t.Fatalf("ReadGroupPolicy =\n%+v\nwant\n%+v", gp, want)
	}
}
