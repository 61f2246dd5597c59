package launcher

import (
	"errors"

	"golang.org/x/sys/windows"
)

// listenFailure says why a fixed local port (listen_port) could not be
// opened, "" when the error is not one the administrator can act on.
// WSAEACCES is what Windows answers for a port in one of its excluded
// ranges (Hyper-V, WSL and Docker reserve ranges at boot) or held with
// SO_EXCLUSIVEADDRUSE.
func listenFailure(err error) string {
	switch {
	case errors.Is(err, windows.WSAEADDRINUSE):
		return "is in use by another program"
	case errors.Is(err, windows.WSAEACCES):
		return "is reserved by Windows or held exclusively by another program (netsh interface ipv4 show excludedportrange protocol=tcp lists the reserved ranges)"
	}
	return ""
}
