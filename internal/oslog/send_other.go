//go:build !linux && !windows

package oslog

import (
	"context"
	"fmt"
	"runtime"
)

// write has no log to write to: macOS's unified log has no socket
// protocol (os_log is a C API), and trustlaunch does not launch there.
func write(context.Context, Options, Entry) (string, error) {
	return "", fmt.Errorf("%w (%s)", ErrNoLog, runtime.GOOS)
}
