//go:build !windows

package connector

import "syscall"

// errConnRefused is the errno of a refused TCP connect (see
// errno_windows.go for Windows').
var errConnRefused error = syscall.ECONNREFUSED
