//go:build windows && wineprefix

package platform

import "golang.org/x/sys/windows"

// winePrefixTag is true in a binary built with -tags wineprefix: a Windows
// test binary for Wine, never a release (goreleaser.yaml sets no tags, and
// TestReleaseBuildsHaveNoWinePrefixTag keeps it so).
const winePrefixTag = true

// winePrefixOwner reports whether sid is the owner of the Wine prefix this
// test binary runs in. Under Wine every file belongs to the user running it
// and an owner cannot be changed (SetNamedSecurityInfo reports success and
// changes nothing; icacls is a stub), so without this the admin-file check
// and register --system refuse every file there, and nothing past them can
// be tested. The prefix's owner is the process's own user: Wine presents
// each file as owned by it. Outside Wine this is false even with the tag,
// so a tagged binary run on real Windows keeps the release behaviour.
func winePrefixOwner(sid *windows.SID) bool {
	if sid == nil || !underWine() {
		return false
	}
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return false
	}
	return sid.Equals(u.User.Sid)
}
