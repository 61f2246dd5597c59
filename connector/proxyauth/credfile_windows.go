//go:build windows

package proxyauth

// readableByOthers has nothing more to check on Windows: the files of a
// user's profile (%AppData%) inherit an ACL that lets only the user,
// SYSTEM and Administrators read them, and ReadUserFile has refused a
// file that anyone else can write or re-permission.
func readableByOthers(path string) error { return nil }
