package macpkg

import (
	"bytes"
	"debug/macho"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// fatAlign is the alignment, as a power of two, of each slice in a
// universal binary: 2^14 = 16 KiB, the page size of arm64 macOS, which
// lipo also uses for x86_64 slices of current toolchains. A slice must
// start on a page boundary for the kernel to map it.
const fatAlign = 14

// Universal writes a universal ("fat") Mach-O file holding the thin Mach-O
// executables thin, one per CPU type, as lipo -create would: a big-endian
// fat_header (magic 0xcafebabe, number of slices), one fat_arch per slice
// (cputype, cpusubtype, offset, size, align), then each slice at an offset
// aligned to 2^fatAlign (<mach-o/fat.h>). Slices are ordered by CPU type,
// so the output does not depend on the order of the arguments.
//
// Each slice keeps its own code signature: a signature covers one slice,
// so slices are signed before they are joined.
func Universal(w io.Writer, thin ...[]byte) error {
	if len(thin) == 0 {
		return errors.New("universal binary: no slices")
	}
	type slice struct {
		cpu    macho.Cpu
		subcpu uint32
		data   []byte
	}
	var ss []slice
	for i, b := range thin {
		f, err := macho.NewFile(bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("universal binary: slice %d: not a thin Mach-O file: %w", i, err)
		}
		if f.Type != macho.TypeExec {
			return fmt.Errorf("universal binary: slice %d: %v is not an executable", i, f.Type)
		}
		for _, s := range ss {
			if s.cpu == f.Cpu {
				return fmt.Errorf("universal binary: two slices for %v", f.Cpu)
			}
		}
		ss = append(ss, slice{f.Cpu, f.SubCpu, b})
	}
	slices.SortFunc(ss, func(a, b slice) int { return int(a.cpu) - int(b.cpu) })

	const headerSize, archSize = 8, 20
	var hdr bytes.Buffer
	put := func(v uint32) { _ = binary.Write(&hdr, binary.BigEndian, v) }
	put(macho.MagicFat)
	put(uint32(len(ss)))
	off := alignUp(headerSize+archSize*len(ss), 1<<fatAlign)
	offsets := make([]int, len(ss))
	for i, s := range ss {
		if off+len(s.data) > 1<<32-1 {
			return errors.New("universal binary: larger than 4 GiB")
		}
		offsets[i] = off
		put(uint32(s.cpu))
		put(s.subcpu)
		put(uint32(off))
		put(uint32(len(s.data)))
		put(fatAlign)
		off = alignUp(off+len(s.data), 1<<fatAlign)
	}
	pos := 0
	pad := func(to int) error {
		_, err := w.Write(make([]byte, to-pos))
		pos = to
		return err
	}
	if _, err := w.Write(hdr.Bytes()); err != nil {
		return err
	}
	pos = hdr.Len()
	for i, s := range ss {
		if err := pad(offsets[i]); err != nil {
			return err
		}
		if _, err := w.Write(s.data); err != nil {
			return err
		}
		pos += len(s.data)
	}
	return nil
}

func alignUp(n, a int) int { return (n + a - 1) / a * a }

// Load command numbers of <mach-o/loader.h> that debug/macho does not name.
const (
	lcBuildVersion  = 0x32
	lcCodeSignature = 0x1d
	platformMacOS   = 1 // PLATFORM_MACOS
)

// BuildVersion is what an LC_BUILD_VERSION load command says: the platform
// and the oldest OS version the binary runs on (minos), which the linker
// takes from the Go release's minimum.
type BuildVersion struct {
	Platform uint32
	MinOS    string // "12.0" (X.Y, and .Z when Z is not 0)
}

// ReadBuildVersion returns f's LC_BUILD_VERSION. A binary without one, or
// with two, is an error: macOS refuses to run an arm64 binary without it.
func ReadBuildVersion(f *macho.File) (BuildVersion, error) {
	var bv []BuildVersion
	for _, l := range f.Loads {
		raw := l.Raw()
		if len(raw) < 24 || f.ByteOrder.Uint32(raw) != lcBuildVersion {
			continue
		}
		v := f.ByteOrder.Uint32(raw[12:])
		s := fmt.Sprintf("%d.%d", v>>16, v>>8&0xff)
		if v&0xff != 0 {
			s += fmt.Sprintf(".%d", v&0xff)
		}
		bv = append(bv, BuildVersion{Platform: f.ByteOrder.Uint32(raw[8:]), MinOS: s})
	}
	if len(bv) != 1 {
		return BuildVersion{}, fmt.Errorf("%v slice: %d LC_BUILD_VERSION load commands, want 1", f.Cpu, len(bv))
	}
	if bv[0].Platform != platformMacOS {
		return BuildVersion{}, fmt.Errorf("%v slice: LC_BUILD_VERSION platform %d is not macOS (%d)", f.Cpu, bv[0].Platform, platformMacOS)
	}
	return bv[0], nil
}

// HasCodeSignature reports whether f has an LC_CODE_SIGNATURE load command,
// and the size of the signature blob it points to.
func HasCodeSignature(f *macho.File) (size uint32, ok bool) {
	for _, l := range f.Loads {
		raw := l.Raw()
		if len(raw) >= 16 && f.ByteOrder.Uint32(raw) == lcCodeSignature {
			return f.ByteOrder.Uint32(raw[12:]), true
		}
	}
	return 0, false
}
