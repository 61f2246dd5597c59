//go:build windows && !wineprefix

package platform

import "golang.org/x/sys/windows"

// winePrefixTag is false in every release build.
const winePrefixTag = false

// winePrefixOwner is never true without the wineprefix tag.
func winePrefixOwner(*windows.SID) bool { return false }
