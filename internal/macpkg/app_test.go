//go:build !windows

// Not built for Windows: these tests build the darwin binaries with the go
// command and read the results with bsdtar, plistutil and cksum, none of
// which the Windows test process under Wine has; the package is built and
// checked on Linux, where the release is made.

package macpkg

import (
	"bytes"
	"debug/macho"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

var (
	slicesOnce sync.Once
	slicesData map[string][]byte
	slicesErr  error
)

// darwinSlices builds testdata/hello for darwin/amd64 and darwin/arm64, as
// the release builds trustlaunch (CGO_ENABLED=0).
func darwinSlices(t *testing.T) map[string][]byte {
	t.Helper()
	slicesOnce.Do(func() {
		dir, err := os.MkdirTemp("", "macpkg-slices")
		if err != nil {
			slicesErr = err
			return
		}
		slicesData = map[string][]byte{}
		for _, arch := range []string{"amd64", "arm64"} {
			out := filepath.Join(dir, arch)
			cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-trimpath", "-o", out, "./testdata/hello")
			cmd.Env = append(os.Environ(), "GOOS=darwin", "GOARCH="+arch, "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				slicesErr = err
				t.Logf("%s", b)
				return
			}
			slicesData[arch], slicesErr = os.ReadFile(out)
		}
		os.RemoveAll(dir)
	})
	if slicesErr != nil {
		t.Fatalf("building the darwin slices: %v", slicesErr)
	}
	return slicesData
}

func template(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../../packaging/macos/Info.plist")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func buildApp(t *testing.T, plist []byte, slices ...[]byte) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), AppName)
	if err := BuildApp(dir, AppOptions{Version: "1.4.3-snapshot", InfoPlist: plist, Slices: slices}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBuildAppChecks(t *testing.T) {
	s := darwinSlices(t)
	dir := buildApp(t, template(t), s["arm64"], s["amd64"])
	r, err := CheckApp(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != "1.4.3-snapshot" || r.Identifier == "" {
		t.Errorf("report %+v", r)
	}
	// The minimum is the Go release's: what its linker writes.
	f, err := macho.NewFile(bytes.NewReader(s["arm64"]))
	if err != nil {
		t.Fatal(err)
	}
	bv, err := ReadBuildVersion(f)
	if err != nil {
		t.Fatal(err)
	}
	if r.MinOS != bv.MinOS || r.MinOS == "" {
		t.Errorf("LSMinimumSystemVersion %q, the slices' minos %q", r.MinOS, bv.MinOS)
	}
	// The Go linker ad-hoc signs arm64 only.
	if !slices.Contains(r.Signed, macho.CpuArm64) {
		t.Errorf("arm64 slice not signed: %v", r.Signed)
	}
	// Each slice comes out as it went in.
	fat, err := macho.OpenFat(filepath.Join(dir, ExecutableRel))
	if err != nil {
		t.Fatal(err)
	}
	defer fat.Close()
	exe, _ := os.ReadFile(filepath.Join(dir, ExecutableRel))
	for _, a := range fat.Arches {
		want := s[map[macho.Cpu]string{macho.CpuAmd64: "amd64", macho.CpuArm64: "arm64"}[a.Cpu]]
		if a.Offset%(1<<fatAlign) != 0 || !bytes.Equal(exe[a.Offset:a.Offset+a.Size], want) {
			t.Errorf("%v slice at %d (%d bytes) differs from its input or is misaligned", a.Cpu, a.Offset, a.Size)
		}
	}
}

// TestInfoPlistPlistutil converts the built Info.plist to the binary
// format and back with libplist's plistutil, a reader that is not ours,
// and compares what both readings hold.
func TestInfoPlistPlistutil(t *testing.T) {
	s := darwinSlices(t)
	dir := buildApp(t, template(t), s["arm64"], s["amd64"])
	src := filepath.Join(dir, InfoPlistRel)
	bin, back := filepath.Join(t.TempDir(), "Info.bplist"), filepath.Join(t.TempDir(), "Info.xml")
	for _, args := range [][]string{{"-i", src, "-o", bin, "-f", "bin"}, {"-i", bin, "-o", back, "-f", "xml"}} {
		if out, err := exec.CommandContext(t.Context(), "plistutil", args...).CombinedOutput(); err != nil {
			t.Fatalf("plistutil %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if b, _ := os.ReadFile(bin); !bytes.HasPrefix(b, []byte("bplist00")) {
		t.Fatalf("plistutil did not write a binary plist")
	}
	a, b := readPlistFile(t, src), readPlistFile(t, back)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("Info.plist changed through plistutil:\n%v\n%v", a, b)
	}
}

func readPlistFile(t *testing.T, path string) any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ReadPlist(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

func TestCheckAppRefuses(t *testing.T) {
	s := darwinSlices(t)
	tmpl := template(t)
	for _, tc := range []struct {
		name   string
		plist  []byte
		slices [][]byte
		want   string
	}{
		{"one architecture", tmpl, [][]byte{s["arm64"]}, "architectures"},
		{"no scheme", bytes.Replace(tmpl, []byte("<string>trustlaunch</string>\n\t\t\t</array>"), []byte("<string>other</string>\n\t\t\t</array>"), 1), [][]byte{s["arm64"], s["amd64"]}, "trustlaunch scheme"},
		{"not an agent", bytes.Replace(tmpl, []byte("<key>LSUIElement</key>\n\t<true/>"), []byte("<key>LSUIElement</key>\n\t<false/>"), 1), [][]byte{s["arm64"], s["amd64"]}, "LSUIElement"},
		{"wrong minimum", bytes.Replace(tmpl, []byte("<string>@MIN_MACOS@</string>"), []byte("<string>10.9</string>"), 1), [][]byte{s["arm64"], s["amd64"]}, "Info.plist says 10.9"},
		{"placeholder left", bytes.ReplaceAll(tmpl, []byte("@MIN_MACOS@"), []byte("@MIN_OS@")), [][]byte{s["arm64"], s["amd64"]}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if bytes.Equal(tc.plist, tmpl) && tc.name != "one architecture" {
				t.Fatal("the mutation did not apply: the template changed")
			}
			dir := filepath.Join(t.TempDir(), AppName)
			err := BuildApp(dir, AppOptions{Version: "1.0.0", InfoPlist: tc.plist, Slices: tc.slices})
			if tc.want == "" {
				// A template whose placeholders BuildApp does not know is
				// refused at build time.
				if err == nil {
					t.Fatal("BuildApp accepted a template with an unknown placeholder")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := CheckApp(dir); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CheckApp = %v, want an error about %s", err, tc.want)
			}
		})
	}
}

func TestUniversalRefuses(t *testing.T) {
	s := darwinSlices(t)
	var b bytes.Buffer
	if err := Universal(&b, s["arm64"], s["arm64"]); err == nil {
		t.Error("two arm64 slices accepted")
	}
	if err := Universal(&b, []byte("not mach-o")); err == nil {
		t.Error("junk accepted")
	}
	if err := Universal(&b); err == nil {
		t.Error("no slices accepted")
	}
}

func TestBundleVersion(t *testing.T) {
	for in, want := range map[string]string{"1.4.2": "1.4.2", "1.4.3-snapshot": "1.4.3", "v2.0.1+meta": "2.0.1", "1.4": "", "x": ""} {
		got, err := BundleVersion(in)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("BundleVersion(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
