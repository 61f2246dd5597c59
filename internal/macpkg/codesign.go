package macpkg

import (
	"bytes"
	"debug/macho"
	"encoding/binary"
	"errors"
	"fmt"
)

// Magic numbers of the code signature (<kern/cs_blobs.h>): the embedded
// signature is a SuperBlob of blobs, each named by a slot type in its
// index; a real (not ad-hoc) signature has a CMS blob in the
// CSSLOT_SIGNATURESLOT slot holding the PKCS#7 signature over the code
// directory.
const (
	csMagicEmbeddedSignature = 0xfade0cc0
	csMagicBlobWrapper       = 0xfade0b01
	csSlotSignature          = 0x10000
)

// CodeSignature is what ReadCodeSignature found in a slice.
type CodeSignature struct {
	Blobs int    // blobs in the SuperBlob
	CMS   []byte // the CMS signature, empty for an ad-hoc signature
}

// ReadCodeSignature reads the code signature of a thin Mach-O file: the
// LC_CODE_SIGNATURE load command, the SuperBlob it points to, and the CMS
// blob if there is one. It checks the structure only; whether the
// signature verifies is for macOS (codesign --verify).
func ReadCodeSignature(slice []byte) (CodeSignature, error) {
	var cs CodeSignature
	f, err := macho.NewFile(bytes.NewReader(slice))
	if err != nil {
		return cs, err
	}
	var off, size uint32
	found := false
	for _, l := range f.Loads {
		raw := l.Raw()
		if len(raw) >= 16 && f.ByteOrder.Uint32(raw) == lcCodeSignature {
			off, size, found = f.ByteOrder.Uint32(raw[8:]), f.ByteOrder.Uint32(raw[12:]), true
		}
	}
	if !found {
		return cs, errors.New("no LC_CODE_SIGNATURE: not signed")
	}
	if uint64(off)+uint64(size) > uint64(len(slice)) || size < 12 {
		return cs, fmt.Errorf("code signature at %d+%d is outside the file", off, size)
	}
	sb := slice[off : off+size]
	be := binary.BigEndian // the signature's blobs are big-endian
	if be.Uint32(sb) != csMagicEmbeddedSignature {
		return cs, fmt.Errorf("code signature magic %#x, want %#x", be.Uint32(sb), csMagicEmbeddedSignature)
	}
	length, count := be.Uint32(sb[4:]), be.Uint32(sb[8:])
	if length > size || 12+8*uint64(count) > uint64(length) {
		return cs, errors.New("code signature SuperBlob is inconsistent")
	}
	cs.Blobs = int(count)
	for i := uint32(0); i < count; i++ {
		typ, at := be.Uint32(sb[12+8*i:]), be.Uint32(sb[16+8*i:])
		if uint64(at)+8 > uint64(length) {
			return cs, fmt.Errorf("blob %d at %d is outside the signature", i, at)
		}
		if typ != csSlotSignature {
			continue
		}
		magic, n := be.Uint32(sb[at:]), be.Uint32(sb[at+4:])
		if magic != csMagicBlobWrapper || n < 8 || uint64(at)+uint64(n) > uint64(length) {
			return cs, errors.New("the CMS blob is malformed")
		}
		cs.CMS = sb[at+8 : at+n]
	}
	return cs, nil
}
