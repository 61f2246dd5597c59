package macpkg

import (
	"debug/macho"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// AllowedDylibs are the only libraries a trustlaunch slice may load (its
// LC_LOAD_DYLIB commands): what the Go runtime and standard library link
// on darwin. purego's libobjc and AppKit are not among them: they are
// opened with dlopen when the app starts, not loaded by dyld.
var AllowedDylibs = []string{
	"/usr/lib/libSystem.B.dylib", // the runtime's system calls
	"/usr/lib/libresolv.9.dylib", // net: the system's DNS settings
	"/System/Library/Frameworks/CoreFoundation.framework/Versions/A/CoreFoundation", // crypto/x509
	"/System/Library/Frameworks/Security.framework/Versions/A/Security",             // crypto/x509: the system's roots
}

// WantArchs are the architectures of the universal binary.
var WantArchs = []macho.Cpu{macho.CpuAmd64, macho.CpuArm64}

// AppReport is what CheckApp found.
type AppReport struct {
	Identifier, Version, MinOS string
	Archs                      []macho.Cpu
	Signed                     []macho.Cpu // slices with an LC_CODE_SIGNATURE
}

// CheckApp checks a built trustlaunch.app structurally: Info.plist has the
// keys Launch Services needs to start the executable and hand it
// trustlaunch:// links, and the executable is a universal binary of
// WantArchs whose slices are macOS executables that need exactly the macOS
// version Info.plist says and load no library but AllowedDylibs.
func CheckApp(dir string) (AppReport, error) {
	var r AppReport
	data, err := os.ReadFile(filepath.Join(dir, InfoPlistRel))
	if err != nil {
		return r, err
	}
	v, err := ReadPlist(data)
	if err != nil {
		return r, fmt.Errorf("%s: %w", InfoPlistRel, err)
	}
	info, _ := v.(map[string]any)
	str := func(k string) string { s, _ := info[k].(string); return s }
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(InfoPlistRel+": "+format, args...)) }
	for k, want := range map[string]string{
		"CFBundleExecutable":  filepath.Base(ExecutableRel),
		"CFBundlePackageType": "APPL",
	} {
		if str(k) != want {
			bad("%s is %q, want %q", k, str(k), want)
		}
	}
	if ui, _ := info["LSUIElement"].(bool); !ui {
		bad("LSUIElement is not true")
	}
	r.Identifier, r.Version, r.MinOS = str("CFBundleIdentifier"), str("CFBundleShortVersionString"), str("LSMinimumSystemVersion")
	if r.Identifier == "" || r.Version == "" || str("CFBundleVersion") == "" || r.MinOS == "" {
		bad("CFBundleIdentifier, CFBundleShortVersionString, CFBundleVersion or LSMinimumSystemVersion missing")
	}
	if !declaresScheme(info, "trustlaunch") {
		bad("CFBundleURLTypes does not declare the trustlaunch scheme")
	}

	exe := filepath.Join(dir, ExecutableRel)
	if st, err := os.Stat(exe); err != nil || st.Mode()&0o111 == 0 {
		return r, errors.Join(append(errs, fmt.Errorf("%s: missing or not executable", ExecutableRel))...)
	}
	fat, err := macho.OpenFat(exe)
	if err != nil {
		return r, errors.Join(append(errs, fmt.Errorf("%s: not a universal binary: %w", ExecutableRel, err))...)
	}
	defer fat.Close()
	for _, a := range fat.Arches {
		r.Archs = append(r.Archs, a.Cpu)
		if a.Type != macho.TypeExec {
			errs = append(errs, fmt.Errorf("%v slice: %v, want an executable", a.Cpu, a.Type))
		}
		bv, err := ReadBuildVersion(a.File)
		if err != nil {
			errs = append(errs, err)
		} else if bv.MinOS != r.MinOS {
			errs = append(errs, fmt.Errorf("%v slice needs macOS %s, Info.plist says %s", a.Cpu, bv.MinOS, r.MinOS))
		}
		libs, err := a.ImportedLibraries()
		if err != nil {
			errs = append(errs, fmt.Errorf("%v slice: %w", a.Cpu, err))
		}
		for _, l := range libs {
			if !slices.Contains(AllowedDylibs, l) {
				errs = append(errs, fmt.Errorf("%v slice loads %s, which is not an allowed library", a.Cpu, l))
			}
		}
		if _, ok := HasCodeSignature(a.File); ok {
			r.Signed = append(r.Signed, a.Cpu)
		}
	}
	got := slices.Clone(r.Archs)
	slices.Sort(got)
	if !slices.Equal(got, WantArchs) {
		errs = append(errs, fmt.Errorf("%s: architectures %v, want %v", ExecutableRel, r.Archs, WantArchs))
	}
	return r, errors.Join(errs...)
}

func declaresScheme(info map[string]any, scheme string) bool {
	types, _ := info["CFBundleURLTypes"].([]any)
	for _, t := range types {
		d, _ := t.(map[string]any)
		schemes, _ := d["CFBundleURLSchemes"].([]any)
		if slices.Contains(schemes, any(scheme)) {
			return true
		}
	}
	return false
}
