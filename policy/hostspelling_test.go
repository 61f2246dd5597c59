package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/trustlaunch/trustlaunch/descriptor"
)

// TestPolicyDecidesOnTheGivenSpelling: Policy.Check matches the very
// spelling the connector is given; a descriptor whose host is in a
// spelling the policy would fold first (built without descriptor.Decode)
// is refused, not matched to the folded host.
func TestPolicyDecidesOnTheGivenSpelling(t *testing.T) {
	p := mustPolicy(t, "[[proxies]]\naddress = \"10.9.9.9:8443\"\n[[destinations]]\naddress = \"10.1.2.3:23\"\n[[destinations]]\naddress = \"mainframe\"\n")
	d, err := descriptor.Decode([]byte(`{"version":1,"session":"Payroll","profile":"c3270","proxy":{"address":"10.9.9.9:8443","transport":"connect"},"destination":{"host":"10.1.2.3","port":23},"token":"tok-7f3a9c"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Check(d); err != nil {
		t.Fatalf("Check of the listed spelling: %v", err)
	}
	for _, tc := range []struct {
		field string
		edit  func(d *descriptor.Descriptor)
	}{
		{"destination", func(d *descriptor.Descriptor) { d.Destination.Host = "10.1.2.3." }},
		{"proxy.address", func(d *descriptor.Descriptor) { d.Proxy.Address = "10.9.9.9.:8443" }},
		{"destination", func(d *descriptor.Descriptor) { d.Destination.Host = "MainFrame" }},
	} {
		bad := *d
		tc.edit(&bad)
		_, err := p.Check(&bad)
		var pe *Error
		if !errors.As(err, &pe) || pe.Field != tc.field || !strings.Contains(err.Error(), "in this spelling") {
			t.Errorf("Check of %s in another spelling: %v; want a refusal of the spelling", tc.field, err)
		}
	}
}
