package macpkg

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// PkgReport is what CheckPkg found.
type PkgReport struct {
	App   AppReport
	Paths []string // the Bom's paths, as lsbom lists them
}

// CheckPkg checks the parts of a flat package, as bsdtar extracted them:
// staging holds Distribution and trustlaunch.pkg/{PackageInfo,Bom,...},
// payload is trustlaunch.pkg/Payload extracted. Every Bom path must be in
// the payload with the same type, mode, size and checksum, and nothing
// else may be; PackageInfo and Distribution must name the bundle the
// payload holds, which must pass CheckApp. It checks that the writers
// agree with each other and with libarchive, not that macOS accepts the
// package (docs/macos.md, "First run on a Mac").
func CheckPkg(staging, payload string) (PkgReport, error) {
	var r PkgReport
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	app, err := CheckApp(filepath.Join(payload, AppName))
	r.App = app
	if err != nil {
		bad("payload: %w", err)
	}
	bom, err := os.ReadFile(filepath.Join(staging, ComponentRel, "Bom"))
	if err != nil {
		return r, err
	}
	paths, _, err := readBom(bom)
	if err != nil {
		return r, fmt.Errorf("Bom: %w", err)
	}
	for _, p := range paths {
		r.Paths = append(r.Paths, p.Path)
	}
	errs = append(errs, bomMatchesPayload(paths, payload)...)
	errs = append(errs, checkPackageInfo(staging, app, len(paths))...)
	errs = append(errs, checkDistribution(staging, app)...)
	return r, errors.Join(errs...)
}

// bomMatchesPayload holds each Bom path to the extracted payload: type,
// size, checksum, mode (but a symlink's, which Linux does not keep), and
// finds payload files the Bom does not list.
func bomMatchesPayload(paths []bomPath, payload string) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	inBom := map[string]bool{}
	for _, p := range paths {
		inBom[p.Path] = true
		full := filepath.Join(payload, filepath.FromSlash(p.Path))
		st, err := os.Lstat(full)
		if err != nil {
			bad("Bom lists %s, the payload has no such file", p.Path)
			continue
		}
		var kind uint8
		var sum uint32
		size := st.Size()
		switch m := st.Mode(); {
		case m.IsDir():
			kind, size = 2, 0
		case m&fs.ModeSymlink != 0:
			kind = 3
			target, _ := os.Readlink(full)
			sum = cksum([]byte(target))
			if target != p.Link {
				bad("%s: Bom says -> %q, payload -> %q", p.Path, p.Link, target)
			}
		default:
			kind = 1
			data, err := os.ReadFile(full)
			if err != nil {
				bad("%s: %w", p.Path, err)
				continue
			}
			sum = cksum(data)
		}
		if kind != p.Kind || int64(p.Size) != size || p.Sum != sum {
			bad("%s: Bom says kind %d, %d bytes, cksum %d; payload has kind %d, %d bytes, cksum %d", p.Path, p.Kind, p.Size, p.Sum, kind, size, sum)
		}
		if kind != 3 && uint32(p.Mode)&0o7777 != uint32(st.Mode().Perm()) {
			bad("%s: Bom mode %o, payload %o", p.Path, p.Mode&0o7777, st.Mode().Perm())
		}
	}
	_ = filepath.WalkDir(payload, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(payload, p)
		name := "."
		if rel != "." {
			name = "./" + filepath.ToSlash(rel)
		}
		if !inBom[name] {
			bad("payload has %s, the Bom does not list it", name)
		}
		return nil
	})
	return errs
}

// checkPackageInfo checks that PackageInfo names the package, the bundle
// and the postinstall, and counts the Bom's paths.
func checkPackageInfo(staging string, app AppReport, paths int) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	var pi struct {
		Identifier string `xml:"identifier,attr"`
		Location   string `xml:"install-location,attr"`
		Payload    struct {
			Files int `xml:"numberOfFiles,attr"`
		} `xml:"payload"`
		Bundle struct {
			ID string `xml:"id,attr"`
		} `xml:"bundle"`
		Scripts struct {
			Postinstall struct {
				File string `xml:"file,attr"`
			} `xml:"postinstall"`
		} `xml:"scripts"`
	}
	if err := readXML(filepath.Join(staging, ComponentRel, "PackageInfo"), "pkg-info", &pi); err != nil {
		errs = append(errs, err)
	} else {
		if pi.Identifier != PkgID || pi.Location != InstallLocation || pi.Bundle.ID != app.Identifier {
			bad("PackageInfo: identifier %q, location %q, bundle %q", pi.Identifier, pi.Location, pi.Bundle.ID)
		}
		if pi.Payload.Files != paths {
			bad("PackageInfo counts %d files, the Bom %d", pi.Payload.Files, paths)
		}
		if pi.Scripts.Postinstall.File != "./postinstall" {
			bad("PackageInfo names no ./postinstall")
		}
	}
	return errs
}

// checkDistribution checks that the Distribution installs the component
// and requires the bundle's minimum macOS.
func checkDistribution(staging string, app AppReport) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	var dist struct {
		PkgRefs []struct {
			ID  string `xml:"id,attr"`
			Ref string `xml:",chardata"`
		} `xml:"pkg-ref"`
		VolumeCheck struct {
			Min struct {
				Min string `xml:"min,attr"`
			} `xml:"allowed-os-versions>os-version"`
		} `xml:"volume-check"`
	}
	if err := readXML(filepath.Join(staging, "Distribution"), "installer-gui-script", &dist); err != nil {
		errs = append(errs, err)
	} else {
		found := false
		for _, p := range dist.PkgRefs {
			found = found || (p.ID == PkgID && strings.TrimSpace(p.Ref) == "#"+ComponentRel)
		}
		if !found {
			bad("Distribution has no pkg-ref %s -> #%s", PkgID, ComponentRel)
		}
		if dist.VolumeCheck.Min.Min != app.MinOS {
			bad("Distribution requires macOS %q, the bundle %q", dist.VolumeCheck.Min.Min, app.MinOS)
		}
	}
	return errs
}

func readXML(path, root string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var probe struct{ XMLName xml.Name }
	if err := xml.Unmarshal(data, &probe); err != nil || probe.XMLName.Local != root {
		return fmt.Errorf("%s: not a <%s> document: %v", filepath.Base(path), root, err)
	}
	return xml.Unmarshal(data, v)
}
