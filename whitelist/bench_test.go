package whitelist

import (
	"fmt"
	"strings"
	"testing"
)

// bigList is a 100,000-entry admin list: names, names with ports and IPv4.
func bigList() []byte {
	var b strings.Builder
	b.WriteString("AllowAdminListOnly\n")
	for i := range 100_000 {
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "host%d.portal.example.com\n", i)
		case 1:
			fmt.Fprintf(&b, "app-%d.internal.example.net:8443\n", i)
		case 2:
			fmt.Fprintf(&b, "10.%d.%d.%d\n", i>>16&255, i>>8&255, i&255)
		default:
			fmt.Fprintf(&b, "srv%d.example.org # comment\n", i)
		}
	}
	return []byte(b.String())
}

func BenchmarkParse100k(b *testing.B) {
	data := bigList()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		l, probs, err := Parse("admin.txt", data)
		if err != nil || len(probs) != 0 || len(l.Entries) != 100_000 {
			b.Fatalf("entries %d problems %d err %v", len(l.Entries), len(probs), err)
		}
	}
}

// BenchmarkDecide100k is one whole decision (parse the descriptor URL, look it up
// in the admin list) against the 100,000-entry list.
func BenchmarkDecide100k(b *testing.B) {
	l, _, err := Parse("admin.txt", bigList())
	if err != nil {
		b.Fatal(err)
	}
	in := Input{LaunchURL: "https://app-99997.internal.example.net:8443/launch/42?ticket=x", Admin: Source{Path: "admin.txt", List: l}}
	b.ReportAllocs()
	for b.Loop() {
		if d := Decide(b.Context(), in); d.Step != StepAdminListed {
			b.Fatalf("step %s", d.Step)
		}
	}
}

// BenchmarkMatch100k is the lookup alone; it must not allocate.
func BenchmarkMatch100k(b *testing.B) {
	l, _, err := Parse("admin.txt", bigList())
	if err != nil {
		b.Fatal(err)
	}
	o, err := ParseOrigin("https://app-99997.internal.example.net:8443/")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := l.Match(o); !ok {
			b.Fatal("no match")
		}
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	l, _, err := Parse("admin.txt", []byte("a.example\nb.example:8443\n"))
	if err != nil {
		t.Fatal(err)
	}
	o, _ := ParseOrigin("https://b.example:8443/")
	if n := testing.AllocsPerRun(100, func() { l.Match(o) }); n != 0 {
		t.Errorf("Match allocates %v times", n)
	}
}
