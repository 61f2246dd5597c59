package platform

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMSIRegistryMatchesRegister holds the MSI's copy of the handler key
// (packaging/windows/trustlaunch.wxs) to windowsHandlerValues, the values
// register --system writes: the same keys, names and values, with the
// executable at [INSTALLDIR]trustlaunch.exe and the marker naming the MSI
// and its ProductCode, under HKLM\Software\Classes\trustlaunch and nothing
// else. It runs on every OS: the .wxs is plain XML.
func TestMSIRegistryMatchesRegister(t *testing.T) {
	got := msiRegistryValues(t, filepath.Join("..", "packaging", "windows", "trustlaunch.wxs"))
	exe := `[INSTALLDIR]trustlaunch.exe`
	cmd := `"` + exe + `" ` + strings.Join(openArgs, " ") + ` "%1"`
	want := map[regValue]bool{}
	for _, v := range windowsHandlerValues(exe, cmd, msiMarkerPrefix+" [ProductCode]") {
		want[v] = true
	}
	for v := range got {
		if !want[v] {
			t.Errorf("the MSI writes %s [%s] = %q, which register --system does not", v.Subkey, v.Name, v.Value)
		}
	}
	for v := range want {
		if !got[v] {
			t.Errorf("register --system writes %s [%s] = %q, which the MSI does not", v.Subkey, v.Name, v.Value)
		}
	}
}

// eventSourceKey is the MSI's other key, the event source of the launch
// records (internal/oslog.EventSourceKey, which platform may not import).
const eventSourceKey = `SYSTEM\CurrentControlSet\Services\EventLog\Application\trustlaunch`

// msiRegistryValues reads the RegistryKey/RegistryValue elements of a .wxs
// as regValues relative to HKLM\Software\Classes\trustlaunch; any other
// root or key, but the event source's, fails the test.
func msiRegistryValues(t *testing.T, path string) map[regValue]bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type value struct {
		Name  string `xml:"Name,attr"`
		Value string `xml:"Value,attr"`
		Type  string `xml:"Type,attr"`
	}
	type key struct {
		Root   string  `xml:"Root,attr"`
		Key    string  `xml:"Key,attr"`
		Values []value `xml:"RegistryValue"`
	}
	// RegistryKey elements sit deep in the tree: walk every element.
	dec := xml.NewDecoder(strings.NewReader(string(data)))
	const base = `Software\Classes\` + URLScheme
	got := map[regValue]bool{}
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "RegistryValue":
			t.Fatalf("%s: a RegistryValue outside a RegistryKey", path)
		case "RegistryKey":
		default:
			continue
		}
		var k key
		if err := dec.DecodeElement(&k, &se); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if k.Root == "HKLM" && k.Key == eventSourceKey {
			continue // the event log's, not the handler's: internal/oslog's TestMSIEventSource
		}
		if k.Root != "HKLM" || (k.Key != base && !strings.HasPrefix(k.Key, base+`\`)) {
			t.Errorf("%s: the MSI writes %s\\%s, outside HKLM\\%s", path, k.Root, k.Key, base)
			continue
		}
		sub := strings.TrimPrefix(strings.TrimPrefix(k.Key, base), `\`)
		for _, v := range k.Values {
			if v.Type != "string" {
				t.Errorf("%s: %s [%s] has type %q, want string (REG_SZ, as register writes)", path, k.Key, v.Name, v.Type)
			}
			got[regValue{sub, v.Name, v.Value}] = true
		}
	}
	if len(got) == 0 {
		t.Fatalf("%s: no registry values found", path)
	}
	return got
}
