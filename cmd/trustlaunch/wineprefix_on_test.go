//go:build wineprefix

package main

// winePrefixBuild is true in a test binary built with -tags wineprefix,
// whose admin-file check accepts the Wine prefix owner's files
// (platform/wineprefix_on_windows.go).
const winePrefixBuild = true
