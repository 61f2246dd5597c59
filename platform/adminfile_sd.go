package platform

// adminSDProblem applies the Windows admin-file rule (docs/design.md
// "Whitelist files": not writable by non-admin principals) to the parsed
// security descriptor of one object on the way to an admin file: owned by
// Administrators, SYSTEM or TrustedInstaller, and no principal but those
// and OWNER RIGHTS granted write, append, delete or permission-changing
// access. It is pure Go so that it runs on every OS against descriptors
// captured from Windows' SDDL parser (testdata/adminsd.txt);
// adminfile_windows.go fetches the descriptor.
//
// also, when not nil, names one more principal the rule accepts as owner
// and writer: only the wineprefix test build's Wine prefix owner
// (wineprefix_on_windows.go). name turns a SID into an account name for
// the message.
func adminSDProblem(info sdInfo, role nodeRole, also func(sid string) bool, name func(sid string) string) sdVerdict {
	admin := func(sid string) bool { return trustedSID(sid) || (also != nil && also(sid)) }
	rule := sdRule{mayOwn: admin, notOwner: "not Administrators, SYSTEM or TrustedInstaller", mayWrite: admin}
	if role == roleRootDir {
		// Windows gives Authenticated Users "create folders"
		// (FILE_APPEND_DATA, which on a directory is add-subdirectory) on
		// C:\ by default. That lets them add new top-level folders but not
		// rename or replace existing ones such as Program Files (which
		// needs DELETE on it or FILE_DELETE_CHILD here), so tolerate it at
		// the volume root only.
		rule.tolerated = aceRightAppendData
	}
	return rule.check(info, name)
}
