package platform

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// This file is the one reader and evaluator of Windows security descriptors
// for both file rules, written as pure Go over a self-relative descriptor
// (the bytes GetSecurityInfo returns), so each rule is tested on every OS
// with descriptors captured from Windows' own SDDL parser
// (testdata/usersd.txt, testdata/adminsd.txt). The Windows files only fetch
// the bytes: userfile_windows.go for CheckUserFile's rule (userSDProblem,
// below), adminfile_windows.go for CheckAdminFile's (adminSDProblem, in
// adminfile_sd.go).

// Well-known SIDs the rules trust: SYSTEM, Administrators and
// TrustedInstaller can rewrite any file anyway
// (docs/design.md "Whitelist files" trusts them with the admin list); OWNER
// RIGHTS stands for the object's owner.
const (
	sidLocalSystem    = "S-1-5-18"
	sidAdministrators = "S-1-5-32-544"
	sidOwnerRights    = "S-1-3-4"
	sidTrustedInstall = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
)

// Access rights that let a principal change a file's content or replace
// it (winnt.h): FILE_WRITE_DATA (add file), FILE_APPEND_DATA (add
// subdirectory), FILE_DELETE_CHILD, DELETE, WRITE_DAC, WRITE_OWNER,
// GENERIC_WRITE, GENERIC_ALL.
const sdWriteRights = 0x2 | aceRightAppendData | 0x40 | 0x10000 | 0x40000 | 0x80000 | 0x40000000 | 0x10000000

// aceRightAppendData is FILE_APPEND_DATA, on a directory
// FILE_ADD_SUBDIRECTORY.
const aceRightAppendData = 0x4

// ACE types and flags from winnt.h.
const (
	aceTypeAccessAllowed = 0x0
	aceTypeAccessDenied  = 0x1
	aceTypeDeniedObject  = 0x6
	aceTypeDeniedCb      = 0xA
	aceTypeDeniedCbObj   = 0xC
	aceFlagInheritOnly   = 0x8

	sdControlDACLPresent   = 0x0004
	sdControlDACLProtected = 0x1000
	sdControlSelfRel       = 0x8000
)

// sdACE is one access control entry; sid is set for the two basic types
// only, the ones whose layout the rule reads.
type sdACE struct {
	typ, flags uint8
	mask       uint32
	sid        string
}

// sdInfo is what the rule needs from a security descriptor.
type sdInfo struct {
	owner     string // "" when the descriptor names none
	nullDACL  bool   // no DACL, or a NULL one: everyone has full access
	protected bool   // the DACL inherits nothing (SE_DACL_PROTECTED)
	aces      []sdACE
}

// parseSD reads a self-relative security descriptor. Every offset and
// length is bounds-checked: a malformed descriptor is an error, never a
// pass.
func parseSD(b []byte) (sdInfo, error) {
	var info sdInfo
	if len(b) < 20 {
		return info, errors.New("security descriptor shorter than its header")
	}
	if b[0] != 1 {
		return info, fmt.Errorf("security descriptor revision %d, want 1", b[0])
	}
	control := binary.LittleEndian.Uint16(b[2:])
	if control&sdControlSelfRel == 0 {
		return info, errors.New("security descriptor is not self-relative")
	}
	info.protected = control&sdControlDACLProtected != 0
	offOwner := binary.LittleEndian.Uint32(b[4:])
	offDACL := binary.LittleEndian.Uint32(b[16:])
	if offOwner != 0 {
		sid, err := parseSID(b, offOwner)
		if err != nil {
			return info, fmt.Errorf("owner: %w", err)
		}
		info.owner = sid
	}
	if control&sdControlDACLPresent == 0 || offDACL == 0 {
		info.nullDACL = true
		return info, nil
	}
	if uint64(offDACL)+8 > uint64(len(b)) {
		return info, errors.New("DACL outside the security descriptor")
	}
	acl := b[offDACL:]
	size := int(binary.LittleEndian.Uint16(acl[2:]))
	count := int(binary.LittleEndian.Uint16(acl[4:]))
	if size < 8 || size > len(acl) {
		return info, fmt.Errorf("DACL size %d does not fit", size)
	}
	acl = acl[:size]
	pos := 8
	for i := range count {
		if pos+4 > len(acl) {
			return info, fmt.Errorf("ACE %d outside the DACL", i)
		}
		aceSize := int(binary.LittleEndian.Uint16(acl[pos+2:]))
		if aceSize < 4 || pos+aceSize > len(acl) {
			return info, fmt.Errorf("ACE %d size %d does not fit", i, aceSize)
		}
		ace := sdACE{typ: acl[pos], flags: acl[pos+1]}
		if ace.typ == aceTypeAccessAllowed || ace.typ == aceTypeAccessDenied {
			if aceSize < 8 {
				return info, fmt.Errorf("ACE %d too short", i)
			}
			ace.mask = binary.LittleEndian.Uint32(acl[pos+4:])
			sid, err := parseSID(acl[:pos+aceSize], uint32(pos+8))
			if err != nil {
				return info, fmt.Errorf("ACE %d: %w", i, err)
			}
			ace.sid = sid
		}
		info.aces = append(info.aces, ace)
		pos += aceSize
	}
	return info, nil
}

// parseSID returns the string form (S-1-5-21-...) of the SID at off in b.
func parseSID(b []byte, off uint32) (string, error) {
	if uint64(off)+8 > uint64(len(b)) {
		return "", errors.New("SID outside the buffer")
	}
	s := b[off:]
	n := int(s[1])
	if s[0] != 1 || n > 15 || 8+4*n > len(s) {
		return "", errors.New("malformed SID")
	}
	var auth uint64
	for _, c := range s[2:8] {
		auth = auth<<8 | uint64(c)
	}
	var sb strings.Builder
	sb.WriteString("S-1-")
	if auth >= 1<<32 {
		fmt.Fprintf(&sb, "0x%012X", auth)
	} else {
		sb.WriteString(strconv.FormatUint(auth, 10))
	}
	for i := range n {
		sb.WriteString("-" + strconv.FormatUint(uint64(binary.LittleEndian.Uint32(s[8+4*i:])), 10))
	}
	return sb.String(), nil
}

// trustedSID reports whether sid is one of the principals both rules
// trust to own and write files: SYSTEM, Administrators, TrustedInstaller.
func trustedSID(sid string) bool {
	return sid == sidLocalSystem || sid == sidAdministrators || sid == sidTrustedInstall
}

// sdRule is a write rule over a security descriptor: who may own the
// object, who besides OWNER RIGHTS may hold a write right on it, and which
// write rights everyone else may hold.
type sdRule struct {
	mayOwn    func(sid string) bool
	notOwner  string // how a wrong owner's message goes on: "not Administrators, ..."
	mayWrite  func(sid string) bool
	tolerated uint32 // write rights tolerated for any principal (the volume root's "create folders")
}

// sdVerdict is what a rule found wrong; what is "" when the object passes.
type sdVerdict struct {
	what  string // reads after "<object> is"
	owner bool   // the owner is at fault, not the DACL
}

// check applies r to a parsed descriptor; name turns a SID into an account
// name for the message.
func (r sdRule) check(info sdInfo, name func(sid string) string) sdVerdict {
	// The owner may always rewrite the DACL, so an owner outside the rule
	// makes every DACL check below meaningless.
	if info.owner == "" || !r.mayOwn(info.owner) {
		owner := "no one"
		if info.owner != "" {
			owner = name(info.owner)
		}
		return sdVerdict{what: "owned by " + owner + ", " + r.notOwner, owner: true}
	}
	if info.nullDACL {
		return sdVerdict{what: "without an access control list, so everyone may write it"}
	}
	for _, ace := range info.aces {
		// An inherit-only entry applies to children created later, not to
		// this object (CREATOR OWNER on a folder, for one); the children
		// that matter are checked themselves.
		if ace.flags&aceFlagInheritOnly != 0 {
			continue
		}
		switch ace.typ {
		case aceTypeAccessAllowed:
		case aceTypeAccessDenied, aceTypeDeniedObject, aceTypeDeniedCb, aceTypeDeniedCbObj:
			// Deny entries only take access away; ignoring them can only
			// make the rule stricter (a principal denied write before it is
			// allowed it is still refused).
			continue
		default:
			// Object and conditional (callback) allow entries do not occur
			// on files in practice; rather than half-understand them, refuse.
			return sdVerdict{what: fmt.Sprintf("protected by an access control entry of unsupported type %d", ace.typ)}
		}
		if ace.sid == sidOwnerRights || r.mayWrite(ace.sid) {
			continue
		}
		if rights := ace.mask & sdWriteRights &^ r.tolerated; rights != 0 {
			return sdVerdict{what: fmt.Sprintf("writable by %s (access mask %#x)", name(ace.sid), rights)}
		}
	}
	return sdVerdict{}
}

// userSDProblem applies the Windows user-file rule to a parsed descriptor:
// owned by the user (or by SYSTEM, Administrators or TrustedInstaller: a
// file an elevated session created, as MkdirPrivate accepts), and no
// other principal granted a write right. It returns what is wrong, reading
// after "<object> is", and "" when the object passes; name turns a SID
// into an account name for the message.
func userSDProblem(info sdInfo, userSID string, name func(sid string) string) string {
	mine := func(sid string) bool { return sid == userSID || trustedSID(sid) }
	rule := sdRule{mayOwn: mine, notOwner: "not by you (" + name(userSID) + ")", mayWrite: mine}
	return rule.check(info, name).what
}
