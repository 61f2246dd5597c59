//go:build !wineprefix

package main

// winePrefixBuild is false without -tags wineprefix: the admin-file check
// is the release one.
const winePrefixBuild = false
