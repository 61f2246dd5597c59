package main

import "errors"

// hinter is an error that carries advice for the user, printed after the
// error as "trustlaunch: hint: ...". The libraries' typed errors implement
// it (connector.StepError, descriptor.FetchError, policy.Error, platform's
// UnsafeFileError, ...), each choosing the advice from what it knows, so
// the CLI needs no list of their types: a new error type with a Hint
// method is heard wherever it is wrapped.
type hinter interface {
	error
	Hint() string
}

// hintOf returns the advice of the outermost error in err's chain that
// carries one, or "". The outermost speaks because it knows most: a
// descriptor.FetchError weighs the cause it wraps (a *StatusError, a TLS
// error) before it answers, and a platform.RegisterError adds the way out
// to the UnsafeFileError it wraps.
func hintOf(err error) string {
	if h, ok := errors.AsType[hinter](err); ok {
		return h.Hint()
	}
	return ""
}
