package platform

import (
	"context"
	"errors"
)

// On macOS a URL handler must be an app bundle (register_darwin.go), and
// the demo has none: the demo prints the command its links would run.

func registerDemoHandler(context.Context, string, []string) (Report, error) {
	return Report{}, &RegisterError{
		Err: errors.New("demo handler: " + errors.ErrUnsupported.Error() + " on macOS, where a URL handler must be an app bundle"),
		Fix: "run the command the demo prints in another terminal instead of clicking the link",
	}
}

func unregisterDemoHandler(context.Context) (Report, error) { return Report{}, nil }
