//go:build !linux

package pac

import (
	"errors"
	"runtime"
)

// limitMemory: only Linux enforces a memory limit trustlaunch can set on
// itself (macOS ignores RLIMIT_AS and RLIMIT_DATA; Windows evaluates PAC
// scripts through WinHTTP instead). A security bound that cannot be set
// is an error, never skipped.
func limitMemory(int64) error {
	return errors.New("the PAC evaluator's memory limit is not supported on " + runtime.GOOS)
}
