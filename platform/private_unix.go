//go:build unix

package platform

import "os"

func restrictToOwner(f *os.File) error { return f.Chmod(0o600) }
