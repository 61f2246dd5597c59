package platform

import "golang.org/x/sys/windows"

// underWine reports whether this process runs under Wine, whose ntdll
// exports wine_get_version (Windows' does not). Only the wineprefix test
// relaxation (wineprefix_on_windows.go) and tests use it: product
// behaviour never depends on it.
func underWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}
