//go:build !windows

// Not built for Windows: these tests build the darwin binaries with the go
// command and read the results with bsdtar, plistutil and cksum, none of
// which the Windows test process under Wine has; the package is built and
// checked on Linux, where the release is made.

package macpkg

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func sampleTree(t *testing.T, exe []byte) *Tree {
	t.Helper()
	return &Tree{
		UID: 0, GID: 0,
		ModTime: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
		Entries: []Entry{
			{Path: ".", Mode: fs.ModeDir | 0o755},
			{Path: "trustlaunch.app", Mode: fs.ModeDir | 0o755},
			{Path: "trustlaunch.app/Contents", Mode: fs.ModeDir | 0o755},
			{Path: "trustlaunch.app/Contents/Info.plist", Mode: 0o644, Data: []byte("<plist/>\n")},
			{Path: "trustlaunch.app/Contents/MacOS", Mode: fs.ModeDir | 0o755},
			{Path: "trustlaunch.app/Contents/link", Mode: fs.ModeSymlink | 0o755, Link: "MacOS/trustlaunch"},
			{Path: "trustlaunch.app/Contents/MacOS/trustlaunch", Mode: 0o755, Data: exe},
		},
	}
}

func universal(t *testing.T) []byte {
	s := darwinSlices(t)
	var b bytes.Buffer
	if err := Universal(&b, s["amd64"], s["arm64"]); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestBomReadsBack(t *testing.T) {
	exe := universal(t)
	for _, nodeCap := range []int{perNode, 3, 4} {
		t.Run(fmt.Sprintf("%d per node", nodeCap), func(t *testing.T) {
			tr := sampleTree(t, exe)
			var b bytes.Buffer
			if err := writeBom(&b, tr, nodeCap); err != nil {
				t.Fatal(err)
			}
			got, f, err := readBom(b.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tr.Entries) {
				t.Fatalf("%d paths, want %d: %v", len(got), len(tr.Entries), got)
			}
			for i, e := range tr.Entries {
				p := got[i]
				want := "."
				if e.Path != "." {
					want = "./" + e.Path
				}
				if p.Path != want || uint32(p.Mode) != e.unixMode() || p.UID != 0 || p.GID != 0 || int(p.Size) != e.size() {
					t.Errorf("path %d: %v, want %s mode %o size %d", i, p, want, e.unixMode(), e.size())
				}
				switch {
				case e.Mode.IsDir():
					if p.Kind != 2 {
						t.Errorf("%s: kind %d", want, p.Kind)
					}
				case e.Mode&fs.ModeSymlink != 0:
					if p.Kind != 3 || p.Link != e.Link || p.Sum != cksum([]byte(e.Link)) {
						t.Errorf("%s: %v", want, p)
					}
				default:
					if p.Kind != 1 || p.Sum != cksum(e.Data) {
						t.Errorf("%s: %v", want, p)
					}
				}
			}
			exeP := got[len(got)-1]
			if exeP.BinaryType != binaryFat || exeP.Slices != 2 {
				t.Errorf("universal binary recorded as binary type %d with %d slices", exeP.BinaryType, exeP.Slices)
			}
			for _, v := range []string{"HLIndex", "Size64"} {
				pairs, _, err := f.treePairs(f.vars[v])
				if err != nil || len(pairs) != 0 {
					t.Errorf("%s: %v, %d entries", v, err, len(pairs))
				}
			}
			// BomInfo: the paths, and each slice's size under its CPU type.
			info, err := f.block(f.vars["BomInfo"])
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := u32(info, 4); int(n) != len(tr.Entries) {
				t.Errorf("BomInfo counts %d paths", n)
			}
			if n, _ := u32(info, 8); n != 3 || len(info) != 12+16*3 {
				t.Errorf("BomInfo has %d entries in %d bytes, want 3 (files, x86_64, arm64)", n, len(info))
			}
		})
	}
}

func TestBomTooManyPaths(t *testing.T) {
	// Two leaves' worth of entries fit under one meta node of two; more
	// would need a third level, which the writer does not write.
	tr := sampleTree(t, []byte("x"))
	if err := writeBom(new(bytes.Buffer), tr, 2); err == nil {
		t.Fatal("7 paths in nodes of 2 accepted")
	}
}

func TestBomRefusesBadTrees(t *testing.T) {
	for name, entries := range map[string][]Entry{
		"no root":     {{Path: "a", Mode: 0o644}},
		"child first": {{Path: ".", Mode: fs.ModeDir | 0o755}, {Path: "a/b", Mode: 0o644}, {Path: "a", Mode: fs.ModeDir | 0o755}},
		"escapes":     {{Path: ".", Mode: fs.ModeDir | 0o755}, {Path: "../a", Mode: 0o644}},
		"absolute":    {{Path: ".", Mode: fs.ModeDir | 0o755}, {Path: "/a", Mode: 0o644}},
		"twice":       {{Path: ".", Mode: fs.ModeDir | 0o755}, {Path: "a", Mode: 0o644}, {Path: "a", Mode: 0o644}},
		"not clean":   {{Path: ".", Mode: fs.ModeDir | 0o755}, {Path: "a//b", Mode: 0o644}},
	} {
		t.Run(name, func(t *testing.T) {
			tr := &Tree{Entries: entries}
			if err := WriteBom(new(bytes.Buffer), tr); err == nil {
				t.Error("WriteBom accepted it")
			}
			if err := WriteCpio(new(bytes.Buffer), tr); err == nil {
				t.Error("WriteCpio accepted it")
			}
		})
	}
}

// TestCksumMatchesCksum holds cksum to coreutils' cksum(1), the POSIX
// algorithm lsbom prints.
func TestCksumMatchesCksum(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("a"), []byte("trustlaunch\n"), bytes.Repeat([]byte{0xff, 0, 7}, 100000)} {
		cmd := exec.CommandContext(t.Context(), "cksum")
		cmd.Stdin = bytes.NewReader(data)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(out))
		want, _ := strconv.ParseUint(f[0], 10, 32)
		if got := cksum(data); got != uint32(want) {
			t.Errorf("cksum of %d bytes = %d, cksum(1) says %d", len(data), got, want)
		}
	}
}

// TestCpioBsdtar extracts the payload with bsdtar (libarchive), a cpio
// reader that is not ours, and compares what it wrote to the tree.
func TestCpioBsdtar(t *testing.T) {
	tr := sampleTree(t, []byte("#!/bin/sh\necho hi\n"))
	var b bytes.Buffer
	if err := WriteGzipCpio(&b, tr); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header has a name %q or time %v", zr.Name, zr.ModTime)
	}
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), "bsdtar", "-x", "-f", "-", "-C", dir)
	cmd.Stdin = bytes.NewReader(b.Bytes())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bsdtar: %v\n%s", err, out)
	}
	for _, e := range tr.Entries[1:] {
		p := filepath.Join(dir, filepath.FromSlash(e.Path))
		st, err := os.Lstat(p)
		if err != nil {
			t.Errorf("%s: %v", e.Path, err)
			continue
		}
		// Linux gives every symlink 0777; macOS keeps the mode.
		if (st.Mode().Perm() != e.Mode.Perm() && e.Mode&fs.ModeSymlink == 0) || st.Mode().Type() != e.Mode.Type() {
			t.Errorf("%s: mode %v, want %v", e.Path, st.Mode(), e.Mode)
		}
		if !st.ModTime().Equal(tr.ModTime) && !st.IsDir() {
			t.Errorf("%s: time %v, want %v", e.Path, st.ModTime(), tr.ModTime)
		}
		switch {
		case e.Mode&fs.ModeSymlink != 0:
			if l, _ := os.Readlink(p); l != e.Link {
				t.Errorf("%s -> %q, want %q", e.Path, l, e.Link)
			}
		case e.Mode.IsRegular():
			if d, _ := os.ReadFile(p); !bytes.Equal(d, e.Data) {
				t.Errorf("%s: content differs", e.Path)
			}
		}
	}
	// libarchive reads it as the POSIX odc format, not as another cpio
	// variant it also accepts.
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte("070707")) || !bytes.HasSuffix(raw, []byte("TRAILER!!!\x00")) {
		t.Fatalf("not an odc archive ending with TRAILER!!!: %q...%q", raw[:6], raw[len(raw)-11:])
	}
}
