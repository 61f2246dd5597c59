//go:build !windows

// Not built for Windows: these tests build the darwin binaries with the go
// command and read the results with bsdtar, plistutil and cksum, none of
// which the Windows test process under Wine has; the package is built and
// checked on Linux, where the release is made.

package macpkg

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// buildPkg builds the package's parts from the small slices and extracts
// their Payload with bsdtar.
func buildPkg(t *testing.T) (staging, payload string) {
	t.Helper()
	s := darwinSlices(t)
	app := buildApp(t, template(t), s["amd64"], s["arm64"])
	staging = filepath.Join(t.TempDir(), "pkg")
	if err := BuildPkg(staging, PkgOptions{App: app, Postinstall: "../../packaging/macos/scripts/postinstall", ModTime: time.Unix(1767225600, 0)}); err != nil {
		t.Fatal(err)
	}
	payload = t.TempDir()
	if out, err := exec.CommandContext(t.Context(), "bsdtar", "-xf", filepath.Join(staging, ComponentRel, "Payload"), "-C", payload).CombinedOutput(); err != nil {
		t.Fatalf("bsdtar: %v\n%s", err, out)
	}
	return staging, payload
}

func TestBuildPkgChecks(t *testing.T) {
	staging, payload := buildPkg(t)
	r, err := CheckPkg(staging, payload)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".", "./trustlaunch.app", "./trustlaunch.app/Contents", "./trustlaunch.app/Contents/Info.plist", "./trustlaunch.app/Contents/MacOS", "./trustlaunch.app/Contents/MacOS/trustlaunch"}
	if strings.Join(r.Paths, " ") != strings.Join(want, " ") {
		t.Fatalf("Bom paths %q, want %q", r.Paths, want)
	}
}

func TestCheckPkgRefuses(t *testing.T) {
	built, builtPayload := buildPkg(t)
	for name, spoil := range map[string]func(t *testing.T, staging, payload string){
		"file changed after the Bom": func(t *testing.T, _, payload string) {
			p := filepath.Join(payload, AppName, InfoPlistRel)
			b, _ := os.ReadFile(p)
			if err := os.WriteFile(p, append(b, ' '), 0o644); err != nil {
				t.Fatal(err)
			}
		},
		"file the Bom does not list": func(t *testing.T, _, payload string) {
			if err := os.WriteFile(filepath.Join(payload, AppName, "Contents", "extra"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		},
		"mode changed": func(t *testing.T, _, payload string) {
			if err := os.Chmod(filepath.Join(payload, AppName, InfoPlistRel), 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"Distribution without the component": func(t *testing.T, staging, _ string) {
			p := filepath.Join(staging, "Distribution")
			b, _ := os.ReadFile(p)
			if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(b), "#"+ComponentRel, "#other.pkg")), 0o644); err != nil {
				t.Fatal(err)
			}
		},
		"truncated Bom": func(t *testing.T, staging, _ string) {
			p := filepath.Join(staging, ComponentRel, "Bom")
			b, _ := os.ReadFile(p)
			if err := os.WriteFile(p, b[:len(b)-4], 0o644); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			staging, payload := filepath.Join(t.TempDir(), "pkg"), filepath.Join(t.TempDir(), "payload")
			if err := os.CopyFS(staging, os.DirFS(built)); err != nil {
				t.Fatal(err)
			}
			if err := os.CopyFS(payload, os.DirFS(builtPayload)); err != nil {
				t.Fatal(err)
			}
			if _, err := CheckPkg(staging, payload); err != nil {
				t.Fatalf("the copy fails before it is spoiled: %v", err)
			}
			spoil(t, staging, payload)
			if _, err := CheckPkg(staging, payload); err == nil {
				t.Fatal("CheckPkg passed")
			}
		})
	}
}
