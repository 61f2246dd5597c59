package oslog

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestMSIEventSource holds the MSI's registration of the event source
// (packaging/windows/trustlaunch.wxs) to what the event log needs and the
// docs say: the key of the source Write reports under, its message file
// and the types it reports, nothing else under it. Plain XML: it runs on
// every OS.
func TestMSIEventSource(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "packaging", "windows", "trustlaunch.wxs"))
	if err != nil {
		t.Fatal(err)
	}
	type value struct {
		Name  string `xml:"Name,attr"`
		Value string `xml:"Value,attr"`
		Type  string `xml:"Type,attr"`
	}
	var wxs struct {
		Keys []struct {
			Root   string  `xml:"Root,attr"`
			Key    string  `xml:"Key,attr"`
			Values []value `xml:"RegistryValue"`
		} `xml:"Product>Directory>Directory>Directory>Component>RegistryKey"`
	}
	if err := xml.Unmarshal(data, &wxs); err != nil {
		t.Fatal(err)
	}
	want := map[value]bool{
		{Name: "EventMessageFile", Value: EventMessageFile, Type: "string"}:            true,
		{Name: "TypesSupported", Value: strconv.Itoa(TypesSupported), Type: "integer"}: true,
	}
	found := 0
	for _, k := range wxs.Keys {
		if k.Key != EventSourceKey {
			continue
		}
		found++
		if k.Root != "HKLM" {
			t.Errorf("the event source is under %s, want HKLM", k.Root)
		}
		for _, v := range k.Values {
			if !want[v] {
				t.Errorf("the MSI writes %+v under the event source, which it should not", v)
			}
			delete(want, v)
		}
	}
	if found != 1 || len(want) != 0 {
		t.Errorf("%d keys %s in the MSI, want 1; values it lacks: %v", found, EventSourceKey, want)
	}
}
