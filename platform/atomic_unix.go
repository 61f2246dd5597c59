//go:build unix

package platform

import "os"

// syncDir fsyncs a directory so that a rename inside it is on disk, not just
// in the page cache; without it a power cut can bring back the old name.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
