// Command macpkg builds and checks trustlaunch's macOS bundle and the parts
// of its flat package, on any OS (package macpkg). scripts/macos-pkg.sh and
// scripts/test-macos.sh run it; it is not part of trustlaunch.
//
//	macpkg app -version V -plist Info.plist -o trustlaunch.app EXE...
//	macpkg check-app trustlaunch.app
//	macpkg pkg -app trustlaunch.app -postinstall FILE -mtime UNIX -o DIR
//	macpkg check-pkg DIR PAYLOAD-DIR
//	macpkg check-sig -signer NAME EXE...
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/macpkg"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "macpkg: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: macpkg app|check-app|pkg|check-pkg ...")
	}
	fs := flag.NewFlagSet("macpkg "+args[0], flag.ContinueOnError)
	switch args[0] {
	case "app":
		version := fs.String("version", "", "release version")
		plist := fs.String("plist", "packaging/macos/Info.plist", "Info.plist template")
		out := fs.String("o", "", "the bundle to write")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		tmpl, err := os.ReadFile(*plist)
		if err != nil {
			return err
		}
		opts := macpkg.AppOptions{Version: *version, InfoPlist: tmpl}
		for _, f := range fs.Args() {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			opts.Slices = append(opts.Slices, b)
		}
		return macpkg.BuildApp(*out, opts)
	case "check-app":
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 1 {
			return fmt.Errorf("usage: macpkg check-app BUNDLE")
		}
		r, err := macpkg.CheckApp(fs.Arg(0))
		if err != nil {
			return err
		}
		fmt.Printf("ok: %s %s (%s), macOS %s+, %v, signed slices: %v\n", macpkg.AppName, r.Version, r.Identifier, r.MinOS, r.Archs, r.Signed)
		return nil
	case "pkg":
		app := fs.String("app", "", "the built bundle")
		post := fs.String("postinstall", "packaging/macos/scripts/postinstall", "postinstall script")
		mtime := fs.Int64("mtime", 0, "every file's time, Unix seconds (the commit's)")
		out := fs.String("o", "", "directory to write the package's parts into")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return macpkg.BuildPkg(*out, macpkg.PkgOptions{App: *app, Postinstall: *post, ModTime: time.Unix(*mtime, 0)})
	case "check-pkg":
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 2 {
			return fmt.Errorf("usage: macpkg check-pkg DIR PAYLOAD-DIR")
		}
		r, err := macpkg.CheckPkg(fs.Arg(0), fs.Arg(1))
		if err != nil {
			return err
		}
		fmt.Printf("ok: Bom and payload agree on %d paths; bundle %s %s\n", len(r.Paths), r.App.Identifier, r.App.Version)
		return nil
	case "check-sig":
		signer := fs.String("signer", "", "a name the signing certificate holds (its CN)")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() == 0 || *signer == "" {
			return fmt.Errorf("usage: macpkg check-sig -signer NAME EXE...")
		}
		for _, f := range fs.Args() {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			cs, err := macpkg.ReadCodeSignature(b)
			if err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			// The CMS SignedData carries the signer's certificate, whose
			// subject holds the name in DER as it is.
			if len(cs.CMS) == 0 || !bytes.Contains(cs.CMS, []byte(*signer)) {
				return fmt.Errorf("%s: no CMS signature by %q (%d blobs, %d bytes of CMS)", f, *signer, cs.Blobs, len(cs.CMS))
			}
			fmt.Printf("ok: %s: signed by %q (%d blobs, %d bytes of CMS)\n", f, *signer, cs.Blobs, len(cs.CMS))
		}
		return nil
	}
	return fmt.Errorf("unknown command %q", args[0])
}
