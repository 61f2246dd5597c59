package macpkg

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// The flat package is a product archive (what productbuild makes, and what
// Intune requires: it reads the Distribution), a xar archive holding:
//
//	Distribution                   installer's script: title, OS check, choices
//	trustlaunch.pkg/PackageInfo    the component: identifier, version, location
//	trustlaunch.pkg/Bom            every path of the payload (lsbom, receipts)
//	trustlaunch.pkg/Payload        gzip cpio odc of the payload
//	trustlaunch.pkg/Scripts        gzip cpio odc of postinstall
//
// BuildPkg writes these into a directory; scripts/macos-pkg.sh joins them
// with bsdtar --format xar.

// Identifiers of the package. PkgID is what pkgutil --pkgs lists and what
// "pkgutil --forget" takes.
const (
	PkgID        = "io.github.trustlaunch.pkg"
	ComponentRel = "trustlaunch.pkg"
	// InstallLocation is where the payload's root goes.
	InstallLocation = "/Applications"
)

// PkgOptions says what BuildPkg builds.
type PkgOptions struct {
	App         string    // the built trustlaunch.app (BuildApp)
	Postinstall string    // packaging/macos/scripts/postinstall
	ModTime     time.Time // every file's time: the commit's
}

// BuildPkg writes the parts of the flat package into dir, which must not
// exist: Distribution and trustlaunch.pkg/{PackageInfo,Bom,Payload,Scripts}.
// The bundle's Info.plist gives the identifier, version and minimum macOS.
func BuildPkg(dir string, opts PkgOptions) error {
	r, err := CheckApp(opts.App)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.App, err)
	}
	bv, err := BundleVersion(r.Version)
	if err != nil {
		return err
	}
	payloadRoot, err := os.MkdirTemp("", "macpkg-payload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(payloadRoot)
	if err := os.CopyFS(filepath.Join(payloadRoot, AppName), os.DirFS(opts.App)); err != nil {
		return fmt.Errorf("copying %s: %w", opts.App, err)
	}
	payload, err := ReadTree(payloadRoot, opts.ModTime)
	if err != nil {
		return err
	}
	script, err := os.ReadFile(opts.Postinstall)
	if err != nil {
		return err
	}
	scripts := &Tree{ModTime: opts.ModTime, Entries: []Entry{
		{Path: ".", Mode: fs.ModeDir | 0o755},
		{Path: "postinstall", Mode: 0o755, Data: script},
	}}

	var pl, bom, sc bytes.Buffer
	if err := WriteGzipCpio(&pl, payload); err != nil {
		return err
	}
	if err := WriteBom(&bom, payload); err != nil {
		return err
	}
	if err := WriteGzipCpio(&sc, scripts); err != nil {
		return err
	}
	kb := 0
	for _, e := range payload.Entries {
		kb += (e.size() + 1023) / 1024
	}
	p := pkgInfo{
		Identifier: PkgID, Version: bv, BundleID: r.Identifier,
		ShortVersion: r.Version, Files: len(payload.Entries), KBytes: kb,
	}
	d := distribution{pkgInfo: p, MinOS: r.MinOS}
	pi, err := p.xml()
	if err != nil {
		return err
	}
	dist, err := d.xml()
	if err != nil {
		return err
	}
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("%s exists already", dir)
	}
	comp := filepath.Join(dir, ComponentRel)
	if err := os.MkdirAll(comp, 0o755); err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		filepath.Join(dir, "Distribution"): dist,
		filepath.Join(comp, "PackageInfo"): pi,
		filepath.Join(comp, "Bom"):         bom.Bytes(),
		filepath.Join(comp, "Payload"):     pl.Bytes(),
		filepath.Join(comp, "Scripts"):     sc.Bytes(),
	} {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

type pkgInfo struct {
	Identifier, Version, BundleID, ShortVersion string
	Files, KBytes                               int
}

// xml returns PackageInfo, as pkgbuild writes it for a bundle that must
// stay where it is put: relocatable="false" and an empty <relocate/>, so
// installer never moves the update into another copy of the app it finds
// elsewhere on the disk (a download folder), and <upgrade-bundle> and
// <strict-identifier> name the bundle so an upgrade replaces it in place.
// auth="root": the payload goes to /Applications.
func (p pkgInfo) xml() ([]byte, error) {
	type bundle struct {
		Path         string `xml:"path,attr,omitempty"`
		ID           string `xml:"id,attr"`
		ShortVersion string `xml:"CFBundleShortVersionString,attr,omitempty"`
		Version      string `xml:"CFBundleVersion,attr,omitempty"`
	}
	type ids struct {
		Bundle bundle `xml:"bundle"`
	}
	type script struct {
		File string `xml:"file,attr"`
	}
	v := struct {
		XMLName           xml.Name `xml:"pkg-info"`
		Overwrite         bool     `xml:"overwrite-permissions,attr"`
		Relocatable       bool     `xml:"relocatable,attr"`
		Identifier        string   `xml:"identifier,attr"`
		PostinstallAction string   `xml:"postinstall-action,attr"`
		Version           string   `xml:"version,attr"`
		Format            int      `xml:"format-version,attr"`
		Generator         string   `xml:"generator-version,attr"`
		Location          string   `xml:"install-location,attr"`
		Auth              string   `xml:"auth,attr"`
		Payload           struct {
			Files  int `xml:"numberOfFiles,attr"`
			KBytes int `xml:"installKBytes,attr"`
		} `xml:"payload"`
		Bundle        bundle   `xml:"bundle"`
		BundleVersion ids      `xml:"bundle-version"`
		Upgrade       ids      `xml:"upgrade-bundle"`
		Update        struct{} `xml:"update-bundle"`
		Atomic        struct{} `xml:"atomic-update-bundle"`
		Strict        ids      `xml:"strict-identifier"`
		Relocate      struct{} `xml:"relocate"`
		Scripts       struct {
			Postinstall script `xml:"postinstall"`
		} `xml:"scripts"`
	}{
		Overwrite: false, Identifier: p.Identifier, PostinstallAction: "none",
		Version: p.Version, Format: 2, Generator: "trustlaunch-macpkg",
		Location: InstallLocation, Auth: "root",
	}
	v.Payload.Files, v.Payload.KBytes = p.Files, p.KBytes
	v.Bundle = bundle{Path: "./" + AppName, ID: p.BundleID, ShortVersion: p.ShortVersion, Version: p.Version}
	id := ids{bundle{ID: p.BundleID}}
	v.BundleVersion, v.Upgrade, v.Strict = id, id, id
	v.Scripts.Postinstall.File = "./postinstall"
	return marshal(v)
}

type distribution struct {
	pkgInfo
	MinOS string
}

// xml returns the Distribution: one hidden choice holding the component,
// installation on the boot volume only (enable_localSystem), and the
// minimum macOS of the bundle checked before anything is installed.
// hostArchitectures names both, so that an Apple silicon Mac does not ask
// for Rosetta: the binary is universal.
func (d distribution) xml() ([]byte, error) {
	type line struct {
		Choice string `xml:"choice,attr"`
		Lines  []line `xml:"line,omitempty"`
	}
	type pkgRef struct {
		ID         string `xml:"id,attr"`
		Version    string `xml:"version,attr,omitempty"`
		Conclusion string `xml:"onConclusion,attr,omitempty"`
		KBytes     int    `xml:"installKBytes,attr,omitempty"`
		Ref        string `xml:",chardata"`
	}
	type choice struct {
		ID      string   `xml:"id,attr"`
		Visible *bool    `xml:"visible,attr,omitempty"`
		Title   string   `xml:"title,attr,omitempty"`
		PkgRefs []pkgRef `xml:"pkg-ref"`
	}
	hidden := false
	v := struct {
		XMLName xml.Name `xml:"installer-gui-script"`
		MinSpec string   `xml:"minSpecVersion,attr"`
		Title   string   `xml:"title"`
		Options struct {
			Customize string `xml:"customize,attr"`
			Scripts   bool   `xml:"require-scripts,attr"`
			Archs     string `xml:"hostArchitectures,attr"`
		} `xml:"options"`
		Domains struct {
			Anywhere bool `xml:"enable_anywhere,attr"`
			Home     bool `xml:"enable_currentUserHome,attr"`
			System   bool `xml:"enable_localSystem,attr"`
		} `xml:"domains"`
		VolumeCheck struct {
			OS struct {
				Version struct {
					Min string `xml:"min,attr"`
				} `xml:"os-version"`
			} `xml:"allowed-os-versions"`
		} `xml:"volume-check"`
		Outline struct {
			Lines []line `xml:"line"`
		} `xml:"choices-outline"`
		Choices []choice `xml:"choice"`
		PkgRef  pkgRef   `xml:"pkg-ref"`
	}{MinSpec: "2", Title: "trustlaunch"}
	v.Options.Customize, v.Options.Archs = "never", "x86_64,arm64"
	v.Domains.System = true
	v.VolumeCheck.OS.Version.Min = d.MinOS
	v.Outline.Lines = []line{{Choice: "default", Lines: []line{{Choice: d.Identifier}}}}
	v.Choices = []choice{
		{ID: "default"},
		{ID: d.Identifier, Visible: &hidden, PkgRefs: []pkgRef{{ID: d.Identifier}}},
	}
	v.PkgRef = pkgRef{ID: d.Identifier, Version: d.Version, Conclusion: "none", KBytes: d.KBytes, Ref: "#" + ComponentRel}
	return marshal(v)
}

func marshal(v any) ([]byte, error) {
	b, err := xml.MarshalIndent(v, "", "    ")
	if err != nil {
		return nil, err
	}
	return append(append([]byte(xml.Header), b...), '\n'), nil
}
