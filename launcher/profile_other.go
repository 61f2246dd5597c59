//go:build !windows

package launcher

import (
	"errors"
	"syscall"
)

// listenFailure says why a fixed local port (listen_port) could not be
// opened, "" when the error is not one the administrator can act on.
// EACCES is a port below 1024 without the privilege to bind it.
func listenFailure(err error) string {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return "is in use by another program"
	case errors.Is(err, syscall.EACCES):
		return "needs a privilege this user does not have (a port below 1024)"
	}
	return ""
}
